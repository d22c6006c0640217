import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changesTar, upperDirChanges } from './diff';
import { mountOverlay, unmount } from './mount';
import { tarEntries } from './tar';

/** The changes a few edits through an overlay mount leave in its upper dir (needs root, as overlay does). */
describe('upperDirChanges', () => {
  let base: string;
  let merged: string;
  let mounted = false;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-diff-'));
    for (const dir of ['lower/d', 'lower/keep', 'upper', 'work', 'merged']) await mkdir(join(base, dir), { recursive: true });
    await writeFile(join(base, 'lower/d/old'), 'old');
    await writeFile(join(base, 'lower/gone'), 'x');
    await writeFile(join(base, 'lower/keep/k'), 'k');
    merged = join(base, 'merged');
    await mountOverlay(merged, [`lowerdir=${join(base, 'lower')}`, `upperdir=${join(base, 'upper')}`, `workdir=${join(base, 'work')}`]);
    mounted = true;
  });

  afterEach(async () => {
    if (mounted) await unmount(merged);
    mounted = false;
    await rm(base, { recursive: true, force: true });
  });

  it('turns whiteouts into .wh. files, marks opaque directories and links shared inodes', async () => {
    await rm(join(merged, 'gone'));
    await rm(join(merged, 'd'), { recursive: true });
    await mkdir(join(merged, 'd'));
    await writeFile(join(merged, 'd/new'), 'new');
    await writeFile(join(merged, 'file'), 'content');
    await link(join(merged, 'file'), join(merged, 'file2'));
    await symlink('/etc/passwd', join(merged, 'ln'));
    await unmount(merged);
    mounted = false;

    const changes = await upperDirChanges(join(base, 'upper'));
    expect(changes.map((c) => `${c.kind} ${c.path}${c.linkname ? ` -> ${c.linkname}` : ''}`)).toEqual([
      'directory d',
      'opaque d/.wh..wh..opq',
      'file d/new',
      'file file',
      'hardlink file2 -> file',
      'whiteout .wh.gone',
      'symlink ln -> /etc/passwd',
    ]);

    const seen: string[] = [];
    for await (const entry of tarEntries(changesTar(changes), 'diff')) {
      let body = '';
      for await (const chunk of entry) body += chunk.toString();
      seen.push(`${entry.header.type} ${entry.header.name} ${body}`);
    }
    expect(seen).toEqual(['directory d/ ', 'file d/.wh..wh..opq ', 'file d/new new', 'file file content', 'link file2 ', 'file .wh.gone ', 'symlink ln ']);
  });

  it('finds no changes when nothing was written, and leaves out excluded paths', async () => {
    await writeFile(join(merged, 'skip-me'), 'x');
    await unmount(merged);
    mounted = false;
    expect(await upperDirChanges(join(base, 'upper'), { exclude: new Set(['skip-me']) })).toEqual([]);
  });
});
