import type { ClusterPlugin, PreparedPlugin } from './cluster-plugin';
import { DEFAULT_FILTERS, type Filter } from './filters';
import { interPodAffinityPlugin } from './inter-pod-affinity';
import type { NodeInfo } from './node-info';
import type { PodInfo } from './pod-info';
import { DEFAULT_SCORE_PLUGINS, pickHighest, totalScores, type ScorePlugin } from './scores';
import { podTopologySpreadPlugin } from './topology-spread';

/** In Kubernetes' order: their filters run after every node-local filter. */
export const DEFAULT_CLUSTER_PLUGINS: readonly ClusterPlugin[] = [podTopologySpreadPlugin, interPodAffinityPlugin()];

export interface Placement {
  nodeName: string;
}

export interface NoFit {
  /** How many nodes failed for each reason. */
  reasons: Map<string, number>;
  nodeCount: number;
  /** Kubernetes' wording: `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match ....` */
  message: string;
}

export interface Algorithm {
  filters?: readonly Filter[];
  scorePlugins?: readonly ScorePlugin[];
  /** Plugins that look at the whole cluster once per pod: pod (anti-)affinity and topology spread by default. */
  clusterPlugins?: readonly ClusterPlugin[];
  random?: () => number;
}

export function noFitMessage(nodeCount: number, reasons: ReadonlyMap<string, number>): string {
  if (nodeCount === 0) return 'no nodes available to schedule pods';
  // Kubernetes sorts the "<count> <reason>" strings themselves.
  const parts = [...reasons].map(([reason, count]) => `${count} ${reason}`).sort();
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
}

/** The reasons a node does not fit: those of the first filter it fails, none when it fits. */
export function filterNode(pod: PodInfo, node: NodeInfo, filters: readonly Filter[] = DEFAULT_FILTERS): readonly string[] {
  for (const filter of filters) {
    const reasons = filter(pod, node);
    if (reasons.length > 0) return reasons;
  }
  return [];
}

/** Filters every node, scores the ones that fit and picks the best; or says why none fits. */
export function placePod(pod: PodInfo, nodes: Iterable<NodeInfo>, algorithm: Algorithm = {}): Placement | NoFit {
  const all = [...nodes];
  const prepared: Array<{ plugin: ClusterPlugin; prepared: PreparedPlugin }> = [];
  for (const plugin of algorithm.clusterPlugins ?? DEFAULT_CLUSTER_PLUGINS) {
    const ready = plugin.prepare(pod, all);
    if (ready) prepared.push({ plugin, prepared: ready });
  }
  const filters = algorithm.filters ?? DEFAULT_FILTERS;
  const clusterFilters = prepared.flatMap(({ prepared }) => (prepared.filter ? [prepared.filter] : []));
  const feasible: NodeInfo[] = [];
  const reasons = new Map<string, number>();
  for (const node of all) {
    let failures = filterNode(pod, node, filters);
    for (let i = 0; failures.length === 0 && i < clusterFilters.length; i++) failures = clusterFilters[i](node);
    if (failures.length === 0) feasible.push(node);
    for (const reason of failures) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  if (feasible.length === 0) return { reasons, nodeCount: all.length, message: noFitMessage(all.length, reasons) };
  if (feasible.length === 1) return { nodeName: feasible[0].name };
  const totals = totalScores(pod, feasible, algorithm.scorePlugins ?? DEFAULT_SCORE_PLUGINS);
  for (const { plugin, prepared: ready } of prepared) {
    ready.score?.(feasible).forEach((score, i) => (totals[i] += plugin.weight * score));
  }
  return { nodeName: feasible[pickHighest(totals, algorithm.random)].name };
}

export function isPlacement(result: Placement | NoFit): result is Placement {
  return 'nodeName' in result;
}
