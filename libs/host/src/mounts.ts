import { readFile } from 'node:fs/promises';
import { mustRun, runCommand } from './exec';

export interface MountInfo {
  /** What of its filesystem is mounted: `/` for a whole one, a directory for a bind mount, `net:[inode]` for a namespace (nsfs). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-superblock options: for overlay, lowerdir=…,upperdir=…,workdir=… */
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountField(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mounts of this process's mount namespace, from /proc/self/mountinfo. */
export async function listMounts(): Promise<MountInfo[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 0 || fields.length < separator + 4) continue;
    mounts.push({
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      fsType: fields[separator + 1]!,
      source: unescapeMountField(fields[separator + 2]!),
      superOptions: unescapeMountField(fields[separator + 3]!),
    });
  }
  return mounts;
}

export async function unmount(target: string): Promise<void> {
  await mustRun('umount', [target], { what: `unmounting ${target}` });
}

/** Mount points at `dir` or below it, deepest (last mounted) first: the order they can be unmounted in. */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await listMounts())
    .map((m) => m.mountPoint)
    .filter((point) => point === dir || point.startsWith(prefix))
    .reverse();
}

/**
 * Unmounts everything mounted at or below `dir` (a mount still in use is detached lazily), so that
 * removing the directory can never reach into what was mounted there. Answers the mount points it
 * unmounted, deepest first; throws if a mount stays.
 */
export async function unmountAllUnder(dir: string): Promise<string[]> {
  const points = await mountPointsUnder(dir);
  if (!points.length) return points;
  for (const point of points) {
    const { code } = await runCommand('umount', [point]);
    if (code !== 0) await mustRun('umount', ['-l', point], { what: `detaching ${point}` });
  }
  const left = await mountPointsUnder(dir);
  if (left.length) throw new Error(`still mounted under ${dir}: ${left.join(', ')}`);
  return points;
}
