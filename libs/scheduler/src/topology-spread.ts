import { TopologyCounts, topologyValue, type ClusterPlugin, type PreparedPlugin } from './cluster-plugin';
import { firstUntoleratedTaint, podMatchesNode } from './filters';
import type { NodeInfo } from './node-info';
import type { PodInfo } from './pod-info';
import { selects, type SpreadConstraint } from './pod-terms';
import { MAX_NODE_SCORE } from './scores';

export const REASON_SPREAD = "node(s) didn't match pod topology spread constraints";
export const REASON_SPREAD_MISSING_LABEL = `${REASON_SPREAD} (missing required label)`;

const NONE: readonly string[] = [];

const hasAllKeys = (node: NodeInfo, constraints: readonly SpreadConstraint[]) => constraints.every((c) => topologyValue(node, c.topologyKey) !== undefined);

/** nodeAffinityPolicy / nodeTaintsPolicy: whether the pods on this node count for the constraint. */
function nodeCounts(pod: PodInfo, node: NodeInfo, constraint: SpreadConstraint): boolean {
  if (constraint.honorNodeAffinity && !(node.node && podMatchesNode(pod.pod, node.node))) return false;
  return !constraint.honorTaints || !firstUntoleratedTaint(node.node?.spec?.taints, pod.tolerations, ['NoSchedule', 'NoExecute']);
}

/** The pods on a node the constraint selects: the pod's namespace, not terminating, not finished. */
function matchingPods(pod: PodInfo, node: NodeInfo, constraint: SpreadConstraint): number {
  const namespace = pod.pod.metadata.namespace ?? 'default';
  let count = 0;
  for (const other of node.podsSelectedBy(constraint.selector, false)) {
    const meta = other.pod.metadata;
    if (other.key !== pod.key && !meta.deletionTimestamp && (meta.namespace ?? 'default') === namespace) count++;
  }
  return count;
}

/**
 * Matching pods per domain of each constraint, over the nodes that have every constraint's topology key (and
 * pass its node policies); `domains` only from `domainNodes`, counts from every node.
 */
function countDomains(pod: PodInfo, constraints: readonly SpreadConstraint[], domainNodes: readonly NodeInfo[], countNodes: readonly NodeInfo[], domainsNeedPolicies: boolean) {
  const counts = new TopologyCounts();
  const domains = constraints.map(() => new Set<string>());
  for (const node of domainNodes) {
    if (!hasAllKeys(node, constraints)) continue;
    constraints.forEach((c, i) => {
      if (!domainsNeedPolicies || nodeCounts(pod, node, c)) domains[i].add(topologyValue(node, c.topologyKey)!);
    });
  }
  for (const node of countNodes) {
    if (!hasAllKeys(node, constraints)) continue;
    constraints.forEach((c, i) => {
      const value = topologyValue(node, c.topologyKey)!;
      if (domains[i].has(value) && nodeCounts(pod, node, c)) counts.add(c.topologyKey, value, matchingPods(pod, node, c));
    });
  }
  return { counts, domains };
}

/** Kubernetes' PodTopologySpread filter (DoNotSchedule): placing the pod must keep each skew within maxSkew. */
function prepareFilter(pod: PodInfo, nodes: readonly NodeInfo[]): PreparedPlugin['filter'] {
  const constraints = pod.spread.filter((c) => c.hard);
  if (constraints.length === 0) return undefined;
  const { counts, domains } = countDomains(pod, constraints, nodes, nodes, true);
  // The global minimum per constraint; fewer domains than minDomains make it 0.
  const minimum = constraints.map((c, i) => (domains[i].size < c.minDomains ? 0 : Math.min(...[...domains[i]].map((value) => counts.get(c.topologyKey, value)))));
  const labels = pod.pod.metadata.labels;
  return (node) => {
    for (const [i, c] of constraints.entries()) {
      const value = topologyValue(node, c.topologyKey);
      if (value === undefined) return [REASON_SPREAD_MISSING_LABEL];
      const self = selects(c.selector, labels) ? 1 : 0;
      if (counts.get(c.topologyKey, value) + self - minimum[i] > c.maxSkew) return [REASON_SPREAD];
    }
    return NONE;
  };
}

/**
 * Kubernetes' PodTopologySpread score (ScheduleAnyway): per constraint, the matching pods in the node's domain
 * weighted by log(domains + 2), plus maxSkew - 1; fewer is better. Nodes missing a topology key score 0.
 */
function prepareScore(pod: PodInfo, nodes: readonly NodeInfo[]): PreparedPlugin['score'] {
  const constraints = pod.spread.filter((c) => !c.hard);
  if (constraints.length === 0) return undefined;
  return (candidates) => {
    const { counts, domains } = countDomains(pod, constraints, candidates, nodes, false);
    const weights = domains.map((d) => Math.log(d.size + 2));
    const raw = candidates.map((node) =>
      hasAllKeys(node, constraints)
        ? Math.round(constraints.reduce((sum, c, i) => sum + counts.get(c.topologyKey, topologyValue(node, c.topologyKey)) * weights[i] + (c.maxSkew - 1), 0))
        : undefined,
    );
    const scored = raw.filter((s): s is number => s !== undefined);
    const [min, max] = [Math.min(...scored), Math.max(...scored)];
    return raw.map((s) => (s === undefined ? 0 : max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max + min - s)) / max)));
  };
}

/** topologySpreadConstraints (Kubernetes' PodTopologySpread plugin), without Kubernetes' cluster-default constraints. */
export const podTopologySpreadPlugin: ClusterPlugin = {
  name: 'PodTopologySpread',
  weight: 2,
  prepare(pod, nodes) {
    const filter = prepareFilter(pod, nodes);
    const score = prepareScore(pod, nodes);
    return filter || score ? { filter, score } : undefined;
  },
};
