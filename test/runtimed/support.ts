// A runtimed of its own for each suite: temp root, socket, runc root and cgroup parent, so that every
// trace it leaves (mounts, runc state, cgroups, shim processes, namespaces) can be found and removed.
import { cgroupDirs, cgroupTree } from '@berth/host';
import { busyboxRootfsTarball } from '@berth/image';
import { RuntimeClient } from '@berth/runtime-client';
import { findRunc } from '@berth/shim-client';
import { REPO_ROOT } from '@berth/testing';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RUNC = findRunc();
const RUNTIMED_MAIN = join(REPO_ROOT, 'dist', 'apps', 'runtimed', 'main.js');
let fixtures = 0;

/** Polls a condition (every 20 ms) until it holds or the timeout passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const BUSYBOX_CONFIG = { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };

function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export interface RuntimedFixtureOptions {
  /** Runs runtimed in this network namespace (a simulated host's), so its pod network lives and dies there. */
  netnsPath?: string;
  /** More runtimed flags. */
  args?: string[];
}

export class RuntimedFixture {
  constructor(private readonly options: RuntimedFixtureOptions = {}) {}

  readonly dir = mkdtempSync(join(tmpdir(), 'berth-rt-'));
  readonly root = join(this.dir, 'root');
  readonly stateDir = join(this.dir, 'run');
  readonly socket = join(this.stateDir, 'runtimed.sock');
  readonly runcRoot = join(this.stateDir, 'runc');
  readonly cgroupParent = `/berth-test-${process.pid}-${++fixtures}`;
  // Calls are bounded so that a hung runtimed fails a test with the call's name, not the test's timeout.
  readonly client = new RuntimeClient(this.socket, { callTimeoutMs: 60_000 });
  private daemon: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /** The daemon's log (pino JSON lines), for failure messages. */
  log = '';

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, BERTH_RUNTIME_SOCKET: this.socket };
  }

  async start(): Promise<void> {
    mkdirSync(this.stateDir, { recursive: true });
    const argv = [process.execPath, RUNTIMED_MAIN, '--root', this.root, '--socket', this.socket, '--cgroup-parent', this.cgroupParent, '--log-level', 'debug', ...(this.options.args ?? [])];
    // nsenter execs runtimed, so the child's pid is the daemon's.
    if (this.options.netnsPath) argv.unshift('nsenter', `--net=${this.options.netnsPath}`);
    const daemon = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.daemon = daemon;
    this.exited = new Promise((resolve) => daemon.once('exit', () => resolve()));
    daemon.stderr!.on('data', (d) => (this.log += d));
    let gone = false;
    void this.exited.then(() => (gone = true));
    await waitFor('runtimed to serve', async () => {
      if (gone) throw new Error(`runtimed exited:\n${this.log}`);
      return this.client.version().then(
        () => true,
        () => false,
      );
    });
  }

  /** kill -9: containers and shims must carry on. */
  async kill9(): Promise<void> {
    this.daemon?.kill('SIGKILL');
    await this.exited;
    this.daemon = undefined;
  }

  async stop(): Promise<void> {
    if (!this.daemon) return;
    this.daemon.kill('SIGTERM');
    await this.exited;
    this.daemon = undefined;
  }

  async importBusybox(name = 'busybox'): Promise<void> {
    await this.client.importImage(await busyboxRootfsTarball(), { name, config: BUSYBOX_CONFIG });
  }

  /** Everything this daemon left on the host: should be empty after every container and sandbox is removed. */
  leftovers(): string[] {
    const left: string[] = [];
    for (const mount of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      if (mount.includes(this.dir)) left.push(`mount ${mount.split(' ')[4]}`);
    }
    if (existsSync(this.runcRoot)) {
      const listed = JSON.parse(execFileSync(RUNC, ['--root', this.runcRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || 'null') as Array<{ id: string }> | null;
      for (const c of listed ?? []) left.push(`runc container ${c.id}`);
    }
    const parents = cgroupDirs(this.cgroupParent);
    for (const child of cgroupTree(this.cgroupParent)) if (!parents.includes(child)) left.push(`cgroup ${child}`);
    const daemonPid = this.daemon?.pid;
    for (const pid of processesMentioning(this.dir)) if (pid !== daemonPid) left.push(`process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    for (const sub of ['containers', join('snapshots', 'containers'), 'sandboxes']) {
      const path = join(this.root, sub);
      if (existsSync(path)) for (const entry of readdirSync(path)) left.push(`${sub}/${entry}`);
    }
    // The pod network's per-sandbox state: CNI cache entries and host-local's address reservations.
    const network = join(this.root, 'network');
    for (const [sub, entry] of [['cni', /\.json$/], ['ipam', /^[0-9.]+$|^[0-9a-f:]+$/]] as const) {
      const path = join(network, sub);
      if (!existsSync(path)) continue;
      for (const name of readdirSync(path)) for (const file of readdirSync(join(path, name))) if (entry.test(file)) left.push(`network/${sub}/${name}/${file}`);
    }
    for (const sub of ['shims', 'netns']) {
      const path = join(this.stateDir, sub);
      if (existsSync(path)) for (const entry of readdirSync(path)) left.push(`${sub}/${entry}`);
    }
    return left;
  }

  /** Removes every container and sandbox through the daemon, then whatever is left behind it, then the dirs. */
  async cleanup(): Promise<void> {
    try {
      if (this.daemon) {
        for (const c of await this.client.listContainers({ all: true }).catch(() => [])) await this.client.removeContainer(c.id, { force: true }).catch(() => undefined);
        for (const s of await this.client.listPodSandboxes().catch(() => [])) await this.client.removePodSandbox(s.id).catch(() => undefined);
      }
    } finally {
      await this.stop();
      this.client.close();
      this.forceClean();
    }
  }

  private forceClean(): void {
    for (const pid of processesMentioning(this.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (existsSync(this.runcRoot)) {
      for (const id of readdirSync(this.runcRoot)) {
        try {
          execFileSync(RUNC, ['--root', this.runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point): point is string => !!point && point.startsWith(this.dir))
      .reverse();
    for (const point of mounts) {
      try {
        execFileSync('umount', ['-l', point], { stdio: 'ignore' });
      } catch {
        // already unmounted
      }
    }
    for (const dir of cgroupTree(this.cgroupParent)) {
      try {
        rmdirSync(dir);
      } catch {
        // busy or gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
