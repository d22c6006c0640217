import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isBerthError } from '@berth/errors';
import { tarball, type TarballEntry } from './tarball';
import { mergedListing, unpackLayer } from './unpack';

describe('unpackLayer', () => {
  let base: string;
  let target: string;
  let outside: string;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-unpack-'));
    target = join(base, 'layer');
    outside = join(base, 'outside');
    await mkdir(target);
    await mkdir(outside);
  });

  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  async function unpack(entries: TarballEntry[], lowerDirs: string[] = [], into = target) {
    return unpackLayer(Readable.from(await tarball(entries)), into, { layerName: 'test-layer', lowerDirs });
  }

  async function expectRefused(entries: TarballEntry[], message: RegExp) {
    const failure = await unpack(entries).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isBerthError(failure, 'Invalid')).toBe(true);
    expect((failure as Error).message).toMatch(message);
    expect(await readdir(outside)).toEqual([]);
  }

  it('keeps contents, modes, ownership, symlinks and hardlinks', async () => {
    const result = await unpack([
      { name: './', type: 'directory', mode: 0o755 },
      { name: './bin/', type: 'directory' },
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
  });

  it('refuses entries that climb out with ..', async () => {
    await expectRefused([{ name: '../outside/evil', content: 'x' }], /escapes the layer root/);
    await expectRefused([{ name: 'a/../../outside/evil', content: 'x' }], /escapes the layer root/);
  });

  it('refuses absolute entry names', async () => {
    await expectRefused([{ name: join(outside, 'evil'), content: 'x' }], /absolute paths/);
  });

  it('refuses writing through a symlink that points outside', async () => {
    await expectRefused(
      [
        { name: 'escape', type: 'symlink', linkname: outside },
        { name: 'escape/evil', content: 'x' },
      ],
      /through the symlink "escape"/,
    );
    await expectRefused(
      [
        { name: 'dir/', type: 'directory' },
        { name: 'dir', type: 'symlink', linkname: '../outside' },
        { name: 'dir/evil', content: 'x' },
      ],
      /through the symlink "dir"/,
    );
  });

  it('replaces a symlink instead of writing through it', async () => {
    await unpack([
      { name: 'passwd', type: 'symlink', linkname: join(outside, 'passwd') },
      { name: 'passwd', content: 'replaced' },
    ]);
    expect((await lstat(join(target, 'passwd'))).isFile()).toBe(true);
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses hardlinks to files outside the layer', async () => {
    await expectRefused([{ name: 'h', type: 'link', linkname: '../outside/secret' }], /escapes the layer root/);
    await expectRefused([{ name: 'h', type: 'link', linkname: '/etc/passwd' }], /outside the layer/);
    await expectRefused(
      [
        { name: 'link', type: 'symlink', linkname: '/etc' },
        { name: 'h', type: 'link', linkname: 'link/passwd' },
      ],
      /through the symlink "link"/,
    );
  });

  it('does not create device nodes or fifos', async () => {
    const result = await unpack([
      { name: 'dev/', type: 'directory' },
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
      { name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 },
      { name: 'dev/pipe', type: 'fifo' },
    ]);
    expect(result.skipped.sort()).toEqual(['dev/mem', 'dev/pipe', 'dev/sda']);
    expect(await readdir(join(target, 'dev'))).toEqual([]);
  });

  it('turns .wh. files into overlay whiteouts, unless the layer itself has the name', async () => {
    const result = await unpack([
      { name: 'etc/.wh.motd', content: '' },
      { name: 'etc/.wh.kept', content: '' },
      { name: 'etc/kept', content: 'new' },
    ]);
    expect(result.whiteouts).toBe(1);
    const whiteout = await lstat(join(target, 'etc/motd'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    expect(await readFile(join(target, 'etc/kept'), 'utf8')).toBe('new');
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
    await unpack([{ name: 'data/.wh..wh..opq', content: '' }, { name: 'data/b', content: 'B' }, { name: 'data/sub/d', content: 'd' }], [lower]);
    const merged = await mergedListing([target, lower], 'data');
    expect([...merged.keys()].sort()).toEqual(['b', 'sub']);
    expect([...(await mergedListing([target, lower], 'data/sub')).keys()]).toEqual(['d']);
    expect([...(await mergedListing([target, lower], '')).keys()].sort()).toEqual(['data', 'other']);
  });

  it('rejects input that is not a tar archive', async () => {
    await expect(unpackLayer(Readable.from(Buffer.alloc(1024, 7)), target, { layerName: 'junk' })).rejects.toThrow(/not a valid tar archive/);
  });
});
