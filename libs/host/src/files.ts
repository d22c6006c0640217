import { errors } from '@berth/errors';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/** Writes JSON so a reader (or a restart after a crash) sees the old or the new content, never half. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(value, null, 2));
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Writes a file whole (temp + rename), created with `mode` (0600 unless told): keys, tokens and
 * kubeconfigs are never readable by others, not even for a moment, and never half written.
 */
export function writeFileAtomicSync(path: string, content: string, mode = 0o600): void {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, content, { mode });
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The parsed file, or undefined when it does not exist; a file that is not JSON is an InternalError naming it. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw errors.internal(`${path} is unreadable: ${(err as Error).message}`);
  }
}
