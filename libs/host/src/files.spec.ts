import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonIfExists, writeFileAtomicSync, writeJsonAtomic } from './files';

describe('state files', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-host-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSON whole and reads it back, leaving no temporary file', async () => {
    const path = join(dir, 'record.json');
    await writeJsonAtomic(path, { a: 1 });
    await writeJsonAtomic(path, { a: 2, b: ['x'] });
    expect(await readJsonIfExists(path)).toEqual({ a: 2, b: ['x'] });
    expect(readdirSync(dir)).toEqual(['record.json']);
  });

  it('reads a missing file as undefined and a broken one as an InternalError naming it', async () => {
    expect(await readJsonIfExists(join(dir, 'missing.json'))).toBeUndefined();
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"a":');
    await expect(readJsonIfExists(broken)).rejects.toEqual(expect.objectContaining({ reason: 'InternalError', message: expect.stringContaining(`${broken} is unreadable`) }));
  });

  it('leaves no temporary file when the write fails', async () => {
    await expect(writeJsonAtomic(join(dir, 'no-such-dir', 'x.json'), {})).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('writeFileAtomicSync', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-host-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the file whole with mode 0600 unless told, replacing what was there, and leaves no temporary file', () => {
    const path = join(dir, 'secret');
    writeFileAtomicSync(path, 'one');
    writeFileAtomicSync(path, 'two');
    expect(readFileSync(path, 'utf8')).toBe('two');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileAtomicSync(join(dir, 'public'), 'ca', 0o644);
    expect(statSync(join(dir, 'public')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['public', 'secret']);
    expect(() => writeFileAtomicSync(join(dir, 'no-such-dir', 'x'), 'x')).toThrow(/ENOENT/);
  });
});
