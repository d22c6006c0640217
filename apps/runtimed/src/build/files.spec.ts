import { mkdir, mkdtemp, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheKey } from './cache';
import { checksumSources, matchSources, resolveInRoot } from './files';

describe('build files', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-build-files-'));
    await mkdir(join(root, 'src', 'sub'), { recursive: true });
    await writeFile(join(root, 'src', 'a.txt'), 'A');
    await writeFile(join(root, 'src', 'b.txt'), 'B');
    await writeFile(join(root, 'src', 'sub', 'c.md'), 'C');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('resolves symlinks as if the root were /: absolute and climbing links stay inside', async () => {
    await symlink('/etc', join(root, 'abs'));
    await symlink('../../../../..', join(root, 'src', 'up'));
    expect(await resolveInRoot(root, '/abs/passwd')).toBe(join(root, 'etc', 'passwd'));
    expect(await resolveInRoot(root, 'src/up/etc')).toBe(join(root, 'etc'));
    expect(await resolveInRoot(root, '../../x')).toBe(join(root, 'x'));
    expect(await resolveInRoot(root, '/abs', false)).toBe(join(root, 'abs'));
  });

  it('matches globs as COPY does, and says when a source is missing', async () => {
    expect(await matchSources(root, 'src/*.txt')).toEqual(['src/a.txt', 'src/b.txt']);
    expect(await matchSources(root, 'src/?/c.md').catch((e: Error) => e.message)).toContain('no source files were specified');
    expect(await matchSources(root, 'src/s[u]b/*.md')).toEqual(['src/sub/c.md']);
    expect(await matchSources(root, './src/../src/a.txt')).toEqual(['src/a.txt']);
    await expect(matchSources(root, 'missing.txt')).rejects.toThrow('"/missing.txt": not found');
  });

  it('checksums content and modes, not times', async () => {
    const before = await checksumSources(root, ['src']);
    await writeFile(join(root, 'src', 'a.txt'), 'A');
    expect(await checksumSources(root, ['src'])).toBe(before);
    await chmod(join(root, 'src', 'a.txt'), 0o600);
    const chmodded = await checksumSources(root, ['src']);
    expect(chmodded).not.toBe(before);
    await writeFile(join(root, 'src', 'sub', 'c.md'), 'changed');
    expect(await checksumSources(root, ['src'])).not.toBe(chmodded);
  });

  it('keys a step by its parent and what it does', () => {
    const parent = cacheKey('', { image: 'sha256:abc' });
    expect(cacheKey(parent, { run: ['echo', 'a'] })).toBe(cacheKey(parent, { run: ['echo', 'a'] }));
    expect(cacheKey(parent, { run: ['echo', 'a'] })).not.toBe(cacheKey(parent, { run: ['echo', 'b'] }));
    expect(cacheKey(cacheKey('', { image: 'sha256:def' }), { run: ['echo', 'a'] })).not.toBe(cacheKey(parent, { run: ['echo', 'a'] }));
  });
});
