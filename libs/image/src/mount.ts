import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { errors } from '@berth/errors';

const execFileAsync = promisify(execFile);

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

async function run(command: string, args: string[], what: string, cwd?: string): Promise<void> {
  try {
    await execFileAsync(command, args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw errors.internal(`${what} failed: ${stderr || (err as Error).message}`);
  }
}

/** Relative paths in `options` are resolved by the kernel against `cwd`. */
export async function mountOverlay(target: string, options: readonly string[], cwd?: string): Promise<void> {
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), target], `mounting overlay on ${target}`, cwd);
}

export async function unmount(target: string): Promise<void> {
  await run('umount', [target], `unmounting ${target}`);
}
