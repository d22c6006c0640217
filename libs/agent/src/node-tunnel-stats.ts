import type { NodeStatsReport, PodStats, ResourceUsage } from '@berth/client';
import type { RuntimeClient } from '@berth/runtime-client';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { LABELS, podKeyOfLabels } from './labels';

/** A cumulative CPU reading and the memory in use at that moment. */
export interface UsageReading {
  cpuNanos: number;
  atMs: number;
  memoryBytes: number;
}

export type StatsRuntime = Pick<RuntimeClient, 'stats' | 'listContainers'>;

/** The whole host's usage (what NodeMetrics report). */
export type HostReader = () => Promise<UsageReading>;

interface ContainerReading extends UsageReading {
  namespace: string;
  pod: string;
  container: string;
}

interface Snapshot {
  node: UsageReading;
  containers: Map<string, ContainerReading>;
}

const NODE_KEY = '';
/** /proc/stat counts in USER_HZ, 100 on every Linux ABI node runs on. */
const NANOS_PER_JIFFY = 1e7;

/** Busy CPU time (everything but idle and iowait) and MemTotal − MemAvailable, from /proc. */
export async function readHostUsage(): Promise<UsageReading> {
  const [stat, meminfo] = await Promise.all([readFile('/proc/stat', 'utf8'), readFile('/proc/meminfo', 'utf8')]);
  const fields = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  return {
    cpuNanos: (user + nice + system + irq + softirq + steal) * NANOS_PER_JIFFY,
    atMs: Date.now(),
    memoryBytes: Math.max(0, kib('MemTotal') - kib('MemAvailable')),
  };
}

export interface StatsSamplerOptions {
  /** The shortest window a CPU rate is taken over; a request without an older reading waits this long for a second one. */
  minWindowMs?: number;
  /** Readings older than this are dropped. */
  keepMs?: number;
}

/**
 * CPU is reported by the runtime as cumulative nanoseconds; metrics want a rate. The sampler keeps the
 * recent readings of the node and of each pod container and reports usage over the window since the
 * newest reading at least `minWindowMs` old, taking a second reading when there is none yet.
 */
export class StatsSampler {
  private readonly history = new Map<string, UsageReading[]>();
  private readonly minWindowMs: number;
  private readonly keepMs: number;

  constructor(
    private readonly runtime: StatsRuntime,
    private readonly readHost: HostReader = readHostUsage,
    options: StatsSamplerOptions = {},
  ) {
    this.minWindowMs = options.minWindowMs ?? 1000;
    this.keepMs = options.keepMs ?? 120_000;
  }

  async report(): Promise<NodeStatsReport> {
    let snapshot = await this.read();
    if (!this.reference(NODE_KEY, snapshot.node) || [...snapshot.containers].some(([id, c]) => !this.reference(id, c))) {
      this.record(snapshot);
      await delay(this.minWindowMs);
      snapshot = await this.read();
    }
    const node = this.usage(NODE_KEY, snapshot.node);
    const pods = new Map<string, PodStats>();
    for (const [id, reading] of snapshot.containers) {
      const usage = this.usage(id, reading);
      if (!usage) continue;
      const key = `${reading.namespace}/${reading.pod}`;
      let pod = pods.get(key);
      if (!pod) pods.set(key, (pod = { namespace: reading.namespace, name: reading.pod, timestamp: new Date(reading.atMs).toISOString(), windowSeconds: usage.windowSeconds, containers: [] }));
      pod.containers.push({ name: reading.container, cpuNanoCores: usage.cpuNanoCores, memoryBytes: usage.memoryBytes });
    }
    this.record(snapshot);
    return {
      timestamp: new Date(snapshot.node.atMs).toISOString(),
      windowSeconds: node?.windowSeconds ?? 0,
      node: { cpuNanoCores: node?.cpuNanoCores ?? 0, memoryBytes: snapshot.node.memoryBytes },
      pods: [...pods.values()],
    };
  }

  /** The running pod containers' readings (by runtime id) and the host's. */
  private async read(): Promise<Snapshot> {
    const [running, stats, node] = await Promise.all([this.runtime.listContainers({}), this.runtime.stats([]), this.readHost()]);
    const labelsById = new Map(running.map((c) => [c.id, c.config.labels]));
    const containers = new Map<string, ContainerReading>();
    for (const s of stats) {
      const labels = labelsById.get(s.id);
      if (!labels || !podKeyOfLabels(labels)) continue;
      containers.set(s.id, {
        namespace: labels[LABELS.podNamespace]!,
        pod: labels[LABELS.podName]!,
        container: labels[LABELS.containerName] ?? s.name,
        cpuNanos: s.cpuUsageNanos,
        atMs: s.timestampMs,
        memoryBytes: s.memoryUsageBytes,
      });
    }
    return { node, containers };
  }

  private reference(key: string, current: UsageReading): UsageReading | undefined {
    const readings = this.history.get(key) ?? [];
    for (let i = readings.length - 1; i >= 0; i--) {
      if (current.atMs - readings[i]!.atMs >= this.minWindowMs) return readings[i];
    }
    return undefined;
  }

  private usage(key: string, current: UsageReading): (ResourceUsage & { windowSeconds: number }) | undefined {
    const ref = this.reference(key, current);
    if (!ref) return undefined;
    const seconds = (current.atMs - ref.atMs) / 1000;
    return { cpuNanoCores: Math.max(0, Math.round((current.cpuNanos - ref.cpuNanos) / seconds)), memoryBytes: current.memoryBytes, windowSeconds: seconds };
  }

  private record(snapshot: Snapshot): void {
    const oldest = snapshot.node.atMs - this.keepMs;
    const add = (key: string, reading: UsageReading) => {
      const kept = (this.history.get(key) ?? []).filter((r) => r.atMs >= oldest && r.atMs < reading.atMs);
      kept.push({ cpuNanos: reading.cpuNanos, atMs: reading.atMs, memoryBytes: reading.memoryBytes });
      this.history.set(key, kept.slice(-16));
    };
    add(NODE_KEY, snapshot.node);
    for (const [id, reading] of snapshot.containers) add(id, reading);
    // Containers that are gone take their history with them.
    for (const key of this.history.keys()) if (key !== NODE_KEY && !snapshot.containers.has(key)) this.history.delete(key);
  }
}
