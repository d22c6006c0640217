import type { Node, Pod, Taint, Toleration } from '@berth/api';
import type { NodeInfo } from './node-info';
import type { PodInfo } from './pod-info';
import { nodeSelectorTermMatches, tolerationsTolerate } from './filters';

export const MAX_NODE_SCORE = 100;

/** Scores every feasible node for a pod from 0 (worst) to MAX_NODE_SCORE, normalised across the candidates. */
export interface ScorePlugin {
  name: string;
  weight: number;
  score(pod: PodInfo, nodes: readonly NodeInfo[]): number[];
}

/** The share of one resource left free after placing the pod, 0..100 (0 when the node offers none). */
export function freeShareScore(requested: number, allocatable: number): number {
  if (allocatable <= 0 || requested >= allocatable) return 0;
  return ((allocatable - requested) * MAX_NODE_SCORE) / allocatable;
}

/** Least allocated: the mean free share of cpu and memory once the pod is added (Kubernetes' default strategy). */
export function leastAllocatedScore(pod: PodInfo, node: NodeInfo): number {
  const requested = node.nonZeroRequested;
  const cpu = freeShareScore(requested.milliCpu + pod.nonZeroRequests.milliCpu, node.allocatable.milliCpu);
  const memory = freeShareScore(requested.memory + pod.nonZeroRequests.memory, node.allocatable.memory);
  return Math.floor((cpu + memory) / 2);
}

/** Fewer counted things score higher: 100 for the least loaded, 0 for the most (all 100 when every count is 0). */
export function inverseCountScores(counts: readonly number[]): number[] {
  const max = Math.max(0, ...counts);
  return counts.map((count) => (max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max - count)) / max)));
}

/** More is better: the largest value scores 100, the others in proportion (all 0 when every value is 0). */
export function proportionalScores(values: readonly number[]): number[] {
  const max = Math.max(0, ...values);
  return values.map((value) => (max === 0 ? 0 : Math.floor((MAX_NODE_SCORE * Math.max(0, value)) / max)));
}

/** The summed weights of the pod's preferred node affinity terms that the node matches. */
export function preferredAffinityWeight(pod: Pod, node: Node): number {
  const preferred = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  return preferred.reduce((sum, term) => sum + (term.weight && nodeSelectorTermMatches(term.preference, node) ? term.weight : 0), 0);
}

export function untoleratedPreferNoScheduleCount(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[]): number {
  const preferTolerations = tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
  return (taints ?? []).filter((taint) => taint.effect === 'PreferNoSchedule' && !tolerationsTolerate(preferTolerations, taint)).length;
}

export const leastAllocatedPlugin: ScorePlugin = {
  name: 'LeastAllocated',
  weight: 1,
  score: (pod, nodes) => nodes.map((node) => leastAllocatedScore(pod, node)),
};

/** Siblings (pods with the same controller) go to the nodes with the fewest of them. */
export const ownerSpreadPlugin: ScorePlugin = {
  name: 'OwnerSpread',
  weight: 2,
  score: (pod, nodes) => (pod.ownerUid ? inverseCountScores(nodes.map((node) => node.podsOwnedBy(pod.ownerUid!))) : nodes.map(() => MAX_NODE_SCORE)),
};

/** PreferNoSchedule taints are avoided when there is a choice, but never block. */
export const preferNoSchedulePlugin: ScorePlugin = {
  name: 'PreferNoSchedule',
  weight: 1,
  score: (pod, nodes) => inverseCountScores(nodes.map((node) => untoleratedPreferNoScheduleCount(node.node?.spec?.taints, pod.tolerations))),
};

/** preferredDuringSchedulingIgnoredDuringExecution: nodes matching heavier preferences score higher. */
export const preferredNodeAffinityPlugin: ScorePlugin = {
  name: 'PreferredNodeAffinity',
  weight: 2,
  score: (pod, nodes) => proportionalScores(nodes.map((node) => (node.node ? preferredAffinityWeight(pod.pod, node.node) : 0))),
};

export const DEFAULT_SCORE_PLUGINS: readonly ScorePlugin[] = [leastAllocatedPlugin, ownerSpreadPlugin, preferNoSchedulePlugin, preferredNodeAffinityPlugin];

/** Weighted sum of every plugin's scores, one total per node. */
export function totalScores(pod: PodInfo, nodes: readonly NodeInfo[], plugins: readonly ScorePlugin[]): number[] {
  const totals = nodes.map(() => 0);
  for (const plugin of plugins) {
    plugin.score(pod, nodes).forEach((score, i) => (totals[i] += plugin.weight * score));
  }
  return totals;
}

/** The index of the highest total, a tie broken uniformly at random (reservoir sampling over the tied ones). */
export function pickHighest(totals: readonly number[], random: () => number = Math.random): number {
  let best = -1;
  let ties = 0;
  for (let i = 0; i < totals.length; i++) {
    if (best < 0 || totals[i] > totals[best]) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best]) {
      ties++;
      if (random() * ties < 1) best = i;
    }
  }
  return best;
}
