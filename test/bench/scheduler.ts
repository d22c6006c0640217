/**
 * Scheduler throughput with 100 and 1,000 nodes, each count twice: bare Node objects nobody runs (the
 * scheduler's own pace) and hollow nodes (kubemark's approach: real agents over a fake runtime, see
 * hollow-nodes.ts), each registering its Node, renewing its Lease, watching and running the pods bound to
 * it. Once every node is Ready the pods are created; then the scheduler starts, so pods bound per second
 * is the scheduler's pace (decisions plus bindings through the API server, while the nodes heartbeat and
 * report), not the pod creation rate. With hollow nodes the same watch then times until the agents report
 * every pod Running. CPU and memory of each process are printed beside, to show what limits the node count.
 */
import type { Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { startScheduler } from '@berth/scheduler';
import { startBerthServer, type TestServer } from '@berth/testing';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { clientFor, createNode, createPod, NODES, PODS } from '../scheduler/cluster';
import { startHollowNodes, type HollowNodeSettings, type HollowUsage } from './hollow-nodes';
import { inParallel } from './parallel';

const SCHEDULER = 'bench-scheduler';
const NODES_PER_PROCESS = Number(process.env.BERTH_BENCH_HOLLOW_NODES_PER_PROCESS ?? 500);
const CLOCK_TICKS_PER_SECOND = 100;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** Resident memory of another process, from /proc. */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** CPU seconds (user + system) another process used so far, from /proc. */
function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces) start at state, field 3; utime and stime are 14 and 15.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function ownCpuSeconds(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1e6;
}

const isRunning = (pod: Pod) => pod.status?.phase === 'Running' && (pod.status.containerStatuses ?? []).every((c) => c.ready);

interface Progress {
  boundAt: number;
  runningAt: number;
  perNode: Map<string, number>;
}

/**
 * Watches from resourceVersion until all `expected` pods are bound and, when nodes run them, until all are
 * Running; resolves with when each happened.
 */
async function waitBoundThenRunning(client: KubeClient, resourceVersion: string, expected: number, untilRunning: boolean, onAllBound: () => void): Promise<Progress> {
  const nodeOf = new Map<string, string>();
  const running = new Set<string>();
  const perNode = new Map<string, number>();
  let boundAt = NaN;
  const watch = await client.watch<Pod>(PODS, { namespace: 'default', resourceVersion });
  try {
    for await (const event of watch) {
      const pod = event.object;
      const name = pod.metadata.name!;
      const nodeName = pod.spec?.nodeName;
      if (nodeName && !nodeOf.has(name)) {
        nodeOf.set(name, nodeName);
        perNode.set(nodeName, (perNode.get(nodeName) ?? 0) + 1);
        if (nodeOf.size === expected) {
          boundAt = performance.now();
          onAllBound();
          if (!untilRunning) return { boundAt, runningAt: NaN, perNode };
        }
      }
      if (isRunning(pod)) running.add(name);
      if (running.size === expected) return { boundAt, runningAt: performance.now(), perNode };
    }
    throw new Error(`the watch ended with ${nodeOf.size} of ${expected} pods bound and ${running.size} Running`);
  } finally {
    watch.close();
  }
}

async function readyNodes(client: KubeClient): Promise<number> {
  const { items } = await client.list(NODES);
  return items.filter((n) => (n as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

/** The cluster's nodes for one measurement: hollow agents, or bare Node objects nobody runs (the scheduler alone). */
interface BenchNodes {
  label: string;
  /** Each hollow-node process's usage now; none for bare Node objects. */
  usage(): Promise<HollowUsage[]>;
  stop(): Promise<void>;
}

async function startNodes(server: TestServer, client: KubeClient, nodes: number, hollow: boolean, settings: HollowNodeSettings): Promise<BenchNodes> {
  if (!hollow) {
    await inParallel(nodes, 32, (i) => createNode(client, `node-${String(i).padStart(4, '0')}`));
    return { label: 'Node objects', usage: async () => [], stop: async () => undefined };
  }
  const processes = Math.ceil(nodes / NODES_PER_PROCESS);
  const cluster = await startHollowNodes(server.kubeconfigPath, nodes, processes, settings);
  return { label: 'hollow nodes', usage: () => cluster.usage(), stop: () => cluster.stop() };
}

const sum = (usages: HollowUsage[], pick: (u: HollowUsage) => number) => usages.reduce((total, u) => total + pick(u), 0);

/** A pino destination that counts the scheduler's warnings and keeps the first, instead of printing them all. */
function countingLog(): { logger: pino.Logger; count(): number; first(): string | undefined } {
  let count = 0;
  let first: string | undefined;
  const logger = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        count++;
        if (!first) {
          const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
          first = `${entry.msg}${entry.err?.message ? `: ${entry.err.message}` : ''}`;
        }
      },
    },
  );
  return { logger, count: () => count, first: () => first };
}

async function measure(nodes: number, pods: number, hollow: boolean, settings: HollowNodeSettings): Promise<void> {
  // Every hollow node's agent watches from this one machine: two watches each, over the per-client default.
  const watches = String(4 * nodes + 100);
  const server = await startBerthServer({ extraArgs: ['--max-watches', watches, '--max-watches-per-client', watches] });
  const serverPid = server.process.pid!;
  const client = clientFor(server);
  try {
    const registering = performance.now();
    const cluster = await startNodes(server, client, nodes, hollow, settings);
    try {
      const registeredSeconds = (performance.now() - registering) / 1000;
      const ready = await readyNodes(client);
      if (ready !== nodes) throw new Error(`${ready} of ${nodes} ${cluster.label} are Ready after they all registered`);
      const idle = await cluster.usage();

      const creating = performance.now();
      await inParallel(pods, 32, (i) => createPod(client, `bench-${i}`, { schedulerName: SCHEDULER, cpu: '100m', memory: '128Mi' }));
      const createdSeconds = (performance.now() - creating) / 1000;
      const { metadata } = await client.list(PODS, { namespace: 'default', limit: 1 });

      const cpuBefore = { server: cpuSeconds(serverPid), scheduler: ownCpuSeconds(), hollow: sum(idle, (u) => u.cpuSeconds) };
      let cpuAtBound = { server: NaN, scheduler: NaN };
      const progress = waitBoundThenRunning(client, metadata.resourceVersion ?? '0', pods, hollow, () => (cpuAtBound = { server: cpuSeconds(serverPid), scheduler: ownCpuSeconds() }));
      const log = countingLog();
      const started = performance.now();
      // Its own client, as the scheduler is its own component: no keep-alive sockets left idle by the setup.
      const schedulerClient = clientFor(server);
      const scheduler = startScheduler({ client: schedulerClient, logger: log.logger, schedulerName: SCHEDULER });
      try {
        const { boundAt, runningAt, perNode } = await progress;
        const busy = await cluster.usage();
        const boundSeconds = (boundAt - started) / 1000;
        const counts = [...perNode.values()];
        console.log(
          `scheduler ${String(nodes).padStart(5)} ${cluster.label.padEnd(12)} ${String(pods).padStart(5)} pods  ${(pods / boundSeconds).toFixed(0).padStart(6)} pods bound/s  ` +
            `(all bound in ${boundSeconds.toFixed(2)} s` +
            (hollow ? `, all Running ${((runningAt - started) / 1000).toFixed(2)} s after the scheduler started` : '') +
            `; pods per node ${Math.min(...counts)}..${Math.max(...counts)} over ${perNode.size} nodes)`,
        );
        console.log(
          `  setup: ${nodes} ${cluster.label} Ready in ${registeredSeconds.toFixed(1)} s` +
            (hollow ? ` (${idle.length} hollow-node process${idle.length > 1 ? 'es' : ''})` : '') +
            `, ${pods} pods created in ${createdSeconds.toFixed(1)} s (${(pods / createdSeconds).toFixed(0)}/s)` +
            (log.count() ? `; ${log.count()} scheduler warnings (first: ${log.first()})` : ''),
        );
        console.log(
          `  cpu until all bound: apiserver ${(cpuAtBound.server - cpuBefore.server).toFixed(1)} s, scheduler ${(cpuAtBound.scheduler - cpuBefore.scheduler).toFixed(1)} s` +
            (hollow ? `; until all Running: apiserver ${(cpuSeconds(serverPid) - cpuBefore.server).toFixed(1)} s, hollow nodes ${(sum(busy, (u) => u.cpuSeconds) - cpuBefore.hollow).toFixed(1)} s` : ''),
        );
        const memory = `  memory: apiserver rss ${mb(rssBytes(serverPid))}`;
        if (!hollow) console.log(memory);
        else {
          const rss = sum(busy, (u) => u.rssBytes);
          const heap = sum(busy, (u) => u.heapUsedBytes);
          console.log(
            `${memory} (${nodes} pod watches of agents); hollow nodes rss ${mb(rss)} (${(rss / nodes / 1024).toFixed(0)} kB per node, ${mb(sum(idle, (u) => u.rssBytes))} before the pods), ` +
              `heap ${mb(heap)} (${(heap / nodes / 1024).toFixed(0)} kB per node)`,
          );
        }
      } finally {
        await scheduler.stop();
        schedulerClient.close();
      }
    } finally {
      await cluster.stop();
    }
  } finally {
    client.close();
    await server.cleanup();
  }
}

export async function benchScheduler(pods = Number(process.env.BERTH_BENCH_SCHEDULER_PODS ?? 500)): Promise<void> {
  const settings: HollowNodeSettings = {
    leaseRenewMs: process.env.BERTH_BENCH_HOLLOW_LEASE_MS ? Number(process.env.BERTH_BENCH_HOLLOW_LEASE_MS) : undefined,
  };
  const nodeCounts = (process.env.BERTH_BENCH_HOLLOW_NODES ?? '100,1000').split(',').map(Number);
  for (const nodes of nodeCounts) {
    await measure(nodes, pods, false, settings);
    await measure(nodes, pods, true, settings);
  }
}
