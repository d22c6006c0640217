import type { Node } from '@berth/api';
import type { HostPort, PodInfo } from './pod-info';
import { selects, type Selector } from './pod-terms';
import { addResources, nodeAllocatable, subtractResources, ZERO_RESOURCES, type Resources } from './resources';

/**
 * One node with the sum of what the pods on it (bound or assumed) request. Kept up to date incrementally
 * as pods come and go, so a scheduling decision costs O(nodes), not O(pods).
 *
 * Pods that succeeded here are kept apart: they hold no resources, ports or pod slots, but they still count
 * for pod (anti-)affinity. Kubernetes' scheduler forgets them (its informer skips Succeeded and Failed pods),
 * so a Job whose pod finished on a node can get a second pod there despite anti-affinity against itself;
 * berth counts them so that a one-per-node Job (compose's global-job) runs once per node, as Swarm does.
 * Failed pods count for nothing: a Job's replacement for one may go back to the same node.
 */
export class NodeInfo {
  private nodeObject?: Node;
  private allocatableCache: Resources = ZERO_RESOURCES;
  private requestedSum: Resources = ZERO_RESOURCES;
  private nonZeroSum: Resources = ZERO_RESOURCES;
  private readonly podsByKey = new Map<string, PodInfo>();
  private readonly ownerCounts = new Map<string, number>();
  private readonly succeededByKey = new Map<string, PodInfo>();
  /** Pods here (running or succeeded) with pod (anti-)affinity terms, and those with required anti-affinity. */
  private readonly withAffinity = new Map<string, PodInfo>();
  private readonly withRequiredAnti = new Map<string, PodInfo>();
  /** Every pod here (running or succeeded) by each of its labels, `key=value`: selectors look up, not scan. */
  private readonly byLabel = new Map<string, Set<PodInfo>>();
  /** The node's labels as a map: topology lookups run for every node of every attempt. */
  private labels = new Map<string, string>();

  constructor(readonly name: string) {}

  get node(): Node | undefined {
    return this.nodeObject;
  }

  setNode(node: Node | undefined): void {
    this.nodeObject = node;
    this.labels = new Map(Object.entries(node?.metadata.labels ?? {}));
    this.allocatableCache = node ? nodeAllocatable(node) : ZERO_RESOURCES;
  }

  /** The value of one of the node's labels, undefined when it has none. */
  label(key: string): string | undefined {
    return this.labels.get(key);
  }

  get allocatable(): Resources {
    return this.allocatableCache;
  }

  /** Requests of the pods here; `pods` is their number. */
  get requested(): Resources {
    return this.requestedSum;
  }

  get nonZeroRequested(): Resources {
    return this.nonZeroSum;
  }

  get podCount(): number {
    return this.podsByKey.size;
  }

  get pods(): Iterable<PodInfo> {
    return this.podsByKey.values();
  }

  /** Every pod that counts for pod (anti-)affinity: those holding room here and those that succeeded here. */
  *affinityPods(): Iterable<PodInfo> {
    yield* this.podsByKey.values();
    yield* this.succeededByKey.values();
  }

  /**
   * The pods here the selector selects, succeeded ones only when asked. A selector requiring some label value
   * (matchLabels, or In with one value) looks only at the pods carrying the rarest of them.
   */
  *podsSelectedBy(selector: Selector, withSucceeded: boolean): Iterable<PodInfo> {
    if (selector === null) return;
    let candidates: Iterable<PodInfo> | undefined;
    let fewest = Infinity;
    for (const requirement of selector) {
      if ((requirement.operator !== '=' && requirement.operator !== 'in') || requirement.values.length !== 1) continue;
      const pods = this.byLabel.get(`${requirement.key}=${requirement.values[0]}`);
      if (!pods) return;
      if (pods.size < fewest) [candidates, fewest] = [pods, pods.size];
    }
    for (const pod of candidates ?? this.affinityPods()) {
      if ((withSucceeded || !pod.succeeded) && selects(selector, pod.pod.metadata.labels)) yield pod;
    }
  }

  get podsWithAffinity(): Iterable<PodInfo> {
    return this.withAffinity.values();
  }

  get podsWithRequiredAntiAffinity(): Iterable<PodInfo> {
    return this.withRequiredAnti.values();
  }

  *usedHostPorts(): Iterable<HostPort> {
    for (const pod of this.podsByKey.values()) yield* pod.hostPorts;
  }

  /** How many pods here the given controller owns. */
  podsOwnedBy(ownerUid: string): number {
    return this.ownerCounts.get(ownerUid) ?? 0;
  }

  hasPod(key: string): boolean {
    return this.podsByKey.has(key) || this.succeededByKey.has(key);
  }

  addPod(pod: PodInfo): void {
    this.removePod(pod.key);
    for (const label of labelPairs(pod)) {
      let pods = this.byLabel.get(label);
      if (!pods) this.byLabel.set(label, (pods = new Set()));
      pods.add(pod);
    }
    if (pod.affinity) this.withAffinity.set(pod.key, pod);
    if (pod.affinity?.requiredAnti.length) this.withRequiredAnti.set(pod.key, pod);
    if (pod.succeeded) {
      this.succeededByKey.set(pod.key, pod);
      return;
    }
    this.podsByKey.set(pod.key, pod);
    this.requestedSum = addResources(this.requestedSum, pod.requests);
    this.nonZeroSum = addResources(this.nonZeroSum, pod.nonZeroRequests);
    if (pod.ownerUid) this.ownerCounts.set(pod.ownerUid, this.podsOwnedBy(pod.ownerUid) + 1);
  }

  removePod(key: string): PodInfo | undefined {
    this.withAffinity.delete(key);
    this.withRequiredAnti.delete(key);
    const known = this.podsByKey.get(key) ?? this.succeededByKey.get(key);
    for (const label of known ? labelPairs(known) : []) {
      const pods = this.byLabel.get(label);
      pods?.delete(known!);
      if (pods?.size === 0) this.byLabel.delete(label);
    }
    const succeeded = this.succeededByKey.get(key);
    if (succeeded) {
      this.succeededByKey.delete(key);
      return succeeded;
    }
    const pod = this.podsByKey.get(key);
    if (!pod) return undefined;
    this.podsByKey.delete(key);
    this.requestedSum = subtractResources(this.requestedSum, pod.requests);
    this.nonZeroSum = subtractResources(this.nonZeroSum, pod.nonZeroRequests);
    if (pod.ownerUid) {
      const left = this.podsOwnedBy(pod.ownerUid) - 1;
      if (left > 0) this.ownerCounts.set(pod.ownerUid, left);
      else this.ownerCounts.delete(pod.ownerUid);
    }
    return pod;
  }

  /** Neither a node object nor pods: nothing worth keeping. */
  get isEmpty(): boolean {
    return !this.nodeObject && this.podsByKey.size === 0 && this.succeededByKey.size === 0;
  }
}

function labelPairs(pod: PodInfo): string[] {
  return Object.entries(pod.pod.metadata.labels ?? {}).map(([key, value]) => `${key}=${value}`);
}
