import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetNode } from './reset';

describe('resetNode', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-reset-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves a directory no node ran in alone, however its contents are named', async () => {
    for (const sub of ['pods', 'runc', 'shims', 'netns']) {
      mkdirSync(join(dir, sub));
      writeFileSync(join(dir, sub, 'keep'), 'mine');
    }
    const lines: string[] = [];
    expect(await resetNode({ dataDir: dir, report: (line) => lines.push(line) })).toEqual({ removed: 0, failures: [] });
    expect(lines).toEqual([]);
    for (const sub of ['pods', 'runc', 'shims', 'netns']) expect(existsSync(join(dir, sub, 'keep'))).toBe(true);
  });
});
