import { localNonReservedPathErrors } from '@berth/api';
import { errors } from '@berth/errors';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';

/** One file of a volume's payload: its bytes and permission bits. */
export interface FileProjection {
  data: Buffer;
  mode: number;
}

/** Relative path → file. */
export type Payload = Map<string, FileProjection>;

const DATA_LINK = '..data';
const DATA_LINK_TMP = '..data_tmp';
const MAX_PATH_LENGTH = 4096;
const MAX_NAME_LENGTH = 255;

/**
 * A payload path is the user's (a ConfigMap key, an item's path): checked again here, whatever the API let
 * through, with what a file name on the node also needs (no empty or `.` parts, Linux's lengths).
 */
function checkedPath(path: string): string {
  const bad =
    path === '' ||
    path.length > MAX_PATH_LENGTH ||
    localNonReservedPathErrors(path).length > 0 ||
    path.split('/').some((part) => part === '' || part === '.' || part.length > MAX_NAME_LENGTH);
  if (bad) throw errors.badRequest(`volume file path ${JSON.stringify(path)} must be a relative path inside the volume that does not start with '..'`);
  return path;
}

function timestampName(now: Date): string {
  const iso = now.toISOString(); // 2026-01-02T03:04:05.678Z
  return `..${iso.slice(0, 10).replaceAll('-', '_')}_${iso.slice(11, 19).replaceAll(':', '_')}.`;
}

/** The files the volume shows now (path → bytes), or undefined when it has none written this way. */
async function currentFiles(dir: string): Promise<Map<string, Buffer> | undefined> {
  let dataDir: string;
  try {
    dataDir = await readlink(join(dir, DATA_LINK));
  } catch {
    return undefined;
  }
  const root = join(dir, dataDir);
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    files.set(relative(root, full), await readFile(full));
  }
  return files;
}

/** The same files with the same bytes; modes are the pod's, which cannot change, and fsGroup adds to them. */
function unchanged(current: Map<string, Buffer>, payload: Payload): boolean {
  if (current.size !== payload.size) return false;
  for (const [path, file] of payload) if (!current.get(path)?.equals(file.data)) return false;
  return true;
}

/**
 * Makes `dir` show exactly `payload`, the way kubelet's AtomicWriter does for ConfigMap, Secret, downwardAPI
 * and projected volumes, so that a container reading the volume while it changes sees either the old files
 * or the new ones, never a mix:
 *  - the files are written into a fresh hidden directory `..<timestamp>.<random>`;
 *  - the `..data` link is switched to it in one rename;
 *  - each top-level name is a link through `..data` (`key -> ..data/key`), added or removed as needed;
 *  - the previous hidden directory goes.
 * The directory itself stays (containers bind-mount it). Nothing is written when the files' bytes are
 * unchanged. `beforeSwap` runs once the new files are written, before anyone can see them (kubelet's
 * setPerms, for fsGroup). Answers whether anything was written.
 */
export async function writeAtomically(dir: string, payload: Payload, beforeSwap?: () => Promise<void>, now = new Date()): Promise<boolean> {
  for (const path of payload.keys()) checkedPath(path);
  await mkdir(dir, { recursive: true });
  const current = await currentFiles(dir);
  if (current && unchanged(current, payload)) return false;

  const dataDir = await mkdtemp(join(dir, timestampName(now)));
  await chmod(dataDir, 0o755);
  for (const [path, file] of payload) {
    const target = join(dataDir, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, file.data, { mode: file.mode });
    await chmod(target, file.mode);
  }
  await beforeSwap?.();
  const tmpLink = join(dir, DATA_LINK_TMP);
  await rm(tmpLink, { force: true });
  await symlink(basename(dataDir), tmpLink);
  await rename(tmpLink, join(dir, DATA_LINK));

  const visible = new Set([...payload.keys()].map((path) => path.split('/')[0]!));
  for (const name of visible) {
    const link = join(dir, name);
    const existing = await lstat(link).catch(() => undefined);
    if (existing?.isSymbolicLink() && (await readlink(link)) === `${DATA_LINK}/${name}`) continue;
    if (existing) await rm(link, { recursive: true, force: true });
    await symlink(`${DATA_LINK}/${name}`, link);
  }
  // What else is here is an earlier payload's: its hidden directory, names it had that this one has not
  // (and files of volumes written in place by earlier agents).
  for (const name of await readdir(dir)) {
    if (name === DATA_LINK || name === basename(dataDir) || visible.has(name)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
  }
  return true;
}
