import { isPodReady, type Pod, type PodCondition, type PodPhase } from '@berth/api';

export { isPodReady };

/** Pods that still count toward a controller's replicas: not finished and not on their way out. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function readyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

/** When the pod became ready, in ms since the epoch; undefined when it is not ready. */
function readySince(pod: Pod): number | undefined {
  const condition = readyCondition(pod);
  if (condition?.status !== 'True') return undefined;
  const at = condition.lastTransitionTime ? Date.parse(condition.lastTransitionTime) : NaN;
  return Number.isNaN(at) ? 0 : at;
}

/** Ready for at least minReadySeconds (Kubernetes' IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const since = readySince(pod);
  if (since === undefined) return false;
  return minReadySeconds <= 0 || since + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available; undefined if it is not ready or already available. */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  const since = readySince(pod);
  if (since === undefined || minReadySeconds <= 0) return undefined;
  const wait = since + minReadySeconds * 1000 - now;
  return wait > 0 ? wait : undefined;
}

function restarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((max, s) => Math.max(max, s.restartCount ?? 0), 0);
}

const PHASE_RANK: Partial<Record<PodPhase, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function timeOf(value: string | undefined): number {
  const at = value ? Date.parse(value) : NaN;
  return Number.isNaN(at) ? 0 : at;
}

/**
 * Orders pods least valuable first, the ones to delete when scaling down (Kubernetes' ActivePods order):
 * unscheduled before scheduled, pending before unknown before running, not ready before ready, ready for
 * a shorter time first, more restarts first, newer first.
 */
export function compareByDeletionPreference(a: Pod, b: Pod): number {
  const scheduled = Number(!!a.spec?.nodeName) - Number(!!b.spec?.nodeName);
  if (scheduled) return scheduled;
  const phase = (PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0) - (PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0);
  if (phase) return phase;
  const aReady = readySince(a);
  const bReady = readySince(b);
  if ((aReady !== undefined) !== (bReady !== undefined)) return aReady === undefined ? -1 : 1;
  if (aReady !== undefined && bReady !== undefined && aReady !== bReady) return bReady - aReady;
  const restartOrder = restarts(b) - restarts(a);
  if (restartOrder) return restartOrder;
  return timeOf(b.metadata.creationTimestamp) - timeOf(a.metadata.creationTimestamp);
}

/** The count pods least worth keeping, in deletion order. */
export function podsToDelete(pods: Pod[], count: number): Pod[] {
  return [...pods].sort(compareByDeletionPreference).slice(0, Math.max(0, count));
}
