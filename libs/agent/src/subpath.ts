import { errors } from '@berth/errors';
import { mustRun, O_PATH, openAt, unmountAllUnder } from '@berth/host';
import { closeSync, constants, fstatSync, mkdirSync, openSync, realpathSync, statSync, type Stats } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

function outsideTheVolume(subPath: string, mountName: string): Error {
  return errors.badRequest(`subPath ${JSON.stringify(subPath)} of volumeMount ${JSON.stringify(mountName)} leads outside the volume (through a symbolic link), so it is not mounted`);
}

/**
 * The absolute path `parts` lead to from `root` with every symbolic link resolved; for a path that does not
 * exist yet, its longest existing prefix resolved and the rest appended (what will be created).
 */
function resolveInVolume(root: string, parts: string[]): string {
  for (let existing = parts.length; existing >= 0; existing--) {
    try {
      return join(realpathSync(join(root, ...parts.slice(0, existing))), ...parts.slice(existing));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return join(root, ...parts);
}

/**
 * Bind-mounts `subPath` of the volume at `volumeRoot` onto `target` the way kubelet does since the subPath
 * CVEs (CVE-2017-1002101, CVE-2021-25741), because a container of the pod may write symbolic links into
 * the volume and swap them at any moment:
 *  1. resolve the path, links included, and refuse it unless it stays inside the volume (links within the
 *     volume, as a ConfigMap volume's files are, are fine);
 *  2. walk the resolved path from the volume root one component at a time, each opened relative to its
 *     parent's fd without following links (a component that became a link since step 1 is refused, a missing
 *     directory is created), so the last fd is the inode step 1 approved;
 *  3. bind-mount that fd (/proc/<pid>/fd/N), never a path: nothing can be swapped between check and mount.
 * `target` (the node's, below the pod's directory) then stays bound to that inode until it is unmounted.
 */
export async function bindSubPath(volumeRoot: string, subPath: string, mountName: string, target: string): Promise<void> {
  const parts = subPath.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw outsideTheVolume(subPath, mountName);
  const root = realpathSync(volumeRoot);
  const resolved = resolveInVolume(root, parts);
  if (resolved !== root && !resolved.startsWith(`${root}/`)) throw outsideTheVolume(subPath, mountName);
  const inside = resolved === root ? [] : resolved.slice(root.length + 1).split('/');
  const directoryMode = statSync(root).mode & 0o7777;
  const fds: number[] = [];
  try {
    let fd = openSync(root, O_PATH | constants.O_DIRECTORY);
    fds.push(fd);
    let stats: Stats = fstatSync(fd);
    for (const [i, name] of inside.entries()) {
      let next = openAt(fd, name, O_PATH);
      if (next === undefined) {
        // kubelet creates a missing subPath as a directory like the volume's root; mkdir never follows a link.
        try {
          mkdirSync(`/proc/self/fd/${fd}/${name}`, directoryMode);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        next = openAt(fd, name, O_PATH);
        if (next === undefined) throw outsideTheVolume(subPath, mountName);
      }
      fds.push(next);
      stats = fstatSync(next);
      if (stats.isSymbolicLink()) throw outsideTheVolume(subPath, mountName);
      if (i < inside.length - 1 && !stats.isDirectory()) throw errors.badRequest(`subPath ${JSON.stringify(subPath)} of volumeMount ${JSON.stringify(mountName)} goes through a file that is not a directory`);
      fd = next;
    }
    await unmountAllUnder(target);
    // Nothing is mounted there any more: what a previous run left is only the empty mount point.
    await rm(target, { recursive: true, force: true });
    await mkdir(dirname(target), { recursive: true });
    if (stats.isDirectory()) await mkdir(target);
    else await writeFile(target, '');
    // --no-canonicalize: mount(8) would otherwise resolve the fd link to a path, which is what must not happen.
    await mustRun('mount', ['--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${fd}`, target], { what: `mounting subPath ${JSON.stringify(subPath)}` });
  } catch (err) {
    if (err instanceof Error && 'code' in err) throw errors.badRequest(`subPath ${JSON.stringify(subPath)} of volumeMount ${JSON.stringify(mountName)}: ${err.message}`);
    throw err;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
