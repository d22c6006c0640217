/**
 * Kubernetes' HPA replica calculator (pkg/controller/podautoscaler/replica_calculator.go) for resource
 * metrics: how many replicas the pods' CPU or memory use asks for. Pure: the pods, their usage and the
 * time come in as arguments.
 */
import { parseQuantity, type Pod, type MetricTarget } from '@berth/api';

/** Kubernetes' --horizontal-pod-autoscaler-tolerance: a usage ratio within 10% of 1 changes nothing. */
export const TOLERANCE = 0.1;
/** --horizontal-pod-autoscaler-cpu-initialization-period: a pod this young may still be warming up. */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
/** --horizontal-pod-autoscaler-initial-readiness-delay: readiness flapping this soon after start is ignored. */
export const INITIAL_READINESS_DELAY_MS = 30_000;

/** One pod's reading from the metrics API: when it was taken, over which window, and each container's use. */
export interface PodUsage {
  name: string;
  timestamp: number;
  windowMs: number;
  /** Per container: cpu in cores, memory in bytes. */
  containers: Array<{ name: string; cpu: number; memory: number }>;
}

export type ResourceName = 'cpu' | 'memory';

/** Which use a metric reads: a resource of the whole pod or of one of its containers. */
export interface ResourceMetric {
  resource: ResourceName;
  container?: string;
  target: MetricTarget;
}

export interface ReplicaProposal {
  replicas: number;
  /** The pods' average use in percent of their requests (Utilization targets). */
  utilization?: number;
  /** The pods' average use in the resource's unit (cores or bytes). */
  averageValue: number;
  /** When the readings were taken (the oldest), for status. */
  timestamp: number;
}

/** Why no count could be computed: a condition and an event say it. */
export class MetricsUnavailable extends Error {}

function usageOf(usage: PodUsage, metric: ResourceMetric): number | undefined {
  const containers = metric.container ? usage.containers.filter((c) => c.name === metric.container) : usage.containers;
  if (metric.container && containers.length === 0) return undefined;
  return containers.reduce((sum, c) => sum + (metric.resource === 'cpu' ? c.cpu : c.memory), 0);
}

/** A pod's request of the resource (summed over its containers, or the one named); throws if one has none. */
function requestOf(pod: Pod, metric: ResourceMetric): number {
  const containers = (pod.spec?.containers ?? []).filter((c) => !metric.container || c.name === metric.container);
  let total = 0;
  for (const container of containers) {
    const request = container.resources?.requests?.[metric.resource];
    if (request === undefined) {
      throw new MetricsUnavailable(`missing request for ${metric.resource} in container ${container.name} of Pod ${pod.metadata.name}`);
    }
    total += parseQuantity(request);
  }
  return total;
}

function readyCondition(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

type PodGroup = 'ready' | 'unready' | 'missing' | 'ignored';

/**
 * Kubernetes' groupPods: deleted and failed pods are ignored; pending pods, and for CPU pods not yet past
 * their start-up (not ready, or measured before they became ready), are unready; pods without a reading are missing.
 */
function groupOf(pod: Pod, usage: PodUsage | undefined, resource: ResourceName, now: number): PodGroup {
  if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Failed') return 'ignored';
  if (pod.status?.phase === 'Pending') return 'unready';
  if (!usage) return 'missing';
  if (resource !== 'cpu') return 'ready';
  const condition = readyCondition(pod);
  if (!condition) return 'unready';
  const started = Date.parse(pod.status?.startTime ?? '');
  if (Number.isNaN(started)) return 'unready';
  const transition = Date.parse(condition.lastTransitionTime ?? '');
  if (started + CPU_INITIALIZATION_PERIOD_MS > now) {
    // Young pods: the reading must be of a ready pod, taken after it became ready.
    return condition.status === 'False' || Number.isNaN(transition) || usage.timestamp < transition + usage.windowMs ? 'unready' : 'ready';
  }
  // Older pods: unready only if they never became ready since their start.
  return condition.status === 'False' && !Number.isNaN(transition) && started + INITIAL_READINESS_DELAY_MS > transition ? 'unready' : 'ready';
}

/** The target's value in the resource's unit (AverageValue), or undefined for Utilization targets. */
function averageValueTarget(target: MetricTarget): number | undefined {
  return target.type === 'AverageValue' && target.averageValue !== undefined ? parseQuantity(target.averageValue) : undefined;
}

/**
 * The replicas a resource metric asks for (Kubernetes' GetResourceReplicas / GetRawResourceReplicas):
 * desired = ceil(ready pods × usage / target), unchanged within the tolerance; pods without readings count
 * as at their request when scaling down and as idle when scaling up, unready pods as idle when scaling up,
 * and a change that this reverses, or that goes the other way, is dropped.
 */
export function resourceReplicas(currentReplicas: number, pods: Pod[], readings: PodUsage[], metric: ResourceMetric, now: number, tolerance = TOLERANCE): ReplicaProposal {
  if (pods.length === 0) throw new MetricsUnavailable('no pods returned by selector while calculating replica count');
  const byName = new Map(readings.map((r) => [r.name, r]));
  const usage = new Map<string, number>();
  const unready: Pod[] = [];
  const missing: Pod[] = [];
  let timestamp = Infinity;
  for (const pod of pods) {
    const reading = byName.get(pod.metadata.name!);
    const value = reading ? usageOf(reading, metric) : undefined;
    const group = groupOf(pod, value === undefined ? undefined : reading, metric.resource, now);
    if (group === 'ignored') continue;
    if (group === 'unready') unready.push(pod);
    else if (group === 'missing') missing.push(pod);
    else {
      usage.set(pod.metadata.name!, value!);
      timestamp = Math.min(timestamp, reading!.timestamp);
    }
  }
  if (usage.size === 0) throw new MetricsUnavailable('did not receive metrics for targeted pods (pods might be unready)');
  const counted = [...usage.keys()];
  const readyCount = counted.length;
  const valueTarget = averageValueTarget(metric.target);
  const requests = new Map<string, number>();
  if (valueTarget === undefined) for (const pod of pods) requests.set(pod.metadata.name!, requestOf(pod, metric));
  const targetUtilization = metric.target.averageUtilization ?? 0;

  /** The ratio of use to target over the pods that have a reading, and the averages for status. */
  const ratioOver = (values: Map<string, number>) => {
    const total = [...values.values()].reduce((a, b) => a + b, 0);
    const averageValue = total / values.size;
    if (valueTarget !== undefined) return { ratio: averageValue / valueTarget, averageValue, utilization: undefined };
    const requested = [...values.keys()].reduce((sum, name) => sum + (requests.get(name) ?? 0), 0);
    if (requested <= 0) throw new MetricsUnavailable(`no ${metric.resource} requests to compare the use with`);
    const utilization = (total * 100) / requested;
    return { ratio: utilization / targetUtilization, averageValue, utilization };
  };

  const first = ratioOver(usage);
  const proposal = (replicas: number): ReplicaProposal => ({
    replicas,
    averageValue: first.averageValue,
    ...(first.utilization !== undefined ? { utilization: Math.trunc(first.utilization) } : {}),
    timestamp,
  });
  const scaleUpWithUnready = unready.length > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && missing.length === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return proposal(currentReplicas);
    return proposal(Math.ceil(first.ratio * readyCount));
  }

  // Fill in the pods without a usable reading in the way least likely to cause a change.
  const filled = new Map(usage);
  for (const pod of missing) {
    const name = pod.metadata.name!;
    if (first.ratio < 1) {
      // Scaling down: take them to be at their request (or at the target, if higher).
      filled.set(name, valueTarget ?? ((requests.get(name) ?? 0) * Math.max(100, targetUtilization)) / 100);
    } else {
      filled.set(name, 0);
    }
  }
  if (scaleUpWithUnready) for (const pod of unready) filled.set(pod.metadata.name!, 0);
  const second = ratioOver(filled);
  if (Math.abs(1 - second.ratio) <= tolerance || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) {
    return proposal(currentReplicas);
  }
  const replicas = Math.ceil(second.ratio * filled.size);
  if ((second.ratio < 1 && replicas > currentReplicas) || (second.ratio > 1 && replicas < currentReplicas)) return proposal(currentReplicas);
  return proposal(replicas);
}
