/**
 * What the eviction subresource (apiserver) and the disruption controller (controller-manager) must agree on:
 * which pods a PodDisruptionBudget covers, which of them count as healthy, and how its numbers come out.
 */
import type { PodDisruptionBudget } from './types';
import type { Pod } from '../../core/pod/types';
import { matchesLabels, requirementsOfSelector } from '../../../selectors';

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** Healthy for a budget: ready and not on its way out (Kubernetes' disruption controller counts these). */
export function isPodHealthy(pod: Pod): boolean {
  return isPodReady(pod) && !pod.metadata.deletionTimestamp;
}

/**
 * Whether the budget covers the pod: same namespace and its selector matches. In policy/v1 an empty
 * selector covers every pod of the namespace, an absent one none; a malformed one (validation refuses
 * them, so only stored before) none.
 */
export function budgetSelectsPod(pdb: PodDisruptionBudget, pod: Pod): boolean {
  if (pdb.metadata.namespace !== pod.metadata.namespace) return false;
  const selector = pdb.spec?.selector;
  if (selector === undefined || selector === null) return false;
  try {
    return matchesLabels(requirementsOfSelector(selector), pod.metadata.labels);
  } catch {
    return false;
  }
}

/**
 * An int-or-percent against total, percentages rounded up or down, as Kubernetes'
 * GetScaledValueFromIntOrPercent; undefined when the value is neither.
 */
export function scaledIntOrPercent(value: number | string, total: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(value);
  if (!match) return /^\d+$/.test(value) ? Number(value) : undefined;
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** A budget's int-or-percent, rounded up as the disruption controller does; a malformed one (refused by validation) is 0. */
function scaledValue(value: number | string, total: number): number {
  return scaledIntOrPercent(value, total, true) ?? 0;
}

/** Whether the budget's numbers depend on the desired scale of the pods' controllers, not on the pods found. */
export function budgetNeedsScale(pdb: PodDisruptionBudget): boolean {
  const { minAvailable, maxUnavailable } = pdb.spec ?? {};
  if (maxUnavailable !== undefined && maxUnavailable !== null) return true;
  return typeof minAvailable === 'string' && minAvailable.endsWith('%');
}

/**
 * expectedPods and desiredHealthy, as Kubernetes' getExpectedPodCount: an integer minAvailable counts
 * the pods found; a percentage or maxUnavailable counts the desired scale of their controllers.
 */
export function budgetTargets(pdb: PodDisruptionBudget, podsFound: number, desiredScale: number): { expectedPods: number; desiredHealthy: number } {
  const { minAvailable, maxUnavailable } = pdb.spec ?? {};
  if (maxUnavailable !== undefined && maxUnavailable !== null) {
    return { expectedPods: desiredScale, desiredHealthy: Math.max(0, desiredScale - scaledValue(maxUnavailable, desiredScale)) };
  }
  if (minAvailable !== undefined && minAvailable !== null) {
    if (typeof minAvailable === 'string' && minAvailable.endsWith('%')) {
      return { expectedPods: desiredScale, desiredHealthy: scaledValue(minAvailable, desiredScale) };
    }
    return { expectedPods: podsFound, desiredHealthy: scaledValue(minAvailable, podsFound) };
  }
  return { expectedPods: podsFound, desiredHealthy: 0 };
}
