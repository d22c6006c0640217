import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileBeneath } from './beneath';

describe('readFileBeneath', () => {
  let root: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'beneath-root-'));
    outside = mkdtempSync(join(tmpdir(), 'beneath-outside-'));
    writeFileSync(join(outside, 'passwd'), 'secret:x:0:0::/:/bin/sh\n');
    mkdirSync(join(root, 'etc'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('reads a plain file below the root', () => {
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    expect(readFileBeneath(root, 'etc/passwd', 1024)).toBe('root:x:0:0::/root:/bin/sh\n');
  });

  it('follows no link: not the file, not a directory on the way, not ..', () => {
    symlinkSync(join(outside, 'passwd'), join(root, 'etc', 'passwd'));
    expect(readFileBeneath(root, 'etc/passwd', 1024)).toBeUndefined();
    rmSync(join(root, 'etc'), { recursive: true });
    symlinkSync(outside, join(root, 'etc'));
    expect(readFileBeneath(root, 'etc/passwd', 1024)).toBeUndefined();
    expect(readFileBeneath(join(root, 'etc'), '../etc/passwd', 1024)).toBeUndefined();
  });

  it('does not block on a fifo and refuses what is over the size bound', () => {
    execFileSync('mkfifo', [join(root, 'etc', 'passwd')]);
    expect(readFileBeneath(root, 'etc/passwd', 1024)).toBeUndefined();
    writeFileSync(join(root, 'etc', 'group'), 'x'.repeat(2048));
    expect(readFileBeneath(root, 'etc/group', 1024)).toBeUndefined();
    expect(readFileBeneath(root, 'etc/missing', 1024)).toBeUndefined();
  });
});
