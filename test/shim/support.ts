// Fixtures for real-container shim tests: a busybox rootfs, bundles, and cleanup that leaves nothing.
import { buildRuntimeSpec, RuntimeSpecOptions } from '@berth/oci';
import { connectShim, findRunc, ShimClient, startShim, StartShimOptions } from '@berth/shim-client';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RUNC = findRunc();
const CGROUP_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'blkio'];

/** A minimal rootfs: Debian's static busybox, one symlink per applet, passwd and group. */
export function buildBusyboxRootfs(dir: string): string {
  const rootfs = join(dir, 'rootfs');
  for (const sub of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) mkdirSync(join(rootfs, sub), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  execFileSync('chmod', ['0755', join(rootfs, 'bin', 'busybox')]);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return rootfs;
}

export interface TestContainer {
  id: string;
  bundle: string;
  socket: string;
  client: ShimClient;
  cgroupsPath: string;
}

/**
 * Creates containers through real shims in one temp dir and removes every trace of them: shims,
 * runc state, cgroups, directories — also when a test failed half way.
 */
export class ShimFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'berth-shim-'));
  readonly rootfs = buildBusyboxRootfs(this.dir);
  private readonly prefix = `shimtest-${process.pid}-`;
  private counter = 0;
  private readonly live = new Map<string, TestContainer & { shimPid?: number }>();

  nextId(): string {
    return `${this.prefix}${++this.counter}`;
  }

  async create(spec: Omit<RuntimeSpecOptions, 'rootfs' | 'cgroupsPath'>, shim: Partial<StartShimOptions> = {}): Promise<TestContainer> {
    const id = shim.id ?? this.nextId();
    const bundle = join(this.dir, id);
    mkdirSync(bundle);
    const cgroupsPath = `/berth-shim-test-${id}`;
    // The shared rootfs is mounted read-only: containers must not change it for one another.
    const config = buildRuntimeSpec({ ...spec, rootfs: this.rootfs, readonlyRootfs: true, cgroupsPath, terminal: shim.terminal });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
    const socket = join(this.dir, `${id}.sock`);
    const container = { id, bundle, socket, cgroupsPath } as TestContainer & { shimPid?: number };
    this.live.set(id, container);
    container.client = await startShim({ id, bundle, socket, runc: RUNC, ...shim });
    container.shimPid = (await container.client.state()).shimPid;
    return container;
  }

  /** Takes over the cleanup of a container created some other way (e.g. by another process). */
  adopt(container: Omit<TestContainer, 'client'>): void {
    this.live.set(container.id, { ...container, client: undefined as never });
  }

  /** A created container whose shim started it: the common case. */
  async run(spec: Omit<RuntimeSpecOptions, 'rootfs' | 'cgroupsPath'>, shim: Partial<StartShimOptions> = {}): Promise<TestContainer> {
    const container = await this.create(spec, shim);
    await container.client.start();
    return container;
  }

  /** Kills, deletes and forgets a container, whatever state it and its shim are in. */
  async remove(id: string): Promise<void> {
    const c = this.live.get(id);
    if (!c) return;
    this.live.delete(id);
    try {
      const client = await connectShim(c.socket);
      const state = await client.state();
      if (state.status !== 'stopped' && state.status !== 'created') {
        await client.kill('SIGKILL', { all: true }).catch(() => undefined);
        await client.wait({ signal: AbortSignal.timeout(10_000) });
      }
      await client.shutdown();
    } catch {
      // The shim is gone or stuck: clean up behind it.
      try {
        execFileSync(RUNC, ['delete', '--force', id], { stdio: 'ignore' });
      } catch {
        // never created, or already deleted
      }
      if (c.shimPid) {
        try {
          process.kill(c.shimPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(c.bundle, { recursive: true, force: true });
    rmSync(c.socket, { force: true });
  }

  async removeAll(): Promise<void> {
    for (const id of [...this.live.keys()]) await this.remove(id);
  }

  async cleanup(): Promise<void> {
    await this.removeAll();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** runc containers and cgroups of this test process that still exist. */
  leftovers(): string[] {
    const listed = JSON.parse(execFileSync(RUNC, ['list', '--format', 'json'], { encoding: 'utf8' }) || 'null') as Array<{ id: string }> | null;
    const left = (listed ?? []).filter((c) => c.id.startsWith(this.prefix)).map((c) => `runc container ${c.id}`);
    for (const controller of CGROUP_CONTROLLERS) {
      const base = join('/sys/fs/cgroup', controller);
      if (!existsSync(base)) continue;
      for (let i = 1; i <= this.counter; i++) {
        const dir = join(base, `berth-shim-test-${this.prefix}${i}`);
        if (existsSync(dir)) left.push(`cgroup ${dir}`);
      }
    }
    return left;
  }
}

export function readLog(c: TestContainer): string {
  const path = join(c.bundle, 'log');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Polls a condition (cheaply, every 20 ms) until it holds or the timeout passes. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Everything a stream delivers until it ends. */
export function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (d) => (text += d));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

export const CRI_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) (stdout|stderr) (F|P) (.*)$/;

export function parseLog(text: string): Array<{ time: string; stream: string; tag: string; text: string }> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = CRI_LINE.exec(line);
      if (!m) throw new Error(`not a CRI log line: ${JSON.stringify(line)}`);
      return { time: m[1], stream: m[2], tag: m[3], text: m[4] };
    });
}
