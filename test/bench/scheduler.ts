/**
 * Scheduler throughput: pods bound per second with 100 and 1,000 simulated nodes (Node objects only, as
 * kubemark's hollow nodes without their agents). The pods exist before the scheduler starts, so the figure
 * is the scheduler's own pace (decisions plus bindings through the API server), not the pod creation rate.
 */
import type { Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { startScheduler } from '@berth/scheduler';
import { startBerthServer } from '@berth/testing';
import pino from 'pino';
import { clientFor, createNode, createPod, PODS } from '../scheduler/cluster';

const SCHEDULER = 'bench-scheduler';

/** Runs fn over 0..count-1 with at most `parallel` calls in flight. */
async function inParallel(count: number, parallel: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}

/** Resolves with the time the last of `expected` pods was seen bound, watching from resourceVersion. */
async function waitAllBound(client: KubeClient, resourceVersion: string, expected: number): Promise<{ at: number; perNode: Map<string, number> }> {
  const perNode = new Map<string, number>();
  const bound = new Set<string>();
  const watch = await client.watch<Pod>(PODS, { namespace: 'default', resourceVersion });
  try {
    for await (const event of watch) {
      const nodeName = event.object.spec?.nodeName;
      const name = event.object.metadata.name!;
      if (!nodeName || bound.has(name)) continue;
      bound.add(name);
      perNode.set(nodeName, (perNode.get(nodeName) ?? 0) + 1);
      if (bound.size === expected) return { at: performance.now(), perNode };
    }
    throw new Error(`the watch ended with ${bound.size} of ${expected} pods bound`);
  } finally {
    watch.close();
  }
}

async function measure(nodes: number, pods: number): Promise<void> {
  const server = await startBerthServer();
  const client = clientFor(server);
  try {
    await inParallel(nodes, 32, (i) => createNode(client, `hollow-${String(i).padStart(4, '0')}`));
    await inParallel(pods, 32, (i) => createPod(client, `bench-${i}`, { schedulerName: SCHEDULER, cpu: '100m', memory: '128Mi' }));
    const { metadata } = await client.list(PODS, { namespace: 'default', limit: 1 });
    const allBound = waitAllBound(client, metadata.resourceVersion ?? '0', pods);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const scheduler = startScheduler({ client, logger: pino({ level: 'warn' }, pino.destination(2)), schedulerName: SCHEDULER });
    try {
      const { at, perNode } = await allBound;
      const seconds = (at - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const counts = [...perNode.values()];
      console.log(
        `scheduler ${String(nodes).padStart(5)} nodes ${String(pods).padStart(5)} pods  ${(pods / seconds).toFixed(0).padStart(6)} pods/s  ` +
          `(all bound in ${seconds.toFixed(2)} s; pods per node ${Math.min(...counts)}..${Math.max(...counts)} over ${perNode.size} nodes; scheduler process cpu ${cpuSeconds.toFixed(2)} s)`,
      );
    } finally {
      await scheduler.stop();
    }
  } finally {
    client.close();
    await server.cleanup();
  }
}

export async function benchScheduler(pods = Number(process.env.BERTH_BENCH_SCHEDULER_PODS ?? 1000)): Promise<void> {
  for (const nodes of [100, 1000]) await measure(nodes, pods);
}
