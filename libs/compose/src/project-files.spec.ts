import { isBerthError } from '@berth/errors';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileObjectConfig } from './model';
import { readProjectFiles } from './project-files';
import { MAX_FILE_OBJECT_BYTES } from './storage';
import { composeProject, composeService } from './testing';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const projectWith = (configs: Record<string, FileObjectConfig>, uses: string[]) =>
  composeProject('app', [composeService('web', { configs: uses.map((source) => ({ source })) })], { configs });

async function failure(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (err) {
    if (isBerthError(err, 'BadRequest')) return err.message;
    throw err;
  }
  throw new Error('read without an error');
}

describe('readProjectFiles', () => {
  it('reads the files of the configs and secrets services use, and no others', async () => {
    writeFileSync(join(dir, 'a.conf'), 'a\n');
    writeFileSync(join(dir, 'unused.conf'), 'u\n');
    const project = projectWith(
      { a: { name: 'app_a', file: join(dir, 'a.conf'), labels: {} }, unused: { name: 'app_unused', file: join(dir, 'unused.conf'), labels: {} }, ext: { name: 'ext', external: true, labels: {} } },
      ['a', 'ext'],
    );
    const files = await readProjectFiles(project);
    expect(Object.keys(files)).toEqual([join(dir, 'a.conf')]);
    expect(Buffer.from(files[join(dir, 'a.conf')]).toString()).toBe('a\n');
  });

  it('refuses a missing file, a directory and a file over the limit with one line naming them', async () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'big'), Buffer.alloc(MAX_FILE_OBJECT_BYTES + 1));
    symlinkSync(join(dir, 'big'), join(dir, 'link'));
    const cases: Array<[string, string]> = [
      [join(dir, 'none'), 'no such file'],
      [join(dir, 'sub'), 'not a regular file'],
      [join(dir, 'big'), 'byte limit'],
      [join(dir, 'link'), 'byte limit'],
    ];
    for (const [file, why] of cases) {
      const message = await failure(readProjectFiles(projectWith({ c: { name: 'app_c', file, labels: {} } }, ['c'])));
      expect(message).toBe(message.split('\n')[0]);
      expect(message).toContain(`configs.c: file: ${file}: `);
      expect(message).toContain(why);
    }
  });
});
