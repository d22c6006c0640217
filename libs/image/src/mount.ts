import { readFile } from 'node:fs/promises';
import { mustRun } from '@berth/host';

export interface MountInfo {
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
      mountPoint: unescapeMountField(fields[4]!),
      fsType: fields[separator + 1]!,
      source: unescapeMountField(fields[separator + 2]!),
      superOptions: unescapeMountField(fields[separator + 3]!),
    });
  }
  return mounts;
}

/** Relative paths in `options` are resolved by the kernel against `cwd`. */
export async function mountOverlay(target: string, options: readonly string[], cwd?: string): Promise<void> {
  await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), target], { what: `mounting overlay on ${target}`, cwd });
}

export async function unmount(target: string): Promise<void> {
  await mustRun('umount', [target], { what: `unmounting ${target}` });
}
