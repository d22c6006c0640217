/**
 * podman as the reference implementation: a podman whose storage, run state and cgroups are private to
 * one temp dir (so nothing leaks into the machine's podman state), for the image interop tests and for
 * the runtime bench's `podman run -d` column.
 */
import { busyboxRootfsTarball, listMounts } from '@berth/image';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP_BUSY_WAIT_MS = 10_000;
const HELPER_EXIT_WAIT_MS = 10_000;
export const PODMAN_BUSYBOX = 'localhost/berth-bench/busybox:latest';

function elapsedSeconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** True when podman can run here: the binary is installed and we are root (the private storage needs real mounts). */
export function podmanAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pids of the processes whose command line mentions `text` (conmon and podman helpers of one private storage). */
async function processesMentioning(text: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid);
  const cmdlines = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')));
  return pids.filter((_, i) => cmdlines[i].includes(text)).map(Number);
}

async function waitUntilNoProcessMentions(text: string, deadline = Date.now() + HELPER_EXIT_WAIT_MS): Promise<void> {
  for (;;) {
    const pids = await processesMentioning(text);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`podman processes of ${text} still run: ${pids.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every directory of `dir`'s tree, deepest first, so rmdir can take them in order. */
async function directoriesDeepestFirst(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => directoriesDeepestFirst(join(dir, e.name))));
  return [...nested.flat(), dir];
}

/** Removes an empty cgroup; conmon processes still exiting after `podman rm` keep it busy for a moment. */
async function removeCgroup(path: string, deadline = Date.now() + CGROUP_BUSY_WAIT_MS): Promise<void> {
  for (;;) {
    try {
      await rmdir(path);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw new Error(`cannot remove podman's cgroup ${path}: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export class PrivatePodman {
  /** podman runs conmon and the containers under this cgroup (on every v1 hierarchy or the v2 tree). */
  readonly cgroupParent: string;

  private constructor(readonly dir: string) {
    this.cgroupParent = `/${basename(dir)}`;
  }

  static async create(prefix = 'berth-podman-'): Promise<PrivatePodman> {
    return new PrivatePodman(await mkdtemp(join(tmpdir(), prefix)));
  }

  /** The global flags that keep every podman call inside `dir`. */
  get globalArgs(): string[] {
    return [
      '--root', join(this.dir, 'root'),
      '--runroot', join(this.dir, 'runroot'),
      '--tmpdir', join(this.dir, 'tmp'),
      // `system reset` removes every network it sees: only ours.
      '--network-config-dir', join(this.dir, 'networks'),
      '--storage-driver', 'overlay',
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'none',
    ];
  }

  /** `podman run` flags this machine needs: no network, explicit ulimits, the private cgroup parent. */
  get runArgs(): string[] {
    return ['--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', '--cgroup-parent', this.cgroupParent];
  }

  /** Runs podman with the private storage; resolves with its stdout, rejects with its stderr in the message. */
  async run(...args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync('podman', [...this.globalArgs, ...args], { maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new Error(`podman ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
    }
  }

  /** `podman import` of the busybox rootfs with the config berth's importBusybox gives it; resolves with the image ID (sha256:…). */
  async importBusybox(name = PODMAN_BUSYBOX): Promise<string> {
    const tarball = await busyboxRootfsTarball();
    const output = await this.run('import', '--change', 'CMD ["sh"]', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', tarball, name);
    // podman prints progress lines, then the image ID.
    return output.trim().split('\n').pop()!;
  }

  /** Mounts under `dir` that are still there (podman's overlay mounts and its private bind of the storage). */
  async leftoverMounts(): Promise<string[]> {
    return (await listMounts()).map((m) => m.mountPoint).filter((path) => path === this.dir || path.startsWith(`${this.dir}/`));
  }

  /**
   * Removes every container, image and mount podman made, its cgroups and the temp dir. Mounts
   * `system reset` missed are unmounted, deepest first; if any stays, the dir is kept (a recursive rm
   * would reach through it) and destroy fails.
   */
  async destroy(): Promise<void> {
    await this.run('rm', '--all', '--force', '--time', '0').catch(() => undefined);
    // conmon runs `podman container cleanup` (with our --root) after a container exits: left running, it
    // would re-create the storage and its mount after we removed them.
    await waitUntilNoProcessMentions(this.dir);
    await this.run('system', 'reset', '--force').catch(() => undefined);
    await waitUntilNoProcessMentions(this.dir);
    for (const mountPoint of (await this.leftoverMounts()).reverse()) await execFileAsync('umount', [mountPoint]).catch(() => undefined);
    const stuck = await this.leftoverMounts();
    if (stuck.length === 0) await rm(this.dir, { recursive: true, force: true });
    await this.removeCgroups();
    if (stuck.length > 0) throw new Error(`podman left mounts that would not unmount: ${stuck.join(', ')}`);
  }

  private async removeCgroups(): Promise<void> {
    const hierarchies = (await readdir(CGROUP_ROOT, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => join(CGROUP_ROOT, e.name));
    for (const hierarchy of [CGROUP_ROOT, ...hierarchies]) {
      for (const cgroup of await directoriesDeepestFirst(join(hierarchy, this.cgroupParent.slice(1)))) await removeCgroup(cgroup);
    }
  }
}

/**
 * Seconds for `count` concurrent `podman run -d` of busybox `sleep 3600` (like the runtime bench starts
 * its containers), after one warm-up run, in a private podman storage removed afterwards.
 */
export async function podmanStartDetached(count: number): Promise<{ seconds: number }> {
  const podman = await PrivatePodman.create('berth-bench-podman-');
  try {
    await podman.importBusybox();
    await podman.run('run', '--rm', ...podman.runArgs, PODMAN_BUSYBOX, 'true');
    const t0 = process.hrtime.bigint();
    const ids = await Promise.all(Array.from({ length: count }, () => podman.run('run', '-d', ...podman.runArgs, PODMAN_BUSYBOX, 'sleep', '3600')));
    const seconds = elapsedSeconds(t0);
    await podman.run('rm', '--force', '--time', '0', ...ids.map((id) => id.trim()));
    return { seconds };
  } finally {
    await podman.destroy();
  }
}

/**
 * Seconds for `count` busybox `true` containers run to completion by `podman run --rm`, `parallel` at a
 * time (what a Job with that many completions and that parallelism does), after one warm-up run, in a
 * private podman storage removed afterwards.
 */
export async function podmanRunToCompletion(count: number, parallel: number): Promise<{ seconds: number }> {
  const podman = await PrivatePodman.create('berth-bench-podman-');
  try {
    await podman.importBusybox();
    await podman.run('run', '--rm', ...podman.runArgs, PODMAN_BUSYBOX, 'true');
    let started = 0;
    const worker = async () => {
      while (started < count) {
        started++;
        await podman.run('run', '--rm', ...podman.runArgs, PODMAN_BUSYBOX, 'true');
      }
    };
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
    return { seconds: elapsedSeconds(t0) };
  } finally {
    await podman.destroy();
  }
}

/**
 * Seconds for `count` `podman run -d` of busybox `sleep 3600`, each with a named volume of its own at
 * /data, one after the other (each returns once its container runs), as an OrderedReady StatefulSet with
 * a volumeClaimTemplate starts its pods; after one warm-up run, in a private podman storage removed afterwards.
 */
export async function podmanStartWithVolumesInOrder(count: number): Promise<{ seconds: number }> {
  const podman = await PrivatePodman.create('berth-bench-podman-');
  try {
    await podman.importBusybox();
    await podman.run('run', '--rm', ...podman.runArgs, PODMAN_BUSYBOX, 'true');
    const ids: string[] = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) ids.push((await podman.run('run', '-d', ...podman.runArgs, '-v', `bench-data-${i}:/data`, PODMAN_BUSYBOX, 'sleep', '3600')).trim());
    const seconds = elapsedSeconds(t0);
    await podman.run('rm', '--force', '--time', '0', '--volumes', ...ids);
    return { seconds };
  } finally {
    await podman.destroy();
  }
}
