import { errors } from '@berth/errors';
import { randomBytes } from 'node:crypto';
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
