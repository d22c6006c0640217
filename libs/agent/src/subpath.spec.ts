import { mountPointsUnder, unmountAllUnder } from '@berth/host';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindSubPath } from './subpath';

describe('bindSubPath (real bind mounts)', () => {
  const base = mkdtempSync(join(tmpdir(), 'berth-subpath-'));
  const volume = join(base, 'volume');
  const outside = join(base, 'outside');
  const targets = join(base, 'targets');
  let n = 0;
  const target = () => join(targets, String(n++));

  beforeAll(() => {
    mkdirSync(join(volume, 'sub'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'host file');
    writeFileSync(join(volume, 'sub', 'file'), 'inside');
    // What a container of the pod can write into a shared volume:
    symlinkSync('/', join(volume, 'escape'));
    symlinkSync(outside, join(volume, 'to-outside'));
    symlinkSync('../outside/new', join(volume, 'dangling-out'));
    symlinkSync('sub', join(volume, 'inner'));
    symlinkSync(join(volume, 'sub'), join(volume, 'absolute-inner'));
  });
  afterAll(async () => {
    await unmountAllUnder(targets);
    rmSync(base, { recursive: true, force: true });
  });

  it('binds a directory of the volume, and links that stay inside it', async () => {
    for (const subPath of ['sub', 'inner', 'absolute-inner', './sub/']) {
      const at = target();
      await bindSubPath(volume, subPath, 'data', at);
      expect(await mountPointsUnder(at)).toEqual([at]);
      expect(readdirSync(at)).toEqual(['file']);
    }
  });

  it('binds a file onto a file', async () => {
    const at = target();
    await bindSubPath(volume, 'sub/file', 'data', at);
    expect(statSync(at).isFile()).toBe(true);
    expect(readFileSync(at, 'utf8')).toBe('inside');
  });

  it('creates a missing subPath as directories inside the volume', async () => {
    const at = target();
    await bindSubPath(volume, 'sub/new/deeper', 'data', at);
    expect(statSync(join(volume, 'sub', 'new', 'deeper')).isDirectory()).toBe(true);
    writeFileSync(join(at, 'x'), 'through the bind');
    expect(readFileSync(join(volume, 'sub', 'new', 'deeper', 'x'), 'utf8')).toBe('through the bind');
  });

  it.each(['escape', 'escape/etc', 'to-outside', 'to-outside/secret', 'dangling-out', 'dangling-out/more', 'inner/../escape'])('refuses %s, which leads outside the volume, and mounts and creates nothing', async (subPath) => {
    const at = target();
    await expect(bindSubPath(volume, subPath, 'data', at)).rejects.toThrow(`subPath ${JSON.stringify(subPath)} of volumeMount "data" leads outside the volume`);
    expect(await mountPointsUnder(at)).toEqual([]);
    expect(readdirSync(outside)).toEqual(['secret']);
  });

  it('refuses a component swapped for a link after the path was checked (the race of CVE-2021-25741)', async () => {
    const swapped = join(volume, 'swapped');
    mkdirSync(join(swapped, 'dir'), { recursive: true });
    // The module object bindSubPath calls into (an `import * as` namespace would be a copy).
    const nodeFs = require('node:fs') as typeof import('node:fs');
    const realpath = nodeFs.realpathSync;
    const spy = jest.spyOn(nodeFs, 'realpathSync').mockImplementation(((path: import('node:fs').PathLike) => {
      const answer = realpath(path);
      if (String(path).endsWith('swapped/dir')) {
        // Between the check and the mount, the container replaces the checked directory by a link out.
        renameSync(swapped, join(volume, 'was-swapped'));
        symlinkSync(outside, swapped);
      }
      return answer;
    }) as typeof realpath);
    const at = target();
    try {
      await expect(bindSubPath(volume, 'swapped/dir', 'data', at)).rejects.toThrow('leads outside the volume');
    } finally {
      spy.mockRestore();
    }
    expect(await mountPointsUnder(at)).toEqual([]);
    expect(existsSync(join(outside, 'dir'))).toBe(false);
  });

  it('rebinds a target bound before (a container restarted)', async () => {
    const at = target();
    await bindSubPath(volume, 'sub', 'data', at);
    await bindSubPath(volume, 'sub/new', 'data', at);
    expect(await mountPointsUnder(at)).toEqual([at]);
    expect(readdirSync(at)).toEqual(['deeper']);
  });
});
