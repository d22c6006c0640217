import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_KEYS } from './keys';
import { composeKeysTable } from './keys-table';

const README = join(__dirname, '../../../README.md');
const START = '<!-- compose-keys: generated from libs/compose/src/keys.ts by composeKeysTable() -->\n';
const END = '<!-- compose-keys: end -->';

describe('the README table of compose keys', () => {
  it('has a row for every service key and top-level key, sub-keys folded in', () => {
    const table = composeKeysTable();
    for (const key of COMPOSE_KEYS) {
      const last = key.path.split('.').pop()!.replace('[]', '');
      expect(table).toContain(last);
    }
    expect(table).toMatch(/^\| `services\.\*\.devices` \| refused \| devices are not passed into pods \|$/m);
    expect(table).toMatch(/^\| `services\.\*\.build` \| mapped \| .*keys: context, dockerfile.*refused: .*ssh, /m);
  });

  it('is the README\'s, word for word (regenerate it with BERTH_WRITE_README=1 npx jest libs/compose/src/keys-table.spec.ts)', () => {
    const readme = readFileSync(README, 'utf8');
    const table = composeKeysTable();
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    if (process.env.BERTH_WRITE_README === '1' && start >= 0 && end > start) {
      const next = readme.slice(0, start + START.length) + table + readme.slice(end);
      writeFileSync(README, next);
      return;
    }
    expect(start).toBeGreaterThanOrEqual(0);
    expect(readme.slice(start + START.length, end)).toBe(table);
  });
});
