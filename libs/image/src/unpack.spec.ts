import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isBerthError } from '@berth/errors';
import { DEFAULT_LAYER_LIMITS, type LayerLimits } from './layer-plan';
import { tarball, type TarballEntry } from './tarball';
import { mergedListing, unpackLayer } from './unpack';

/** Every entry of `dir`, recursively, with what a write, chmod, chown or utime through an escape would change. */
async function snapshot(dir: string): Promise<string[]> {
  const seen: string[] = [];
  const walk = async (path: string, rel: string) => {
    const st = await lstat(path);
    seen.push(`${rel} mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} size=${st.size} mtime=${st.mtimeMs} rdev=${st.rdev}`);
    if (st.isDirectory()) for (const name of (await readdir(path)).sort()) await walk(join(path, name), `${rel}/${name}`);
  };
  await walk(dir, '.');
  return seen;
}

describe('unpackLayer', () => {
  let base: string;
  let target: string;
  let outside: string;
  let before: string[];

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-unpack-'));
    target = join(base, 'layer');
    outside = join(base, 'outside');
    await mkdir(target);
    // The sentinel every hostile layer aims at: nothing in it may change.
    await mkdir(join(outside, 'sub'), { recursive: true });
    await writeFile(join(outside, 'keep'), 'sentinel');
    await writeFile(join(outside, 'sub', 'passwd'), 'root:x:0:0');
    for (const path of [join(outside, 'keep'), join(outside, 'sub', 'passwd'), join(outside, 'sub'), outside]) await utimes(path, 1e6, 1e6);
    before = await snapshot(outside);
  });

  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const sentinel = () => snapshot(outside);

  async function unpackWith(entries: TarballEntry[], limits?: LayerLimits, lowerDirs: string[] = [], into = target) {
    return unpackLayer(Readable.from(await tarball(entries)), into, { layerName: 'test-layer', lowerDirs, limits });
  }

  const unpack = (entries: TarballEntry[], lowerDirs: string[] = [], into = target) => unpackWith(entries, undefined, lowerDirs, into);

  async function expectRefused(entries: TarballEntry[], message: RegExp, lowerDirs: string[] = []) {
    await rm(target, { recursive: true, force: true });
    await mkdir(target);
    const failure = await unpack(entries, lowerDirs).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isBerthError(failure, 'Invalid')).toBe(true);
    expect((failure as Error).message).toMatch(message);
    expect((failure as Error).message).not.toContain('\n');
    expect(await sentinel()).toEqual(before);
  }

  it('keeps contents, modes, ownership, symlinks and hardlinks', async () => {
    const result = await unpack([
      { name: './', type: 'directory', mode: 0o755 },
      { name: './bin/', type: 'directory', mtime: new Date(7000) },
      { name: './bin/tool', content: 'binary', mode: 0o4755, uid: 1000, gid: 50 },
      { name: './bin/sh', type: 'symlink', linkname: '/bin/tool' },
      { name: './bin/tool2', type: 'link', linkname: './bin/tool' },
      { name: './etc/deep/file', content: 'implicit parents' },
      { name: './tmp/', type: 'directory', mode: 0o1777 },
    ]);
    expect(result.skipped).toEqual([]);
    const tool = await stat(join(target, 'bin/tool'));
    expect(tool.mode & 0o7777).toBe(0o4755);
    expect([tool.uid, tool.gid]).toEqual([1000, 50]);
    expect(await readFile(join(target, 'bin/tool'), 'utf8')).toBe('binary');
    expect(await readlink(join(target, 'bin/sh'))).toBe('/bin/tool');
    expect((await stat(join(target, 'bin/tool2'))).ino).toBe(tool.ino);
    expect(await readFile(join(target, 'etc/deep/file'), 'utf8')).toBe('implicit parents');
    expect((await stat(join(target, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await stat(join(target, 'bin'))).mtimeMs).toBe(7000);
  });

  it('refuses entries that climb out with .., absolute names and NUL bytes', async () => {
    await expectRefused([{ name: '../outside/evil', content: 'x' }], /"\.\.\/outside\/evil": Forbidden: path escapes the layer root/);
    await expectRefused([{ name: 'a/../../outside/evil', content: 'x' }], /escapes the layer root/);
    await expectRefused([{ name: join(outside, 'evil'), content: 'x' }], /absolute paths/);
    // Only a PAX header can carry a NUL in a name: a plain header ends the name there.
    await expectRefused([{ name: 'a\0b', content: 'x', pax: {} }], /"a\\u0000b": Forbidden: the name contains a NUL byte/);
    await expectRefused([{ name: 'l', type: 'symlink', linkname: 'a\0b', pax: {} }], /NUL byte/);
  });

  it('refuses writing through a symlink, also one that replaced a directory earlier in the layer', async () => {
    await expectRefused(
      [
        { name: 'escape', type: 'symlink', linkname: outside },
        { name: 'escape/evil', content: 'x' },
      ],
      /"escape\/evil": Forbidden: path goes through the symlink "escape"/,
    );
    await expectRefused(
      [
        { name: 'dir/', type: 'directory' },
        { name: 'dir/kept', content: 'x' },
        { name: 'dir', type: 'symlink', linkname: '../outside' },
        { name: 'dir/evil', content: 'x' },
      ],
      /through the symlink "dir"/,
    );
    await expectRefused(
      [
        { name: 'dir/', type: 'directory' },
        { name: 'dir', type: 'symlink', linkname: outside },
        { name: 'dir/sub/', type: 'directory', mode: 0o777 },
      ],
      /through the symlink "dir"/,
    );
  });

  it('replaces a symlink instead of writing through it', async () => {
    await unpack([
      { name: 'passwd', type: 'symlink', linkname: join(outside, 'sub/passwd') },
      { name: 'passwd', content: 'replaced' },
      { name: 'dir', type: 'symlink', linkname: outside },
      { name: 'dir/', type: 'directory', mode: 0o777, mtime: new Date(5000) },
    ]);
    expect((await lstat(join(target, 'passwd'))).isFile()).toBe(true);
    const dir = await lstat(join(target, 'dir'));
    expect([dir.isDirectory(), dir.mode & 0o777, dir.mtimeMs]).toEqual([true, 0o777, 5000]);
    expect(await sentinel()).toEqual(before);
  });

  it('drops whiteouts and opaque markers of a directory a later entry turned into a symlink', async () => {
    const lower = join(base, 'lower');
    await mkdir(lower);
    await unpack([{ name: 'dir/keep', content: 'lower' }], [], lower);
    const result = await unpack(
      [
        { name: 'dir/', type: 'directory' },
        { name: 'dir/.wh.keep', content: '' },
        { name: 'dir/.wh.passwd', content: '' },
        { name: 'dir/.wh..wh..opq', content: '' },
        { name: 'dir', type: 'symlink', linkname: outside },
      ],
      [lower],
    );
    expect(result.whiteouts).toBe(0);
    expect(await readlink(join(target, 'dir'))).toBe(outside);
    expect(await sentinel()).toEqual(before);
    await expectRefused(
      [
        { name: 'dir', type: 'symlink', linkname: outside },
        { name: 'dir/.wh.keep', content: '' },
      ],
      /through the symlink "dir"/,
    );
    await expectRefused(
      [
        { name: 'dir', type: 'symlink', linkname: outside },
        { name: 'dir/.wh..wh..opq', content: '' },
      ],
      /through the symlink "dir"/,
      [lower],
    );
  });

  it('never follows a symlink of a lower layer when listing it for an opaque directory', async () => {
    const lower = join(base, 'lower');
    await mkdir(lower);
    await unpack([{ name: 'dir', type: 'symlink', linkname: outside }], [], lower);
    await unpack([{ name: 'dir/sub/.wh..wh..opq', content: '' }], [lower]);
    // outside/sub has "passwd": a lower symlink followed would have put a whiteout of that name here.
    expect(await readdir(join(target, 'dir/sub'))).toEqual([]);
    expect(await sentinel()).toEqual(before);
  });

  it('never sets times, owners or modes through a symlink that replaced a directory', async () => {
    await unpack([
      { name: 'dir/', type: 'directory', mode: 0o700, uid: 1234, mtime: new Date(1000) },
      { name: 'dir', type: 'symlink', linkname: outside },
      { name: './', type: 'directory', mode: 0o755, mtime: new Date(2000) },
    ]);
    expect(await readlink(join(target, 'dir'))).toBe(outside);
    expect((await lstat(target)).mtimeMs).toBe(2000);
    expect(await sentinel()).toEqual(before);
  });

  it('refuses hardlinks to files outside the layer or reached through a symlink', async () => {
    await expectRefused([{ name: 'h', type: 'link', linkname: '../outside/keep' }], /escapes the layer root/);
    await expectRefused([{ name: 'h', type: 'link', linkname: '../../x' }], /escapes the layer root/);
    await expectRefused([{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /hardlink target "\/etc\/passwd" is outside the layer/);
    await expectRefused([{ name: 'h', type: 'link', linkname: 'etc/passwd' }], /does not exist in this layer/);
    await expectRefused(
      [
        { name: 'link', type: 'symlink', linkname: join(outside, 'sub') },
        { name: 'h', type: 'link', linkname: 'link/passwd' },
      ],
      /through the symlink "link"/,
    );
    await expectRefused(
      [
        { name: 'dir/secret', content: 'x' },
        { name: 'dir', type: 'symlink', linkname: join(outside, 'sub') },
        { name: 'h', type: 'link', linkname: 'dir/passwd' },
      ],
      /through the symlink "dir"/,
    );
    await expectRefused(
      [
        { name: 'f', content: 'x' },
        { name: 'escape', type: 'symlink', linkname: outside },
        { name: 'escape/h', type: 'link', linkname: 'f' },
      ],
      /"escape\/h": Forbidden: path goes through the symlink "escape"/,
    );
    await expectRefused(
      [
        { name: 'd/f', content: 'x' },
        { name: 'd', type: 'link', linkname: 'd/f' },
      ],
      /inside what this entry replaces/,
    );
  });

  it('keeps hard links within the layer, also to a symlink (which stays a symlink)', async () => {
    await unpack([
      { name: 'a/f', content: 'x', mode: 0o4755 },
      { name: 'a/s', type: 'symlink', linkname: outside },
      { name: 'b/f', type: 'link', linkname: 'a/f' },
      { name: 'b/s', type: 'link', linkname: 'a/s' },
    ]);
    expect((await lstat(join(target, 'b/f'))).ino).toBe((await lstat(join(target, 'a/f'))).ino);
    expect((await lstat(join(target, 'b/f'))).mode & 0o7777).toBe(0o4755);
    expect(await readlink(join(target, 'b/s'))).toBe(outside);
    expect(await sentinel()).toEqual(before);
  });

  it('refuses names and layers over the limits', async () => {
    const limits = { ...DEFAULT_LAYER_LIMITS, maxEntries: 3, maxDepth: 4, maxPathBytes: 100 };
    await expect(unpackWith([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }], limits)).rejects.toThrow(/"d": Forbidden: the layer has more than 3 entries/);
    await expect(unpackWith([{ name: 'a/b/c/d/e' }], limits)).rejects.toThrow(/more than 4 directories deep/);
    await expect(unpackWith([{ name: 'x'.repeat(101) }], limits)).rejects.toThrow(/name is longer than 100 bytes/);
    await expect(unpack([{ name: 'x'.repeat(256) }])).rejects.toThrow(/component is longer than 255 bytes/);
    await expect(unpack([{ name: 'l', type: 'symlink', linkname: 'x'.repeat(4097) }])).rejects.toThrow(/symlink target is longer than 4096 bytes/);
  });

  it('creates no device nodes; fifos and links to skipped entries are skipped too', async () => {
    const result = await unpack([
      { name: 'dev/', type: 'directory' },
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
      { name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 },
      { name: 'dev/pipe', type: 'fifo' },
      { name: 'dev/mem-link', type: 'link', linkname: 'dev/mem' },
    ]);
    expect(result.skipped.sort()).toEqual(['dev/mem', 'dev/mem-link', 'dev/pipe', 'dev/sda']);
    expect(await readdir(join(target, 'dev'))).toEqual([]);
  });

  it('turns .wh. files into overlay whiteouts, unless the layer itself has the name', async () => {
    const result = await unpack([
      { name: 'etc/.wh.motd', content: '' },
      { name: 'etc/.wh.kept', content: '' },
      { name: 'etc/kept', content: 'new' },
      { name: 'etc/again', content: 'new' },
      { name: 'etc/.wh.again', content: '' },
      { name: 'gone/.wh.x', content: '' },
      { name: 'gone', type: 'symlink', linkname: 'elsewhere' },
    ]);
    expect(result.whiteouts).toBe(1);
    const whiteout = await lstat(join(target, 'etc/motd'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    expect(await readFile(join(target, 'etc/kept'), 'utf8')).toBe('new');
    expect(await readFile(join(target, 'etc/again'), 'utf8')).toBe('new');
    await expect(lstat(join(target, 'etc/.wh.motd'))).rejects.toThrow(/ENOENT/);
  });

  it('expresses an opaque directory as whiteouts for what the lower layers show in it', async () => {
    const lower = join(base, 'lower');
    await mkdir(lower);
    await unpack(
      [
        { name: 'data/a', content: 'a' },
        { name: 'data/b', content: 'b' },
        { name: 'data/sub/c', content: 'c' },
        { name: 'other', content: 'o' },
      ],
      [],
      lower,
    );
    await unpack([{ name: 'data/.wh..wh..opq', content: '' }, { name: 'data/b', content: 'B' }, { name: 'data/sub/d', content: 'd' }, { name: 'empty/.wh..wh..opq', content: '' }], [lower]);
    const merged = await mergedListing([target, lower], 'data');
    expect([...merged.keys()].sort()).toEqual(['b', 'sub']);
    expect([...(await mergedListing([target, lower], 'data/sub')).keys()]).toEqual(['d']);
    expect([...(await mergedListing([target, lower], '')).keys()].sort()).toEqual(['data', 'empty', 'other']);
    expect(await sentinel()).toEqual(before);
  });

  it('rejects input that is not a tar archive', async () => {
    await expect(unpackLayer(Readable.from(Buffer.alloc(1024, 7)), target, { layerName: 'junk' })).rejects.toThrow(/not a valid tar archive/);
  });
});
