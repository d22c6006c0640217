import type { NodeInfo } from './node-info';
import type { PodInfo } from './pod-info';

/**
 * A plugin that needs the whole cluster, not one node: Kubernetes' PreFilter/PreScore. `prepare` runs once
 * per scheduling attempt over every node (counting the pods that matter by topology domain), so that the
 * per-node filter and the score are lookups, not a pass over every pod for every node. It answers undefined
 * when the pod asks nothing of it (then it costs nothing more).
 */
export interface ClusterPlugin {
  name: string;
  /** The weight of its score among the score plugins'. */
  weight: number;
  prepare(pod: PodInfo, nodes: readonly NodeInfo[]): PreparedPlugin | undefined;
}

export interface PreparedPlugin {
  /** The reasons this node does not fit (worded as Kubernetes), none when it does. Runs after the other filters. */
  filter?(node: NodeInfo): readonly string[];
  /** Scores for the nodes that passed every filter, 0..MAX_NODE_SCORE. */
  score?(nodes: readonly NodeInfo[]): number[];
}

/** The value of a node's topology label, undefined when it has none. */
export function topologyValue(node: NodeInfo, key: string): string | undefined {
  return node.label(key);
}

/** Counts per topology domain (topology key and value), keyed `key\0value`. */
export class TopologyCounts {
  private readonly counts = new Map<string, number>();

  static pair(key: string, value: string): string {
    return `${key}\0${value}`;
  }

  add(key: string, value: string, by: number): void {
    const pair = TopologyCounts.pair(key, value);
    this.counts.set(pair, (this.counts.get(pair) ?? 0) + by);
  }

  get(key: string, value: string | undefined): number {
    return value === undefined ? 0 : this.counts.get(TopologyCounts.pair(key, value)) ?? 0;
  }

  get size(): number {
    return this.counts.size;
  }
}
