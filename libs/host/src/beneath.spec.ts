import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

  it('refuses a device node without opening it (a container may mknod its etc/passwd)', () => {
    // /dev/null's numbers: harmless should it be opened after all.
    execFileSync('mknod', [join(root, 'etc', 'passwd'), 'c', '1', '3']);
    expect(readFileBeneath(root, 'etc/passwd', 1024)).toBeUndefined();
  });

  it('opens nothing but a regular file: a fifo never sees a reader', () => {
    const fifo = join(root, 'etc', 'passwd');
    execFileSync('mkfifo', [fifo]);
    // While readFileBeneath looks at the fifo, a writer opening it without blocking finds a reader (ENXIO: none)
    // only if readFileBeneath opened it; a device node's open has its own side effects, which is what must not happen.
    const fs = require('node:fs') as typeof import('node:fs');
    const { fstatSync } = fs;
    const opened: boolean[] = [];
    jest.spyOn(fs, 'fstatSync').mockImplementation(((...args: Parameters<typeof fstatSync>) => {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        opened.push(true);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
        opened.push(false);
      }
      return fstatSync(...args);
    }) as typeof fstatSync);
    try {
      expect(readFileBeneath(root, 'etc/passwd', 1024)).toBeUndefined();
    } finally {
      jest.restoreAllMocks();
    }
    expect(opened.length).toBeGreaterThan(0);
    expect(opened).not.toContain(true);
  });
});
