import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Linux's O_PATH (the same on x86-64 and arm64): an fd that names an inode without opening it; node's constants lack it. */
export const O_PATH = 0o10000000;

/**
 * An fd of `name` inside the directory `dirFd` (openat through /proc/self/fd), the name itself when it is a
 * link: O_NOFOLLOW is always added. Undefined when the name does not exist.
 */
export function openAt(dirFd: number, name: string, flags: number): number | undefined {
  try {
    return openSync(`/proc/self/fd/${dirFd}/${name}`, flags | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** openAt without blocking the event loop, for walks over whole trees: a FileHandle the caller closes. */
export async function openHandleAt(dirFd: number, name: string, flags: number): Promise<FileHandle | undefined> {
  try {
    return await open(`/proc/self/fd/${dirFd}/${name}`, flags | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The text of the regular file at `relative` below `root`, read without following any symbolic link on the
 * way (each directory opened from its parent's fd with O_NOFOLLOW) and without opening anything but a regular
 * file (no fifo to block on, no device node); undefined when it is absent, is not a regular file, is reached
 * through a link, or is larger than `maxBytes`.
 * For files a container can rewrite while the node reads them (its /etc/passwd on exec).
 */
export function readFileBeneath(root: string, relative: string, maxBytes: number): string | undefined {
  const parts = relative.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  const fds: number[] = [];
  try {
    let fd = openSync(root, O_PATH | constants.O_DIRECTORY);
    fds.push(fd);
    for (const dir of parts.slice(0, -1)) {
      const next = openAt(fd, dir, O_PATH | constants.O_DIRECTORY);
      if (next === undefined) return undefined;
      fds.push((fd = next));
    }
    // Looked at before it is opened: opening a device node a container made (it may mknod) has side effects.
    const path = openAt(fd, parts[parts.length - 1]!, O_PATH);
    if (path === undefined) return undefined;
    fds.push(path);
    const stats = fstatSync(path);
    if (!stats.isFile() || stats.size > maxBytes) return undefined;
    // The inode just looked at, whatever is at its name now.
    const file = openSync(`/proc/self/fd/${path}`, constants.O_RDONLY);
    fds.push(file);
    const buffer = Buffer.alloc(stats.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(file, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } catch {
    // ELOOP (a link where a directory or the file should be), ENOTDIR, EACCES: not a file we may read.
    return undefined;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
