import type { Pod } from '@berth/api';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PreparedVolume } from './container-spec';
import { applyFsGroup } from './fs-group';

describe('applyFsGroup (kubelet SetVolumeOwnership)', () => {
  let dir: string;
  let prepared: Map<string, PreparedVolume>;
  const pod = (securityContext: NonNullable<Pod['spec']>['securityContext']): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', uid: 'u' },
    spec: {
      containers: [],
      securityContext,
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'config', configMap: { name: 'cm' } },
        { name: 'host', hostPath: { path: '/unused' } },
      ],
    },
  });
  const mode = (...path: string[]) => statSync(join(dir, ...path)).mode & 0o7777;
  const gid = (...path: string[]) => statSync(join(dir, ...path)).gid;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-fsgroup-'));
    for (const sub of ['scratch/deep', 'config', 'host']) mkdirSync(join(dir, sub), { recursive: true });
    chmodSync(join(dir, 'scratch'), 0o777);
    writeFileSync(join(dir, 'scratch', 'deep', 'file'), 'x', { mode: 0o600 });
    symlinkSync('/etc/passwd', join(dir, 'scratch', 'link'));
    writeFileSync(join(dir, 'config', 'key'), 'v', { mode: 0o644 });
    writeFileSync(join(dir, 'host', 'mine'), 'h', { mode: 0o600 });
    prepared = new Map([
      ['scratch', { hostPath: join(dir, 'scratch'), readOnly: false }],
      ['config', { hostPath: join(dir, 'config'), readOnly: true }],
      ['host', { hostPath: join(dir, 'host'), readOnly: false }],
    ]);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives every file the group, group access, and directories setgid; hostPath volumes stay as they are', async () => {
    await applyFsGroup(pod({ fsGroup: 2000 }), prepared, true);
    expect([gid('scratch'), mode('scratch')]).toEqual([2000, 0o2777]);
    expect([gid('scratch', 'deep'), mode('scratch', 'deep')]).toEqual([2000, 0o2775]);
    expect([gid('scratch', 'deep', 'file'), mode('scratch', 'deep', 'file')]).toEqual([2000, 0o660]);
    expect([gid('config', 'key'), mode('config', 'key')]).toEqual([2000, 0o644]);
    expect(statSync('/etc/passwd').gid).toBe(0);
    expect([gid('host', 'mine'), mode('host', 'mine')]).toEqual([0, 0o600]);
  });

  it('leaves writable volumes alone after their first setup, and everything alone without fsGroup', async () => {
    await applyFsGroup(pod({}), prepared, true);
    expect(gid('scratch', 'deep', 'file')).toBe(0);
    await applyFsGroup(pod({ fsGroup: 2000 }), prepared, false);
    expect(gid('scratch', 'deep', 'file')).toBe(0);
    expect(gid('config', 'key')).toBe(2000);
  });

  it('looks only at the root with OnRootMismatch', async () => {
    await applyFsGroup(pod({ fsGroup: 2000 }), prepared, true);
    writeFileSync(join(dir, 'scratch', 'later'), '', { mode: 0o600 });
    await applyFsGroup(pod({ fsGroup: 2000, fsGroupChangePolicy: 'OnRootMismatch' }), prepared, true);
    expect(mode('scratch', 'later')).toBe(0o600);
    await applyFsGroup(pod({ fsGroup: 2000, fsGroupChangePolicy: 'Always' }), prepared, true);
    expect(mode('scratch', 'later')).toBe(0o660);
  });

  describe('with a container of the pod changing the volume during the walk', () => {
    let outside: string;
    beforeEach(() => {
      outside = mkdtempSync(join(tmpdir(), 'berth-fsgroup-outside-'));
      writeFileSync(join(outside, 'secret'), 's', { mode: 0o600 });
      chmodSync(outside, 0o700);
    });
    afterEach(() => rmSync(outside, { recursive: true, force: true }));
    const outsideState = () => [statSync(outside).gid, statSync(outside).mode & 0o7777, statSync(join(outside, 'secret')).gid, statSync(join(outside, 'secret')).mode & 0o7777];

    /**
     * The race made deterministic: as soon as the walk has looked at `path` (a stat of its inode returned),
     * `path` is moved aside and a symbolic link to `target` put in its place, as a container could at any moment.
     */
    async function swapForLinkOnceLookedAt(path: string, target: string): Promise<void> {
      const { dev, ino } = lstatSync(path);
      let swapped = false;
      const swap = <T extends { dev: number | bigint; ino: number | bigint }>(stats: T): T => {
        if (!swapped && Number(stats.dev) === dev && Number(stats.ino) === ino) {
          swapped = true;
          renameSync(path, `${path}.moved`);
          symlinkSync(target, path);
        }
        return stats;
      };
      // Every stat the walk may take, by path or by fd; the module objects it calls into (an `import * as` namespace would be a copy).
      const fs = require('node:fs') as typeof import('node:fs');
      const fsPromises = require('node:fs/promises') as typeof import('node:fs/promises');
      const { lstat, stat } = fsPromises;
      const { fstatSync } = fs;
      jest.spyOn(fsPromises, 'lstat').mockImplementation((async (...args: Parameters<typeof lstat>) => swap(await lstat(...args))) as typeof lstat);
      jest.spyOn(fsPromises, 'stat').mockImplementation((async (...args: Parameters<typeof stat>) => swap(await stat(...args))) as typeof stat);
      jest.spyOn(fs, 'fstatSync').mockImplementation(((...args: Parameters<typeof fstatSync>) => swap(fstatSync(...args))) as typeof fstatSync);
      const handle = await fsPromises.open(dir, 'r');
      const fileHandle = Object.getPrototypeOf(handle) as { stat: typeof handle.stat };
      await handle.close();
      const handleStat = fileHandle.stat;
      jest.spyOn(fileHandle, 'stat').mockImplementation((async function (this: typeof handle, ...args: Parameters<typeof handle.stat>) {
        return swap(await handleStat.apply(this, args));
      }) as typeof handle.stat);
    }

    it('never changes what a symbolic link in the volume points to', async () => {
      symlinkSync(join(outside, 'secret'), join(dir, 'scratch', 'deep', 'out'));
      symlinkSync(outside, join(dir, 'scratch', 'outdir'));
      const before = outsideState();
      await applyFsGroup(pod({ fsGroup: 2000 }), prepared, true);
      expect(outsideState()).toEqual(before);
      expect(lstatSync(join(dir, 'scratch', 'deep', 'out')).gid).toBe(2000);
    });

    it('does not follow a file swapped for a link after it was looked at', async () => {
      const before = outsideState();
      await swapForLinkOnceLookedAt(join(dir, 'scratch', 'deep', 'file'), join(outside, 'secret'));
      await applyFsGroup(pod({ fsGroup: 2000 }), prepared, true);
      expect(outsideState()).toEqual(before);
      // The file the walk looked at got the group where it went.
      expect([gid('scratch', 'deep', 'file.moved'), mode('scratch', 'deep', 'file.moved')]).toEqual([2000, 0o660]);
    });

    it('does not follow a directory swapped for a link after it was looked at', async () => {
      const before = outsideState();
      await swapForLinkOnceLookedAt(join(dir, 'scratch', 'deep'), outside);
      await applyFsGroup(pod({ fsGroup: 2000 }), prepared, true);
      expect(outsideState()).toEqual(before);
      // The directory the walk looked at, and what is in it, got the group where it went.
      expect([gid('scratch', 'deep.moved'), mode('scratch', 'deep.moved')]).toEqual([2000, 0o2775]);
      expect([gid('scratch', 'deep.moved', 'file'), mode('scratch', 'deep.moved', 'file')]).toEqual([2000, 0o660]);
    });
  });
});
