import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMounts } from './mounts';
import { networkNamespaceOf, networkNamespacePath } from './process-record';

describe('network namespace paths', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-host-netns-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds a namespace by the bind mount that keeps it, a path with a space in it too', async () => {
    const file = join(dir, 'a namespace');
    writeFileSync(file, '');
    // A namespace that only the bind mount keeps (as `ip netns add` makes one).
    execFileSync('unshare', [`--net=${file}`, 'true']);
    try {
      const netns = `net:[${statSync(file).ino}]`;
      expect((await listMounts()).find((m) => m.mountPoint === file)).toMatchObject({ root: netns, fsType: 'nsfs' });
      expect(await networkNamespacePath(netns)).toBe(file);
    } finally {
      execFileSync('umount', [file]);
    }
  });

  it("finds one with no mount through a process in it, and none for a namespace nothing holds", async () => {
    const here = networkNamespaceOf()!;
    const path = await networkNamespacePath(here);
    expect(path).toBeDefined();
    expect(statSync(path!).ino).toBe(statSync('/proc/self/ns/net').ino);
    expect(await networkNamespacePath('net:[1]')).toBeUndefined();
  });
});
