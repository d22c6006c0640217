import { tarball } from '@berth/image';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { receiveContext } from './context';

async function* chunks(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

describe('receiveContext', () => {
  let base: string;
  let target: string;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-context-'));
    target = join(base, 'context');
    await mkdir(join(base, 'outside'));
    await writeFile(join(base, 'outside', 'keep'), 'sentinel');
  });

  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const outsideUntouched = async () => {
    expect(await readdir(join(base, 'outside'))).toEqual(['keep']);
    expect(await readFile(join(base, 'outside', 'keep'), 'utf8')).toBe('sentinel');
  };

  it('unpacks files, directories and links that stay inside', async () => {
    const tar = await tarball([
      { name: 'src/', type: 'directory' },
      { name: 'src/a.txt', content: 'A' },
      { name: 'link', type: 'symlink', linkname: 'src/a.txt' },
    ]);
    expect(await receiveContext(chunks(tar), target)).toMatchObject({ entries: 3, bytes: tar.length });
    expect(await readFile(join(target, 'src', 'a.txt'), 'utf8')).toBe('A');
  });

  it.each([
    ['a path climbing out', [{ name: '../outside/keep', content: 'evil' }]],
    ['an absolute path', [{ name: `${'/tmp'}/evil`, content: 'evil' }]],
    ['a write through a symlink', [{ name: 'out', type: 'symlink' as const, linkname: '../outside' }, { name: 'out/keep', content: 'evil' }]],
    ['a hard link to a file outside', [{ name: 'hard', type: 'link' as const, linkname: '../outside/keep' }]],
  ])('refuses %s and writes nothing outside', async (_what, entries) => {
    await expect(receiveContext(chunks(await tarball(entries)), target)).rejects.toMatchObject({ name: 'BerthError' });
    await outsideUntouched();
  });

  it('skips device nodes', async () => {
    const tar = await tarball([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }, { name: 'file', content: 'x' }]);
    await receiveContext(chunks(tar), target);
    expect(await readdir(target)).toEqual(['file']);
  });

  it('refuses a context larger than the bound', async () => {
    const tar = await tarball([{ name: 'big', content: Buffer.alloc(64 * 1024) }]);
    await expect(receiveContext(chunks(tar), target, 1024)).rejects.toThrow('the build context is larger than 1024 bytes');
  });

  it('keeps a symlink pointing outside as a link, never following it', async () => {
    const tar = await tarball([{ name: 'abs', type: 'symlink', linkname: '/etc/passwd' }]);
    await receiveContext(chunks(tar), target);
    expect((await lstat(join(target, 'abs'))).isSymbolicLink()).toBe(true);
  });
});
