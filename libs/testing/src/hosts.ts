/**
 * Simulated hosts on one machine, for multi-node tests: each host is a network namespace with its own
 * address, joined to the others and to the root namespace through a switch, as hosts on one LAN.
 * Processes of a host run under `nsenter --net=...`, which enters only the network namespace: the
 * filesystem, /sys and cgroups stay the machine's, so runc and mounts work as on a real host
 * (`ip netns exec` would remount /sys, which breaks runc's cgroup detection).
 *
 * The switch (a bridge) lives in a namespace of its own, not in the root one: with br_netfilter loaded,
 * frames crossing a bridge go through the netfilter hooks of the bridge's namespace, and the root
 * namespace's rules are whatever else ran on the machine (a stopped `berth server` leaves its node's
 * `table ip berth`, which masqueraded the hosts' pod-to-pod traffic). A bridge's own `nf_call_iptables 0`
 * does not help: the kernel calls netfilter when either it or the namespace's bridge-nf-call-iptables is
 * set. The switch's namespace has no rules, and its bridge-nf-call-* are turned off besides.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { BERTH_BIN } from './server';

const NETNS_DIR = '/var/run/netns';
/** Private /24s the hosts' networks are chosen from: 10.200.0.0/24 ... 10.255.255.0/24. */
const FIRST_SECOND_OCTET = 200;
const SUBNETS = (256 - FIRST_SECOND_OCTET) * 256;
/** Networks this process created so far: each gets names of its own, so one suite can run several at once. */
let networksCreated = 0;

export interface HostProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `signal` (SIGTERM by default), then SIGKILL after `timeoutMs`; resolves once it exited. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export interface SimulatedHost {
  /** 1-based. */
  readonly index: number;
  /** The network namespace: `berth-<runId>-<index>`. */
  readonly netns: string;
  readonly netnsPath: string;
  /** eth0's address inside the namespace. */
  readonly ip: string;
  /** Starts `bin/berth ARGS` in this host's network namespace. */
  berth(args: string[], env?: NodeJS.ProcessEnv): HostProcess;
  /** Starts any command in this host's network namespace; cleanup stops it. */
  spawn(command: string, args: string[], env?: NodeJS.ProcessEnv): HostProcess;
  /**
   * Runs a short command to completion in this host's network namespace and returns its stdout (blocks
   * the event loop); throws when it fails or still runs after `timeoutMs` (default 30 s).
   */
  exec(command: string, args: string[], timeoutMs?: number): string;
  /** Pids of every process in this host's network namespace. */
  pids(): number[];
}

export interface SimulatedNetwork {
  readonly runId: string;
  /** The namespace holding the LAN's switch: `berth-<runId>-lan`. */
  readonly lanNetns: string;
  /** The root namespace's link to the LAN: `bt<runId>`. */
  readonly rootLink: string;
  /** The root namespace's address on the LAN: what the hosts reach it (a server listening there) at. */
  readonly gatewayIP: string;
  /** The LAN's /24, `10.a.b.0/24`. */
  readonly subnet: string;
  readonly hosts: SimulatedHost[];
  /** Kills what still runs in the hosts' namespaces, then removes the namespaces, veths and bridge. */
  cleanup(): Promise<void>;
  /** This network's namespaces, links and processes still on the machine (empty after cleanup). */
  leftovers(): string[];
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, killSignal: 'SIGKILL' });
}

function quietly(work: () => unknown): void {
  try {
    work();
  } catch {
    // already gone
  }
}

/** The `10.x.y` prefixes of every IPv4 address and route on the machine, so a new /24 collides with none. */
function prefixesInUse(): Set<string> {
  const text = `${ip(['-4', '-o', 'addr', 'show'])}\n${ip(['-4', 'route', 'show', 'table', 'all'])}`;
  return new Set([...text.matchAll(/\b10\.(\d+)\.(\d+)\.\d+/g)].map((m) => `10.${m[1]}.${m[2]}`));
}

function freeSubnetPrefix(seed: number): string {
  const used = prefixesInUse();
  for (let i = 0; i < SUBNETS; i++) {
    const n = (seed + i) % SUBNETS;
    const prefix = `10.${FIRST_SECOND_OCTET + Math.floor(n / 256)}.${n % 256}`;
    if (!used.has(prefix)) return prefix;
  }
  throw new Error('no free 10.x.y.0/24 for simulated hosts');
}

function netnsPids(netns: string): number[] {
  try {
    return ip(['netns', 'pids', netns])
      .split('\n')
      .filter((line) => /^\d+$/.test(line.trim()))
      .map(Number);
  } catch {
    return [];
  }
}

function linkExists(name: string): boolean {
  try {
    ip(['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

function netnsExists(name: string): boolean {
  try {
    return readdirSync(NETNS_DIR).includes(name);
  } catch {
    return false;
  }
}

function startInNetns(netnsPath: string, command: string, args: string[], env?: NodeJS.ProcessEnv): HostProcess {
  // nsenter execs the command, so the child's pid is the command's and signals reach it directly.
  const child = spawn('nsenter', [`--net=${netnsPath}`, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Turns br_netfilter off for bridges in the namespace (the files exist only while br_netfilter is loaded). */
function bridgeNetfilterOff(netnsPath: string): void {
  const sysctls = ['iptables', 'ip6tables', 'arptables'].map((family) => `/proc/sys/net/bridge/bridge-nf-call-${family}`);
  const script = sysctls.map((file) => `[ ! -e ${file} ] || echo 0 > ${file}`).join('; ');
  execFileSync('nsenter', [`--net=${netnsPath}`, 'sh', '-c', script], { stdio: 'ignore', timeout: 30_000 });
}

/**
 * Creates `count` simulated hosts: a namespace `berth-<runId>-lan` with the switch (bridge `lan`), the
 * root namespace on it through a veth `bt<runId>` with `10.a.b.1/24`, and per host a namespace
 * `berth-<runId>-<n>` whose eth0 (a veth whose other end is a port of the switch) has `10.a.b.<n+1>`,
 * loopback up and a default route via the root namespace. The /24 is one no address or route on the
 * machine uses. Whatever was created is removed again if a step fails.
 */
export async function createSimulatedHosts(count: number): Promise<SimulatedNetwork> {
  if (count < 1 || count > 250) throw new Error(`simulated hosts: count ${count} must be 1..250`);
  // Short (interface names have 15 characters at most) and the same for the same pid and call, so a
  // run that died before cleaning up has its names reclaimed by the next run with its pid.
  const runId = `${process.pid.toString(36)}${(networksCreated++).toString(36)}`;
  const lanNetns = `berth-${runId}-lan`;
  const rootLink = `bt${runId}`;
  const prefix = freeSubnetPrefix(process.pid);
  const gatewayIP = `${prefix}.1`;
  const hosts: SimulatedHost[] = [];
  const netnsNames: string[] = [];
  const processes: HostProcess[] = [];
  const lan = (args: string[]) => ip(['-n', lanNetns, ...args]);

  const leftovers = (): string[] => {
    const left: string[] = [];
    for (const netns of [...netnsNames, lanNetns]) {
      if (netnsExists(netns)) left.push(`netns ${netns}`);
      for (const pid of netnsPids(netns)) left.push(`process ${pid} in netns ${netns}`);
    }
    if (linkExists(rootLink)) left.push(`link ${rootLink}`);
    return left;
  };

  const cleanup = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop('SIGTERM', 5000)));
    // Anything a host's processes started (daemons, shims) still in its namespace.
    for (const netns of netnsNames) for (const pid of netnsPids(netns)) quietly(() => process.kill(pid, 'SIGKILL'));
    await waitUntil(() => netnsNames.every((netns) => netnsPids(netns).length === 0), 10_000);
    // Deleting the switch's ends removes the pairs even if something still holds a host's namespace.
    for (let n = 1; n <= netnsNames.length; n++) quietly(() => lan(['link', 'del', `h${n}`]));
    for (const netns of netnsNames) quietly(() => ip(['netns', 'del', netns]));
    quietly(() => ip(['link', 'del', rootLink]));
    quietly(() => ip(['netns', 'del', lanNetns]));
  };

  try {
    // A run with this pid that died before cleaning up left these names behind.
    for (let n = 1; n <= count; n++) quietly(() => ip(['netns', 'del', `berth-${runId}-${n}`]));
    quietly(() => ip(['link', 'del', rootLink]));
    quietly(() => ip(['netns', 'del', lanNetns]));

    ip(['netns', 'add', lanNetns]);
    bridgeNetfilterOff(`${NETNS_DIR}/${lanNetns}`);
    lan(['link', 'add', 'lan', 'type', 'bridge', 'nf_call_iptables', '0', 'nf_call_ip6tables', '0', 'nf_call_arptables', '0']);
    lan(['link', 'set', 'lan', 'up']);
    ip(['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', lanNetns]);
    lan(['link', 'set', 'root', 'master', 'lan', 'up']);
    ip(['addr', 'add', `${gatewayIP}/24`, 'dev', rootLink]);
    ip(['link', 'set', rootLink, 'up']);
    for (let n = 1; n <= count; n++) {
      const netns = `berth-${runId}-${n}`;
      const netnsPath = `${NETNS_DIR}/${netns}`;
      const address = `${prefix}.${n + 1}`;
      ip(['netns', 'add', netns]);
      netnsNames.push(netns);
      lan(['link', 'add', `h${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      lan(['link', 'set', `h${n}`, 'master', 'lan', 'up']);
      const inside = (args: string[]) => ip(['-n', netns, ...args]);
      inside(['addr', 'add', `${address}/24`, 'dev', 'eth0']);
      inside(['link', 'set', 'eth0', 'up']);
      inside(['link', 'set', 'lo', 'up']);
      inside(['route', 'add', 'default', 'via', gatewayIP]);
      const spawnHere = (command: string, args: string[], env?: NodeJS.ProcessEnv): HostProcess => {
        const started = startInNetns(netnsPath, command, args, env);
        processes.push(started);
        return started;
      };
      hosts.push({
        index: n,
        netns,
        netnsPath,
        ip: address,
        berth: (args, env) => spawnHere(BERTH_BIN, args, env),
        spawn: spawnHere,
        exec(command, args, timeoutMs = 30_000) {
          return execFileSync('nsenter', [`--net=${netnsPath}`, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
        },
        pids: () => netnsPids(netns),
      });
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { runId, lanNetns, rootLink, gatewayIP, subnet: `${prefix}.0/24`, hosts, cleanup, leftovers };
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

