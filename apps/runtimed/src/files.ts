import { randomBytes } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes on disk under `dir` (each inode once); 0 when it is gone. */
export async function diskUsage(dir: string, seen = new Set<number>()): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const st = await lstat(path).catch(() => undefined);
    if (!st || seen.has(st.ino)) continue;
    seen.add(st.ino);
    total += st.blocks * 512;
    if (entry.isDirectory()) total += await diskUsage(path, seen);
  }
  return total;
}

export function randomId(): string {
  return randomBytes(32).toString('hex');
}

export function now(): string {
  return new Date().toISOString();
}

/** Moved to @berth/host, which the registry shares; imported from here by runtimed's modules. */
export { KeyedMutex } from '@berth/host';
