import { TopologyCounts, topologyValue, type ClusterPlugin, type PreparedPlugin } from './cluster-plugin';
import type { NodeInfo } from './node-info';
import type { PodInfo } from './pod-info';
import { termSelects, type AffinityTerm, type NamespaceLabels } from './pod-terms';
import { MAX_NODE_SCORE } from './scores';

export const REASON_POD_AFFINITY = "node(s) didn't match pod affinity rules";
export const REASON_POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";

/** What an existing pod's required affinity term adds to a node's score when it selects the incoming pod (Kubernetes' hardPodAffinityWeight). */
export const HARD_POD_AFFINITY_WEIGHT = 1;

const NONE: readonly string[] = [];
const UNKNOWN_NAMESPACES: NamespaceLabels = () => undefined;

function allSelect(terms: readonly AffinityTerm[], pod: PodInfo, namespaceLabels: NamespaceLabels): boolean {
  return terms.every((term) => termSelects(term, pod.pod, namespaceLabels));
}

/** Adds `weight` to the domain of `node` for each term that selects `pod`. */
function addTerms(counts: TopologyCounts, terms: readonly AffinityTerm[], pod: PodInfo, node: NodeInfo, weight: (term: AffinityTerm) => number, namespaceLabels: NamespaceLabels): void {
  for (const term of terms) {
    const value = topologyValue(node, term.topologyKey);
    if (value !== undefined && termSelects(term, pod.pod, namespaceLabels)) counts.add(term.topologyKey, value, weight(term));
  }
}

/** Kubernetes' InterPodAffinity filter: the pod's required (anti-)affinity, and that of the pods already placed against it. */
function prepareFilter(pod: PodInfo, nodes: readonly NodeInfo[], namespaceLabels: NamespaceLabels): PreparedPlugin['filter'] {
  const required = pod.affinity?.required ?? [];
  const requiredAnti = pod.affinity?.requiredAnti ?? [];
  // Existing pods whose required anti-affinity selects this pod keep it out of their domains (symmetry).
  const existingAnti = new TopologyCounts();
  for (const node of nodes) {
    for (const other of node.podsWithRequiredAntiAffinity) {
      if (other.key !== pod.key) addTerms(existingAnti, other.affinity!.requiredAnti, pod, node, () => 1, namespaceLabels);
    }
  }
  const affinity = new TopologyCounts();
  const anti = new TopologyCounts();
  for (const node of nodes) {
    // An affinity domain is one holding a pod that every required affinity term selects.
    if (required.length) {
      for (const other of node.podsSelectedBy(required[0].selector, true)) {
        if (other.key !== pod.key && allSelect(required, other, namespaceLabels)) addTerms(affinity, required, other, node, () => 1, namespaceLabels);
      }
    }
    for (const term of requiredAnti) {
      const value = topologyValue(node, term.topologyKey);
      if (value === undefined) continue;
      for (const other of node.podsSelectedBy(term.selector, true)) {
        if (other.key !== pod.key && termSelects(term, other.pod, namespaceLabels)) anti.add(term.topologyKey, value, 1);
      }
    }
  }
  if (existingAnti.size === 0 && required.length === 0 && requiredAnti.length === 0) return undefined;
  // The first pod of a group with affinity to itself may go anywhere its topology keys exist.
  const firstOfItsGroup = required.length > 0 && affinity.size === 0 && allSelect(required, pod, namespaceLabels);
  return (node) => {
    let affinityHolds = true;
    for (const term of required) {
      const value = topologyValue(node, term.topologyKey);
      if (value === undefined) return [REASON_POD_AFFINITY];
      if (affinity.get(term.topologyKey, value) <= 0) affinityHolds = false;
    }
    if (!affinityHolds && !firstOfItsGroup) return [REASON_POD_AFFINITY];
    for (const term of requiredAnti) {
      if (anti.get(term.topologyKey, topologyValue(node, term.topologyKey)) > 0) return [REASON_POD_ANTI_AFFINITY];
    }
    if (existingAnti.size > 0) {
      for (const [key, value] of Object.entries(node.node?.metadata.labels ?? {})) {
        if (existingAnti.get(key, value) > 0) return [REASON_EXISTING_ANTI_AFFINITY];
      }
    }
    return NONE;
  };
}

/**
 * Kubernetes' InterPodAffinity score: per topology domain, the weights of the pod's preferred terms selecting
 * pods there (anti-affinity subtracts), plus those of the placed pods' terms selecting this pod (their required
 * affinity counts HARD_POD_AFFINITY_WEIGHT); normalised to 0..100 between the lowest and highest node.
 */
function prepareScore(pod: PodInfo, nodes: readonly NodeInfo[], namespaceLabels: NamespaceLabels): PreparedPlugin['score'] {
  const preferred = pod.affinity?.preferred ?? [];
  const preferredAnti = pod.affinity?.preferredAnti ?? [];
  const ownPreferences = preferred.length > 0 || preferredAnti.length > 0;
  const domains = new TopologyCounts();
  const keys = new Set<string>();
  const add = (counts: TopologyCounts, terms: readonly AffinityTerm[], other: PodInfo, node: NodeInfo, weight: (t: AffinityTerm) => number, labels: NamespaceLabels) => {
    for (const term of terms) keys.add(term.topologyKey);
    addTerms(counts, terms, other, node, weight, labels);
  };
  for (const node of nodes) {
    for (const [terms, sign] of ownPreferences ? ([[preferred, 1], [preferredAnti, -1]] as const) : []) {
      for (const term of terms) {
        keys.add(term.topologyKey);
        const value = topologyValue(node, term.topologyKey);
        if (value === undefined) continue;
        for (const other of node.podsSelectedBy(term.selector, true)) {
          if (other.key !== pod.key && termSelects(term, other.pod, namespaceLabels)) domains.add(term.topologyKey, value, sign * term.weight);
        }
      }
    }
    // The placed pods' own terms towards this pod: only pods with affinity terms have any.
    for (const other of node.podsWithAffinity) {
      if (other.key === pod.key || !other.affinity) continue;
      add(domains, other.affinity.required, pod, node, () => HARD_POD_AFFINITY_WEIGHT, namespaceLabels);
      add(domains, other.affinity.preferred, pod, node, (t) => t.weight, namespaceLabels);
      add(domains, other.affinity.preferredAnti, pod, node, (t) => -t.weight, namespaceLabels);
    }
  }
  if (domains.size === 0) return undefined;
  return (candidates) => {
    const raw = candidates.map((node) => [...keys].reduce((sum, key) => sum + domains.get(key, topologyValue(node, key)), 0));
    const [min, max] = [Math.min(...raw), Math.max(...raw)];
    return raw.map((score) => (max > min ? Math.floor((MAX_NODE_SCORE * (score - min)) / (max - min)) : 0));
  };
}

/**
 * Pod affinity and anti-affinity (Kubernetes' InterPodAffinity plugin). The pods that count are every pod
 * bound to a node that exists or assumed there by this scheduler, terminating ones included, and those that
 * succeeded there (see NodeInfo). A namespaceSelector other than `{}` needs the namespaces' labels: without
 * `namespaceLabels` it selects no namespace.
 */
export function interPodAffinityPlugin(namespaceLabels: NamespaceLabels = UNKNOWN_NAMESPACES): ClusterPlugin {
  return {
    name: 'InterPodAffinity',
    weight: 2,
    prepare(pod, nodes) {
      const filter = prepareFilter(pod, nodes, namespaceLabels);
      const score = prepareScore(pod, nodes, namespaceLabels);
      return filter || score ? { filter, score } : undefined;
    },
  };
}
