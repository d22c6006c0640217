import type { Container, ContainerStats } from '@berth/runtime-client';
import { LABELS } from './labels';
import { StatsSampler, type StatsRuntime, type UsageReading } from './node-tunnel-stats';

/** A runtime whose one pod container has used `cpuNanos` by `atMs` (the test moves both on). */
function fakeRuntime(reading: { cpuNanos: number; atMs: number }): StatsRuntime {
  const labels = { [LABELS.podUid]: 'u1', [LABELS.podNamespace]: 'default', [LABELS.podName]: 'web', [LABELS.containerName]: 'main' };
  return {
    listContainers: async () => [{ id: 'c1', config: { labels } }, { id: 'other', config: { labels: {} } }] as unknown as Container[],
    stats: async () =>
      [
        { id: 'c1', name: 'k8s_main', cpuUsageNanos: reading.cpuNanos, timestampMs: reading.atMs, memoryUsageBytes: 2048 * 1024 },
        { id: 'other', name: 'not-a-pod', cpuUsageNanos: 1, timestampMs: reading.atMs, memoryUsageBytes: 1 },
      ] as ContainerStats[],
  };
}

describe('StatsSampler', () => {
  it('reports CPU as a rate over the window since an earlier reading, taking a second reading when it has none', async () => {
    const container = { cpuNanos: 1_000_000_000, atMs: 0 };
    const host: UsageReading = { cpuNanos: 0, atMs: 0, memoryBytes: 4096 };
    const sampler = new StatsSampler(
      {
        ...fakeRuntime(container),
        // Each reading is taken 10 ms (of the fake clock) after the last; the container uses half a core.
        stats: async () => {
          container.atMs += 10;
          container.cpuNanos += 5_000_000;
          return fakeRuntime(container).stats([]);
        },
      },
      async () => ({ ...host, atMs: (host.atMs += 10), cpuNanos: (host.cpuNanos += 20_000_000) }),
      { minWindowMs: 10 },
    );
    const first = await sampler.report();
    expect(first.pods).toEqual([{ namespace: 'default', name: 'web', timestamp: new Date(20).toISOString(), windowSeconds: 0.01, containers: [{ name: 'main', cpuNanoCores: 500_000_000, memoryBytes: 2048 * 1024 }] }]);
    expect(first.node).toEqual({ cpuNanoCores: 2_000_000_000, memoryBytes: 4096 });
    // The next report has an earlier reading to go by: one reading only.
    const second = await sampler.report();
    expect(second.timestamp).toBe(new Date(30).toISOString());
    expect(second.pods[0]!.containers[0]!.cpuNanoCores).toBe(500_000_000);
  });
});
