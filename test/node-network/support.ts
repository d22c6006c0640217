/**
 * Pods without a runtime, for the node-network suites: inside a simulated host's namespace a bridge with
 * the node's pod CIDR, and per pod a network namespace of its own, veth-peered onto the bridge, running
 * `busybox httpd` that answers `/` with the pod's name and `/cgi-bin/peer` with its name and the address
 * the request came from. Everything lives in namespaces this suite creates.
 */
import { type HostProcess, REPO_ROOT, type SimulatedHost, waitFor } from '@berth/testing';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NETNS_DIR = '/var/run/netns';
export const NODE_MAIN = join(REPO_ROOT, 'dist', 'test', 'node-network', 'node-main.js');

export interface FakePod {
  name: string;
  ip: string;
  netnsPath: string;
  host: SimulatedHost;
}

export interface FakeNode {
  host: SimulatedHost;
  name: string;
  podCIDR: string;
  pods: FakePod[];
}

export interface PodFixture {
  readonly nodes: FakeNode[];
  cleanup(): Promise<void>;
  leftovers(): string[];
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, killSignal: 'SIGKILL' });
}

function execAsync(command: string, args: string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    // Bounded, so a command that hangs ends as a failure that says so.
    execFile(command, args, { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: err?.killed ? `${stderr}${command} did not exit in 30 s (killed)\n` : stderr });
    });
  });
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `busybox wget` of a URL from inside a network namespace, bounded by `timeout` (busybox's own -T crashes). */
export function wgetIn(netnsPath: string, url: string, seconds = 5): Promise<CommandResult> {
  return execAsync('nsenter', [`--net=${netnsPath}`, 'timeout', String(seconds), 'busybox', 'wget', '-q', '-O', '-', url]);
}

/**
 * A UDP server in a pod that answers every datagram with the pod's name (busybox's `nc -u` serves one peer
 * and exits; a server that outlives its clients shows where each new flow lands).
 */
export async function startUdpEcho(pod: FakePod, port: number): Promise<HostProcess> {
  const script = `const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => s.send(${JSON.stringify(pod.name)}, r.port, r.address)); s.bind(${port});`;
  const server = pod.host.spawn('nsenter', [`--net=${pod.netnsPath}`, process.execPath, '-e', script]);
  await waitFor(async () => (await udpAsk(pod.netnsPath, pod.ip, port)).stdout === pod.name, 10_000, `${pod.name}'s UDP server`);
  return server;
}

/**
 * One datagram from inside a network namespace, from `sourcePort` when given (the same source port is the
 * same UDP flow to conntrack), and the first answer within a second; exit 3 when none came.
 */
export function udpAsk(netnsPath: string, ip: string, port: number, sourcePort = 0): Promise<CommandResult> {
  const script = [
    `const s = require('dgram').createSocket('udp4');`,
    `setTimeout(() => process.exit(3), 1000);`,
    `s.on('message', (m) => { process.stdout.write(m.toString()); process.exit(0); });`,
    `s.bind(${sourcePort}, () => s.send('?', ${port}, ${JSON.stringify(ip)}));`,
  ].join(' ');
  return execAsync('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', script]);
}

/**
 * On each host: bridge `berth0` with `<prefix>.1/24` of its pod CIDR `<prefix>.0/24`, and pods
 * `<prefix>.10`, `.11`, ... named by `podNames[hostIndex]`. br_netfilter is switched off in the hosts'
 * namespaces: the proxy must not depend on it for pods reaching a Service endpoint on their own bridge.
 */
export async function createPods(hosts: SimulatedHost[], podNames: string[][], prefixes: string[]): Promise<PodFixture> {
  const runId = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'berth-nn-pods-'));
  const podNetns: string[] = [];
  const servers: HostProcess[] = [];
  const nodes: FakeNode[] = [];

  const cleanup = async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    for (const netns of podNetns) {
      try {
        run('ip', ['netns', 'del', netns]);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const [h, host] of hosts.entries()) {
      const prefix = prefixes[h];
      const inHost = (args: string[]) => run('ip', ['-n', host.netns, ...args]);
      inHost(['link', 'add', 'berth0', 'type', 'bridge']);
      inHost(['addr', 'add', `${prefix}.1/24`, 'dev', 'berth0']);
      inHost(['link', 'set', 'berth0', 'up']);
      host.exec('sh', ['-c', 'echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables']);
      const node: FakeNode = { host, name: `node-${host.index}`, podCIDR: `${prefix}.0/24`, pods: [] };
      for (const [i, name] of podNames[h].entries()) {
        const netns = `nnp-${runId}-${host.index}-${i}`;
        run('ip', ['netns', 'add', netns]);
        podNetns.push(netns);
        const ip = `${prefix}.${10 + i}`;
        const hostSide = `vp${i}`;
        inHost(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
        inHost(['link', 'set', hostSide, 'master', 'berth0', 'up']);
        const inPod = (args: string[]) => run('ip', ['-n', netns, ...args]);
        inPod(['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        inPod(['link', 'set', 'eth0', 'up']);
        inPod(['link', 'set', 'lo', 'up']);
        inPod(['route', 'add', 'default', 'via', `${prefix}.1`]);
        const docroot = join(dir, name);
        mkdirSync(join(docroot, 'cgi-bin'), { recursive: true });
        writeFileSync(join(docroot, 'index.html'), name);
        const peerScript = join(docroot, 'cgi-bin', 'peer');
        writeFileSync(peerScript, `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s %s' ${name} "$REMOTE_ADDR"\n`);
        chmodSync(peerScript, 0o755);
        // The pod's process is started from the host's spawn, so the host's cleanup also knows it.
        servers.push(host.spawn('nsenter', [`--net=${NETNS_DIR}/${netns}`, 'busybox', 'httpd', '-f', '-p', '80', '-h', docroot]));
        node.pods.push({ name, ip, netnsPath: `${NETNS_DIR}/${netns}`, host });
      }
      nodes.push(node);
    }
    const fixture: PodFixture = {
      nodes,
      cleanup,
      leftovers: () => [
        ...readdirSync(NETNS_DIR).filter((name) => podNetns.includes(name)).map((name) => `netns ${name}`),
        ...(existsSync(dir) ? [`dir ${dir}`] : []),
      ],
    };
    for (const pod of nodes.flatMap((n) => n.pods)) {
      await waitFor(async () => (await wgetIn(pod.netnsPath, `http://${pod.ip}/`)).stdout === pod.name, 10_000, `${pod.name}'s httpd`);
    }
    return fixture;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
