/**
 * Real network fixtures for the CNI suite: namespaces bound on files as runtimed makes them, a unique
 * bridge name and a /24 nothing on the machine uses, and a leftover check over links, IPAM files and
 * the iptables rules the plugins tag with the network's name.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function quietly(work: () => unknown): void {
  try {
    work();
  } catch {
    // already gone
  }
}

/** A `10.a.b` prefix in 10.150.0.0–10.199.255.0 that no address or route on the machine uses (simulated hosts take 10.200+). */
function freeSubnetPrefix(): string {
  const text = `${sh('ip', ['-4', '-o', 'addr', 'show'])}\n${sh('ip', ['-4', 'route', 'show', 'table', 'all'])}`;
  const used = new Set([...text.matchAll(/\b10\.(\d+)\.(\d+)\.\d+/g)].map((m) => `10.${m[1]}.${m[2]}`));
  const start = randomBytes(2).readUInt16BE() % (50 * 256);
  for (let i = 0; i < 50 * 256; i++) {
    const n = (start + i) % (50 * 256);
    const prefix = `10.${150 + Math.floor(n / 256)}.${n % 256}`;
    if (!used.has(prefix)) return prefix;
  }
  throw new Error('no free 10.150-199.x.0/24');
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
  /** iptables rules and chains mentioning this run's network name. */
  iptablesRules(): string[];
  cleanup(): Promise<void>;
  leftovers(): string[];
}

export async function createCniFixture(): Promise<CniFixture> {
  const runId = randomBytes(3).toString('hex');
  const network = `berth-cni-test-${runId}`;
  const bridge = `bcni${runId}`;
  const prefix = freeSubnetPrefix();
  const dir = await mkdtemp(join(tmpdir(), 'berth-cni-test-'));
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];

  const mounted = (path: string) => sh('cat', ['/proc/self/mountinfo']).split('\n').some((line) => line.split(' ')[4] === path);

  // Per-container chains (bridge's masquerade chain, portmap's CNI-DN-*) are named by a hash; their rules
  // do not all carry the network's name, so they are remembered from the rules that jump to them.
  const chains = new Set<string>();
  const iptablesRules = (): string[] => {
    const lines = sh('iptables-save', []).split('\n');
    const tagged = lines.filter((line) => line.includes(network));
    for (const line of tagged) for (const chain of perContainerChains(line)) chains.add(chain);
    return [...tagged, ...lines.filter((line) => chains.has(line.slice(1).split(' ')[0]) && line.startsWith(':'))];
  };

  const fixture: CniFixture = {
    runId,
    network,
    bridge,
    prefix,
    dir,
    ipamDir: join(dir, 'ipam'),
    cacheDir: join(dir, 'cache'),
    async netns(name) {
      const path = join(dir, `netns-${name}`);
      await writeFile(path, '');
      namespaces.push(path);
      sh('unshare', [`--net=${path}`, '--', 'ip', 'link', 'set', 'lo', 'up']);
      return path;
    },
    removeNetns(path) {
      if (mounted(path)) sh('umount', [path]);
    },
    execIn(netns, command, args) {
      return new Promise((resolve) =>
        execFile('nsenter', [`--net=${netns}`, command, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
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
      if (!existsSync(`/sys/class/net/${bridge}`)) return [];
      return readdirSync(`/sys/class/net/${bridge}/brif`);
    },
    iptablesRules,
    async cleanup() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      iptablesRules();
      removeIptablesRules(network, chains);
      for (const path of namespaces) quietly(() => fixture.removeNetns(path));
      quietly(() => sh('ip', ['link', 'del', bridge]));
      await rm(dir, { recursive: true, force: true });
    },
    leftovers() {
      const left: string[] = [];
      if (existsSync(`/sys/class/net/${bridge}`)) left.push(`link ${bridge}`);
      for (const path of namespaces) if (mounted(path)) left.push(`netns ${path}`);
      if (existsSync(dir)) left.push(`dir ${dir}`);
      for (const child of children) if (child.exitCode === null && child.signalCode === null) left.push(`process ${child.pid}`);
      left.push(...iptablesRules().map((rule) => `iptables ${rule}`));
      return left;
    },
  };
  return fixture;
}

function perContainerChains(rule: string): string[] {
  return [...rule.matchAll(/(?:^-A | -j )(CNI-[A-Za-z0-9-]+)/g)].map((m) => m[1]).filter((chain) => !chain.startsWith('CNI-HOSTPORT-'));
}

/** What a failed test's plugins may have left: rules tagged with the network's name, then the per-container chains. */
function removeIptablesRules(network: string, chains: Set<string>): void {
  let table = '';
  const owned: Array<[string, string]> = [];
  for (const line of sh('iptables-save', []).split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (line.startsWith(':') && chains.has(line.slice(1).split(' ')[0])) owned.push([table, line.slice(1).split(' ')[0]]);
    if (line.startsWith('-A ') && line.includes(network)) quietly(() => sh('sh', ['-c', `iptables -t ${table} -D ${line.slice(3)}`]));
  }
  for (const [t, chain] of owned) quietly(() => sh('iptables', ['-t', t, '-F', chain]));
  for (const [t, chain] of owned) quietly(() => sh('iptables', ['-t', t, '-X', chain]));
}
