/**
 * Hollow nodes, as kubemark runs them: real agents (libs/agent's startAgent: Node registration, Lease
 * renewal, the pod watch of their node, pod sync, status reports) over an in-memory FakeRuntime, so a
 * thousand nodes fit on one machine. They run in child processes of the bench (the same bundle, started
 * with the `hollow-nodes` argument), a share of the nodes each, so their event loops do not compete with
 * the scheduler being measured; each child shares one API client (one keep-alive pool) between its agents.
 */
import { FakeRuntime, startAgent, type AgentClient, type RunningAgent } from '@berth/agent';
import { connectionFromFile, KubeClient } from '@berth/client';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { inParallel } from './parallel';

export const HOLLOW_NODES_COMMAND = 'hollow-nodes';
/**
 * API requests (other than watches) in flight per hollow-node process. Unbounded, a burst of a few hundred
 * agents' writes opens as many TLS connections, overflows the API server's accept queue (backlog 511) and
 * stalls everyone on connect timeouts; kubelet bounds its own client too (--kube-api-qps/--kube-api-burst).
 */
const REQUESTS_IN_FLIGHT = 32;
/** A hollow-node process whose bench went away exits after this long even if its agents cannot stop cleanly. */
const ORPHAN_EXIT_MS = 10_000;

/** Each hollow node hands out pod addresses from this range on its own (nothing routes them). */
const HOLLOW_POD_CIDR = '10.88.0.0/16';
/** Every hollow node reports the same modest machine, like createNode's fake nodes. */
const HOLLOW_HOST = { cpus: 2, memoryBytes: 4 * 1024 ** 3, kernelVersion: 'hollow', osImage: 'berth hollow node', machineID: 'hollow', bootID: 'hollow' };

export interface HollowNodeSettings {
  /** Lease renewal period; kubelet's 10 s by default. */
  leaseRenewMs?: number;
  /** Node status heartbeat period; kubelet's 60 s by default. */
  statusUpdateMs?: number;
  /** How often each agent relists its runtime; the agent's 1 s by default. */
  relistMs?: number;
}

interface ChildConfig extends HollowNodeSettings {
  kubeconfigPath: string;
  dataDir: string;
  nodes: Array<{ name: string; internalIP: string }>;
}

/** What a hollow-node process uses, as it reports it. */
export interface HollowUsage {
  nodes: number;
  rssBytes: number;
  heapUsedBytes: number;
  cpuSeconds: number;
}

type ToChild = { type: 'usage' } | { type: 'stop' };
type FromChild = ({ type: 'started' } & HollowUsage) | ({ type: 'usage' } & HollowUsage) | { type: 'stopped' } | { type: 'failed'; message: string };

function usage(nodes: number): HollowUsage {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { nodes, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Runs at most `limit` tasks at once, the others in arrival order. */
class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** The agents' client with its requests through one gate; watches hold their own connection for their life and pass straight through. */
function gatedClient(client: KubeClient, limit: number): AgentClient {
  const gate = new Gate(limit);
  const through =
    (method: 'list' | 'get' | 'create' | 'patch' | 'updateStatus' | 'delete') =>
    (...args: unknown[]) =>
      gate.run(() => (client[method] as (...a: unknown[]) => Promise<unknown>).apply(client, args));
  return {
    watch: client.watch.bind(client),
    list: through('list'),
    get: through('get'),
    create: through('create'),
    patch: through('patch'),
    updateStatus: through('updateStatus'),
    delete: through('delete'),
  } as AgentClient;
}

/** The child's side: starts its agents, answers usage requests, stops them when asked or when the bench goes away. */
export async function runHollowNodeProcess(configJson: string): Promise<void> {
  const config = JSON.parse(configJson) as ChildConfig;
  const send = (message: FromChild) => process.send!(message);
  const client = new KubeClient(connectionFromFile(config.kubeconfigPath));
  const agentClient = gatedClient(client, REQUESTS_IN_FLIGHT);
  const logger = pino({ level: 'error' }, pino.destination(2));
  const agents: RunningAgent[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
      client.close();
    })());
  process.on('message', (message: ToChild) => {
    if (message.type === 'usage') send({ type: 'usage', ...usage(agents.length) });
    else void stop().then(() => send({ type: 'stopped' }));
  });
  // The bench died or went away: nothing is left to report to.
  process.on('disconnect', () => {
    setTimeout(() => process.exit(1), ORPHAN_EXIT_MS).unref();
    void stop().then(() => process.exit(0));
  });
  try {
    // Registration is a few API writes per node: a bounded number at once keeps the server answering.
    await inParallel(config.nodes.length, 16, async (i) => {
      const { name: nodeName, internalIP } = config.nodes[i];
      agents.push(
        await startAgent({
          client: agentClient,
          // The bench's server assigns no pod CIDRs (no controllers): each hollow node's network is ready from the start.
          runtime: new FakeRuntime({ podCidr: HOLLOW_POD_CIDR }),
          nodeName,
          dataDir: join(config.dataDir, nodeName),
          logger,
          host: { ...HOLLOW_HOST, hostname: nodeName, internalIP },
          leaseRenewMs: config.leaseRenewMs,
          statusUpdateMs: config.statusUpdateMs,
          relistMs: config.relistMs,
        }),
      );
    });
    send({ type: 'started', ...usage(agents.length) });
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message });
    await stop();
    process.exit(1);
  }
}

class HollowProcess {
  private readonly waiters: Array<{ type: FromChild['type']; resolve: (m: FromChild) => void; reject: (e: Error) => void }> = [];
  private readonly exited: Promise<void>;
  private stderr = '';

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    child.on('message', (message: FromChild) => {
      if (message.type === 'failed') return this.failAll(new Error(`a hollow-node process failed: ${message.message}`));
      const index = this.waiters.findIndex((w) => w.type === message.type);
      if (index >= 0) this.waiters.splice(index, 1)[0].resolve(message);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.failAll(new Error(`a hollow-node process exited (${code ?? signal}): ${this.stderr.trim()}`));
        resolve();
      }),
    );
  }

  next<T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> {
    return new Promise((resolve, reject) => this.waiters.push({ type, resolve: resolve as (m: FromChild) => void, reject }));
  }

  request<T extends FromChild['type']>(message: ToChild, reply: T): Promise<Extract<FromChild, { type: T }>> {
    const answer = this.next(reply);
    this.child.send(message);
    return answer;
  }

  /** Stops the agents (their pods' fake containers go with the process), then the process. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.connected) {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.request({ type: 'stop' }, 'stopped').catch(() => undefined);
      this.child.kill('SIGTERM');
      await this.exited;
      clearTimeout(timer);
    }
  }

  private failAll(err: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }
}

export interface HollowCluster {
  names: string[];
  processes: number;
  /** Each process's usage now. */
  usage(): Promise<HollowUsage[]>;
  stop(): Promise<void>;
}

/**
 * Starts `count` hollow nodes (`hollow-0000`...) spread over `processes` child processes; resolves once
 * every node is registered with its Lease and its agent is watching its pods.
 */
export async function startHollowNodes(kubeconfigPath: string, count: number, processes: number, settings: HollowNodeSettings = {}): Promise<HollowCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-hollow-'));
  const nodes = Array.from({ length: count }, (_, i) => ({ name: `hollow-${String(i).padStart(4, '0')}`, internalIP: `10.${((i + 1) >> 16) & 255}.${((i + 1) >> 8) & 255}.${(i + 1) & 255}` }));
  const children: HollowProcess[] = [];
  const cluster: HollowCluster = {
    names: nodes.map((n) => n.name),
    processes,
    usage: () => Promise.all(children.map((c) => c.request({ type: 'usage' }, 'usage'))),
    stop: async () => {
      await Promise.all(children.map((c) => c.stop()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    for (let p = 0; p < processes; p++) {
      const config: ChildConfig = { kubeconfigPath, dataDir, nodes: nodes.filter((_, i) => i % processes === p), ...settings };
      const child = fork(process.argv[1], [HOLLOW_NODES_COMMAND, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
      children.push(new HollowProcess(child));
    }
    await Promise.all(children.map((c) => c.next('started')));
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
