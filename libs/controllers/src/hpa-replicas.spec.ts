import type { Pod } from '@berth/api';
import { MetricsUnavailable, resourceReplicas, type PodUsage, type ResourceMetric } from './hpa-replicas';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

/** A running pod requesting 100m CPU and 64Mi, ready for `readyMinutes`, started `startedMinutes` ago. */
function pod(name: string, opts: { ready?: boolean; startedMinutes?: number; readyMinutes?: number; phase?: string; request?: boolean } = {}): Pod {
  const started = opts.startedMinutes ?? 10;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'main', image: 'busybox', ...(opts.request === false ? {} : { resources: { requests: { cpu: '100m', memory: '64Mi' } } }) }] },
    status: {
      phase: (opts.phase ?? 'Running') as 'Running',
      startTime: minutesAgo(started),
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: minutesAgo(opts.readyMinutes ?? started) }],
    },
  } as Pod;
}

function usage(name: string, cpuCores: number, memoryBytes = 32 * 1024 * 1024, at = NOW - 10_000): PodUsage {
  return { name, timestamp: at, windowMs: 15_000, containers: [{ name: 'main', cpu: cpuCores, memory: memoryBytes }] };
}

const cpu50: ResourceMetric = { resource: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } };

describe('resourceReplicas (Kubernetes\' replica calculator)', () => {
  it('asks for ceil(ready pods × use / target)', () => {
    // 2 pods at 90m of 100m: 90% against 50% → ceil(2 × 1.8) = 4.
    const result = resourceReplicas(2, [pod('a'), pod('b')], [usage('a', 0.09), usage('b', 0.09)], cpu50, NOW);
    expect(result).toMatchObject({ replicas: 4, utilization: 90 });
    expect(result.averageValue).toBeCloseTo(0.09);
  });

  it('changes nothing within the 10% tolerance, and scales down below it', () => {
    expect(resourceReplicas(2, [pod('a'), pod('b')], [usage('a', 0.054), usage('b', 0.054)], cpu50, NOW).replicas).toBe(2);
    expect(resourceReplicas(3, [pod('a'), pod('b'), pod('c')], [usage('a', 0.01), usage('b', 0.01), usage('c', 0.01)], cpu50, NOW).replicas).toBe(1);
  });

  it('scales on an average value target without requests', () => {
    const memory: ResourceMetric = { resource: 'memory', target: { type: 'AverageValue', averageValue: '16Mi' } };
    const pods = [pod('a', { request: false }), pod('b', { request: false })];
    expect(resourceReplicas(2, pods, [usage('a', 0, 32 * 1024 * 1024), usage('b', 0, 32 * 1024 * 1024)], memory, NOW).replicas).toBe(4);
  });

  it('refuses pods without a request of the resource, and pods without any reading', () => {
    expect(() => resourceReplicas(1, [pod('a', { request: false })], [usage('a', 0.1)], cpu50, NOW)).toThrow('missing request for cpu in container main of Pod a');
    expect(() => resourceReplicas(1, [pod('a')], [], cpu50, NOW)).toThrow(MetricsUnavailable);
    expect(() => resourceReplicas(1, [], [], cpu50, NOW)).toThrow('no pods returned by selector');
  });

  it('counts pods without a reading as at their request when scaling down, so a half-known scale-down is held back', () => {
    // a idle, b unread: taken as 100% → (0 + 100) / 2 = 50% against 50%: within tolerance, no change.
    expect(resourceReplicas(2, [pod('a'), pod('b')], [usage('a', 0)], cpu50, NOW).replicas).toBe(2);
  });

  it('counts pods without a reading as idle when scaling up', () => {
    // a at 200%, b unread as 0: (200 + 0) / 2 = 100% → ceil(2 × 2) = 4.
    expect(resourceReplicas(2, [pod('a'), pod('b')], [usage('a', 0.2)], cpu50, NOW).replicas).toBe(4);
  });

  it('counts pods still starting up (not ready, or measured before ready) as idle when scaling up, and ignores deleted and failed pods', () => {
    const young = pod('b', { startedMinutes: 1, readyMinutes: 0 }); // became ready just now: its reading predates that
    const failed = pod('c', { phase: 'Failed' });
    // a at 150% alone would ask ceil(1 × 3) = 3; with b as 0: (150 + 0)/2 = 75% → ceil(2 × 1.5) = 3.
    expect(resourceReplicas(2, [pod('a'), young, failed], [usage('a', 0.15), usage('b', 0.5), usage('c', 1)], cpu50, NOW).replicas).toBe(3);
    // An unready pod does not hold a scale-down back: it is left out.
    const notReady = pod('b', { ready: false, startedMinutes: 2 });
    expect(resourceReplicas(2, [pod('a'), notReady], [usage('a', 0.01), usage('b', 0)], cpu50, NOW).replicas).toBe(1);
  });

  it('reads one container of a ContainerResource metric', () => {
    const sidecar: ResourceMetric = { resource: 'cpu', container: 'main', target: { type: 'Utilization', averageUtilization: 50 } };
    const reading: PodUsage = { ...usage('a', 0.1), containers: [{ name: 'main', cpu: 0.1, memory: 0 }, { name: 'log', cpu: 5, memory: 0 }] };
    expect(resourceReplicas(1, [pod('a')], [reading], sidecar, NOW).replicas).toBe(2);
  });
});
