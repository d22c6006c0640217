/**
 * Kubernetes' HPA scaling behavior (normalizeDesiredReplicasWithBehaviors in horizontal.go): a stabilisation
 * window over recent recommendations, then the scale-up and scale-down rate policies over recent scale events,
 * then minReplicas/maxReplicas. The history is kept per autoscaler in memory, as Kubernetes keeps it; the
 * clock is an argument.
 */
import type { HPAScalingRules } from '@berth/api';

export interface Recommendation {
  at: number;
  replicas: number;
}

export interface ScaleEvent {
  at: number;
  change: number;
}

/** What one autoscaler remembers between syncs. */
export interface ScalingHistory {
  recommendations: Recommendation[];
  scaleUps: ScaleEvent[];
  scaleDowns: ScaleEvent[];
}

export function emptyHistory(): ScalingHistory {
  return { recommendations: [], scaleUps: [], scaleDowns: [] };
}

export interface ScalingInput {
  scaleUp: Required<HPAScalingRules>;
  scaleDown: Required<HPAScalingRules>;
  minReplicas: number;
  maxReplicas: number;
  currentReplicas: number;
  /** What the metrics ask for. */
  desiredReplicas: number;
}

export interface ConditionNote {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface ScalingDecision {
  replicas: number;
  /** The AbleToScale condition the stabilisation leaves. */
  ableToScale: ConditionNote;
  /** The ScalingLimited condition the rates and bounds leave. */
  scalingLimited: ConditionNote;
}

/**
 * The stabilised recommendation: scaling up goes to the lowest recommendation of the scale-up window,
 * scaling down to the highest of the scale-down window. Records this recommendation in the history.
 */
export function stabilize(history: ScalingHistory, input: ScalingInput, now: number): { replicas: number; up: boolean } {
  const up = input.desiredReplicas >= input.currentReplicas;
  const windowMs = (up ? input.scaleUp : input.scaleDown).stabilizationWindowSeconds * 1000;
  const keepMs = Math.max(input.scaleUp.stabilizationWindowSeconds, input.scaleDown.stabilizationWindowSeconds) * 1000;
  const better = up ? Math.min : Math.max;
  let replicas = input.desiredReplicas;
  for (const r of history.recommendations) if (r.at > now - windowMs) replicas = better(replicas, r.replicas);
  history.recommendations = history.recommendations.filter((r) => r.at >= now - keepMs);
  history.recommendations.push({ at: now, replicas: input.desiredReplicas });
  return { replicas, up };
}

function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  return events.filter((e) => e.at > now - periodSeconds * 1000).reduce((sum, e) => sum + e.change, 0);
}

/** The most replicas the scale-up policies allow now (Kubernetes' calculateScaleUpLimitWithScalingRules). */
export function scaleUpLimit(current: number, history: ScalingHistory, rules: Required<HPAScalingRules>, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
  let result = rules.selectPolicy === 'Min' ? Infinity : -Infinity;
  for (const policy of rules.policies) {
    const periodStart = current - changeInPeriod(history.scaleUps, policy.periodSeconds, now) + changeInPeriod(history.scaleDowns, policy.periodSeconds, now);
    const proposed = policy.type === 'Pods' ? periodStart + policy.value : Math.ceil(periodStart * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** The fewest replicas the scale-down policies allow now (Kubernetes' calculateScaleDownLimitWithBehaviors). */
export function scaleDownLimit(current: number, history: ScalingHistory, rules: Required<HPAScalingRules>, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
  let result = rules.selectPolicy === 'Min' ? -Infinity : Infinity;
  for (const policy of rules.policies) {
    const periodStart = current - changeInPeriod(history.scaleUps, policy.periodSeconds, now) + changeInPeriod(history.scaleDowns, policy.periodSeconds, now);
    const proposed = policy.type === 'Pods' ? periodStart - policy.value : Math.trunc(periodStart * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** The count to set: stabilised, then held to the rate policies and to minReplicas..maxReplicas. */
export function normalizeWithBehavior(history: ScalingHistory, input: ScalingInput, now: number): ScalingDecision {
  const stabilized = stabilize(history, input, now);
  const ableToScale: ConditionNote =
    stabilized.replicas !== input.desiredReplicas
      ? stabilized.up
        ? { status: 'True', reason: 'ScaleUpStabilized', message: 'recent recommendations were lower than current one, applying the lowest recent recommendation' }
        : { status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' }
      : { status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
  const { currentReplicas: current } = input;
  let replicas = stabilized.replicas;
  let limited: ConditionNote = { status: 'False', reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
  if (replicas > current) {
    const limit = Math.max(scaleUpLimit(current, history, input.scaleUp, now), current);
    const allowed = Math.min(input.maxReplicas, limit);
    if (replicas > allowed) {
      replicas = allowed;
      limited =
        input.maxReplicas > limit
          ? { status: 'True', reason: 'ScaleUpLimit', message: 'the desired replica count is increasing faster than the maximum scale rate' }
          : { status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
    }
  } else if (replicas < current) {
    const limit = Math.min(scaleDownLimit(current, history, input.scaleDown, now), current);
    const allowed = Math.max(input.minReplicas, limit);
    if (replicas < allowed) {
      replicas = allowed;
      limited =
        input.minReplicas < limit
          ? { status: 'True', reason: 'ScaleDownLimit', message: 'the desired replica count is decreasing faster than the maximum scale rate' }
          : { status: 'True', reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
    }
  }
  return { replicas, ableToScale, scalingLimited: limited };
}

/** Notes a rescale for the rate policies; forgets events older than the longest policy period. */
export function recordScale(history: ScalingHistory, from: number, to: number, input: Pick<ScalingInput, 'scaleUp' | 'scaleDown'>, now: number): void {
  const longest = (rules: Required<HPAScalingRules>) => Math.max(0, ...rules.policies.map((p) => p.periodSeconds)) * 1000;
  history.scaleUps = history.scaleUps.filter((e) => e.at > now - longest(input.scaleUp));
  history.scaleDowns = history.scaleDowns.filter((e) => e.at > now - longest(input.scaleDown));
  if (to > from) history.scaleUps.push({ at: now, change: to - from });
  else if (to < from) history.scaleDowns.push({ at: now, change: from - to });
}
