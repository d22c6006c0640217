import { errors } from '@berth/errors';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';

const MAX_SYMLINKS = 40;
const MAX_MATCHES = 100_000;

/**
 * `path` (absolute inside the root, or relative to it) resolved to a host path under `root`, following
 * symlinks as if `root` were `/` (an absolute or `..`-climbing link never leaves it), as chroot would.
 * The last component is followed only with `followLast`.
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isSymbolicLink() && (followLast || pending.length > 0)) {
      if (++hops > MAX_SYMLINKS) throw errors.badRequest(`too many levels of symbolic links resolving ${path}`);
      const target = await readlink(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    resolved.push(part);
  }
  return join(root, ...resolved);
}

/** Glob pattern → RegExp for one path component (`*`, `?`, `[...]`, `\` escapes), as Go's filepath.Match. */
function componentPattern(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw errors.badRequest(`invalid pattern "${pattern}": unterminated [`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const hasGlob = (s: string) => /[*?[]/.test(s);

/** The paths (relative to `root`, cleaned) a COPY source names: itself, or the matches of its glob. */
export async function matchSources(root: string, source: string): Promise<string[]> {
  const clean = posix.normalize(`/${source}`).slice(1);
  if (!hasGlob(clean)) {
    const host = await resolveInRoot(root, clean);
    if (!(await lstat(host).then(() => true, () => false))) throw errors.badRequest(`failed to compute cache key: "/${clean}": not found`);
    return [clean];
  }
  let current = [''];
  for (const part of clean.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const dir of current) {
      if (!hasGlob(part)) {
        const path = dir ? `${dir}/${part}` : part;
        if (await lstat(await resolveInRoot(root, path)).then(() => true, () => false)) next.push(path);
        continue;
      }
      const pattern = componentPattern(part);
      const names = await readdir(await resolveInRoot(root, dir)).catch(() => [] as string[]);
      for (const name of names.sort()) if (pattern.test(name)) next.push(dir ? `${dir}/${name}` : name);
      if (next.length > MAX_MATCHES) throw errors.badRequest(`COPY source ${source} matches more than ${MAX_MATCHES} files`);
    }
    current = next;
  }
  if (current.length === 0) throw errors.badRequest(`failed to compute cache key: no source files were specified by "${source}"`);
  return current;
}

/**
 * A digest of what COPY would copy from `paths` under `root`: names, types, modes, link targets and
 * contents (not times or owners, which COPY resets): Docker's content checksum cache key.
 */
export async function checksumSources(root: string, paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (host: string, name: string): Promise<void> => {
    const st = await lstat(host);
    hash.update(`${name}\0${st.mode.toString(8)}\0`);
    if (st.isSymbolicLink()) hash.update(`link:${await readlink(host)}\0`);
    else if (st.isFile()) {
      const file = createHash('sha256');
      await pipeline(createReadStream(host), file);
      hash.update(`file:${file.digest('hex')}\0`);
    } else if (st.isDirectory()) {
      for (const child of (await readdir(host)).sort()) await visit(join(host, child), `${name}/${child}`);
    }
  };
  for (const path of paths) await visit(await resolveInRoot(root, path), path);
  return hash.digest('hex');
}

export interface CopyOwner {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** COPY --chown (root:root when omitted, as Docker); undefined keeps the source's owners (ADD's extraction). */
  owner?: CopyOwner;
  /** COPY --chmod for files and directories copied. */
  mode?: number;
}

/** Creates `path` (absolute in `rootfs`) and missing parents, as root-owned 0755 directories; the host path. */
export async function mkdirInRoot(rootfs: string, path: string, owner?: CopyOwner): Promise<string> {
  const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  let current = '/';
  for (const part of parts) {
    current = posix.join(current, part);
    const host = await resolveInRoot(rootfs, current);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw errors.badRequest(`cannot create directory ${current}: a file is in the way`);
    await mkdir(host, { mode: 0o755 });
    if (owner) await lchown(host, owner.uid, owner.gid);
  }
  return resolveInRoot(rootfs, path);
}

/** Copies `source` (a host path) to `target` (a host path already resolved in the rootfs), recursively. */
export async function copyEntry(source: string, target: string, options: CopyOptions): Promise<void> {
  const st = await lstat(source);
  const existing = await lstat(target).catch(() => undefined);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) await rm(target, { recursive: true, force: true });
    if (!existing?.isDirectory()) await mkdir(target);
    for (const child of (await readdir(source)).sort()) await copyEntry(join(source, child), join(target, child), options);
  } else if (st.isSymbolicLink()) {
    if (existing) await rm(target, { recursive: true, force: true });
    await symlink(await readlink(source), target);
  } else if (st.isFile()) {
    if (existing) await rm(target, { recursive: true, force: true });
    await copyFile(source, target);
  } else {
    // Devices, fifos and sockets of a build context are not copied.
    return;
  }
  const owner = options.owner ?? { uid: st.uid, gid: st.gid };
  await lchown(target, owner.uid, owner.gid);
  if (!st.isSymbolicLink()) await chmod(target, options.mode ?? st.mode & 0o7777);
  await lutimes(target, st.atime, st.mtime);
}

/** Copies what the directory `source` holds (not the directory itself) into `target`, as COPY of a directory does. */
export async function copyContents(source: string, target: string, options: CopyOptions): Promise<void> {
  for (const child of (await readdir(source)).sort()) await copyEntry(join(source, child), join(target, child), options);
}
