/**
 * Real network fixtures for the CNI suite. Everything the plugins make lives in a network namespace of
 * the fixture's own (the "host"): the suite's plugin directory holds wrappers that run each real plugin
 * there, so the bridge, the host-side veths and the iptables rules never touch the machine's namespace
 * and go away with it. Pod namespaces are bound on files as runtimed makes them.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REAL_PLUGIN_DIR = '/usr/lib/cni';

export function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, killSignal: 'SIGKILL' });
}

function quietly(work: () => unknown): void {
  try {
    work();
  } catch {
    // already gone
  }
}

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

/** A new network namespace bound on `path`, loopback up. */
function bindNewNetns(path: string): void {
  sh('unshare', [`--net=${path}`, '--', 'ip', 'link', 'set', 'lo', 'up']);
}

export interface CniFixture {
  readonly runId: string;
  readonly network: string;
  readonly bridge: string;
  /** `10.a.b`: the pods' /24 is `${prefix}.0/24`, the bridge is `${prefix}.1`. */
  readonly prefix: string;
  readonly dir: string;
  readonly ipamDir: string;
  readonly cacheDir: string;
  /** The namespace standing in for the node: the plugins run there. */
  readonly hostNetns: string;
  /** Pass as CniNetwork's pluginDirs: each plugin runs in the host namespace. */
  readonly pluginDirs: string[];
  /** A new network namespace bound on a file, loopback up (as runtimed's sandboxes). */
  netns(name: string): Promise<string>;
  /** Destroys a namespace made by `netns` (unmounts its file). */
  removeNetns(path: string): void;
  /** Runs a command inside a namespace to completion. */
  execIn(netns: string, command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts a long-running command inside a namespace; cleanup kills it. */
  spawnIn(netns: string, command: string, args: string[]): ChildProcess;
  /** Host-side veths enslaved to the bridge. */
  bridgePorts(): string[];
  /** The host namespace's iptables rules and chains that pods added (beyond the plugins' shared chains). */
  iptablesRules(): string[];
  cleanup(): Promise<void>;
  leftovers(): string[];
}

export async function createCniFixture(): Promise<CniFixture> {
  const runId = randomBytes(3).toString('hex');
  const network = `berth-cni-test-${runId}`;
  const bridge = `bcni${runId}`;
  const dir = await mkdtemp(join(tmpdir(), 'berth-cni-test-'));
  const hostNetns = join(dir, 'host');
  const pluginDir = join(dir, 'plugins');
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  const inHost = (command: string, args: string[]) => sh('nsenter', [`--net=${hostNetns}`, command, ...args]);

  try {
    await writeFile(hostNetns, '');
    bindNewNetns(hostNetns);
    await mkdir(pluginDir);
    for (const plugin of await readdir(REAL_PLUGIN_DIR)) {
      const wrapper = join(pluginDir, plugin);
      await writeFile(wrapper, `#!/bin/sh\nexec nsenter --net=${hostNetns} ${join(REAL_PLUGIN_DIR, plugin)} "$@"\n`);
      await chmod(wrapper, 0o755);
    }
  } catch (err) {
    if (mounted(hostNetns)) quietly(() => sh('umount', [hostNetns]));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  // Per-container chains (bridge's masquerade chain, portmap's CNI-DN-*) are named by a hash; their rules
  // do not all carry the network's name, so they are remembered from the rules that jump to them.
  const chains = new Set<string>();
  const iptablesRules = (): string[] => {
    const lines = inHost('iptables-save', []).split('\n');
    const tagged = lines.filter((line) => line.includes(network));
    for (const line of tagged) for (const chain of perContainerChains(line)) chains.add(chain);
    return [...tagged, ...lines.filter((line) => chains.has(line.slice(1).split(' ')[0]) && line.startsWith(':'))];
  };

  const fixture: CniFixture = {
    runId,
    network,
    bridge,
    // The host namespace is the fixture's own, so any private /24 will do.
    prefix: '10.150.0',
    dir,
    ipamDir: join(dir, 'ipam'),
    cacheDir: join(dir, 'cache'),
    hostNetns,
    pluginDirs: [pluginDir],
    async netns(name) {
      const path = join(dir, `netns-${name}`);
      await writeFile(path, '');
      namespaces.push(path);
      bindNewNetns(path);
      return path;
    },
    removeNetns(path) {
      if (mounted(path)) sh('umount', [path]);
    },
    execIn(netns, command, args) {
      return new Promise((resolve) =>
        execFile('nsenter', [`--net=${netns}`, command, ...args], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        ),
      );
    },
    spawnIn(netns, command, args) {
      const child = spawn('nsenter', [`--net=${netns}`, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    bridgePorts() {
      try {
        return inHost('ip', ['-o', 'link', 'show', 'master', bridge])
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(':')[1]!.trim().split('@')[0]!);
      } catch {
        return []; // no bridge yet
      }
    },
    iptablesRules,
    async cleanup() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // Unmounting the last reference to a namespace destroys it with its links and rules.
      for (const path of [...namespaces, hostNetns]) quietly(() => fixture.removeNetns(path));
      await rm(dir, { recursive: true, force: true });
    },
    leftovers() {
      const left: string[] = [];
      for (const path of [...namespaces, hostNetns]) if (mounted(path)) left.push(`netns ${path}`);
      if (existsSync(dir)) left.push(`dir ${dir}`);
      for (const child of children) if (child.exitCode === null && child.signalCode === null) left.push(`process ${child.pid}`);
      return left;
    },
  };
  return fixture;
}

function perContainerChains(rule: string): string[] {
  return [...rule.matchAll(/(?:^-A | -j )(CNI-[A-Za-z0-9-]+)/g)].map((m) => m[1]).filter((chain) => !chain.startsWith('CNI-HOSTPORT-'));
}
