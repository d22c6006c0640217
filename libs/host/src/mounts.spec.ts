import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountPointsUnder, unmountAllUnder } from './mounts';

describe('mounts under a directory', () => {
  let dir: string;
  let under: string;
  let beside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-host-mounts-'));
    under = join(dir, 'state');
    beside = join(dir, 'state-other');
    for (const point of [under, join(under, 'a b'), join(under, 'a b', 'inner'), beside]) {
      mkdirSync(point, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', 'berth-test', point]);
    }
  });
  afterEach(() => {
    for (const point of [beside, under]) {
      try {
        execFileSync('umount', ['-R', '-l', point], { stdio: 'ignore' });
      } catch {
        // unmounted by the test
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the directory and what is mounted below it, deepest first, and nothing beside it', async () => {
    expect(await mountPointsUnder(under)).toEqual([join(under, 'a b', 'inner'), join(under, 'a b'), under]);
  });

  it('unmounts them all, answering what it unmounted, and answers nothing the second time', async () => {
    expect(await unmountAllUnder(under)).toEqual([join(under, 'a b', 'inner'), join(under, 'a b'), under]);
    expect(await mountPointsUnder(under)).toEqual([]);
    expect(await mountPointsUnder(beside)).toEqual([beside]);
    expect(await unmountAllUnder(under)).toEqual([]);
  });
});
