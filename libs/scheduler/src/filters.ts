import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, TaintEffect, Toleration } from '@berth/api';
import type { NodeInfo } from './node-info';
import { WILDCARD_HOST_IP, type HostPort, type PodInfo } from './pod-info';
import type { Resources } from './resources';

/**
 * The scheduler's filters: pure predicates over a pod and one node, each answering the reasons the node
 * does not fit (worded as Kubernetes does, since they end up in FailedScheduling events) or none.
 */
export type Filter = (pod: PodInfo, node: NodeInfo) => readonly string[];

export const REASON_NOT_READY = 'node(s) were not ready';
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_HOST_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const insufficient = (resource: string) => `Insufficient ${resource}`;
export const untoleratedTaintReason = (taint: Taint) => `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;

const NONE: readonly string[] = [];

/** The taint Kubernetes tolerates in place of spec.unschedulable (DaemonSet pods carry it). */
export const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export function isNodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export const nodeReadyFilter: Filter = (_pod, node) => (node.node && isNodeReady(node.node) ? NONE : [REASON_NOT_READY]);

export const nodeSchedulableFilter: Filter = (pod, node) =>
  node.node?.spec?.unschedulable && !tolerationsTolerate(pod.tolerations, UNSCHEDULABLE_TAINT) ? [REASON_UNSCHEDULABLE] : NONE;

/** Kubernetes' ToleratesTaint: empty effect and empty key (with Exists) are wildcards. */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  if (toleration.operator === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

export function tolerationsTolerate(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((toleration) => toleratesTaint(toleration, taint));
}

/** The first of the node's taints with one of these effects that no toleration covers. */
export function firstUntoleratedTaint(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[], effects: readonly TaintEffect[]): Taint | undefined {
  return (taints ?? []).find((taint) => effects.includes(taint.effect) && !tolerationsTolerate(tolerations, taint));
}

const BLOCKING_EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'NoExecute'];

export const taintTolerationFilter: Filter = (pod, node) => {
  const taint = firstUntoleratedTaint(node.node?.spec?.taints, pod.tolerations, BLOCKING_EFFECTS);
  return taint ? [untoleratedTaintReason(taint)] : NONE;
};

const INTEGER = /^[+-]?\d+$/;

/** One node selector requirement against the node's labels (or, for matchFields, its fields). */
export function requirementMatches(requirement: NodeSelectorRequirement, values: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(values, requirement.key);
  const value = has ? values[requirement.key] : undefined;
  const wanted = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return has && wanted.includes(value!);
    case 'NotIn':
      return !has || !wanted.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || wanted.length !== 1 || !INTEGER.test(value!) || !INTEGER.test(wanted[0])) return false;
      const [actual, bound] = [BigInt(value!), BigInt(wanted[0])];
      return requirement.operator === 'Gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** A term holds when all its requirements do; a term with none selects nothing, as in Kubernetes. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  const nodeFields = { 'metadata.name': node.metadata.name ?? '' };
  return expressions.every((r) => requirementMatches(r, labels)) && fields.every((r) => requirementMatches(r, nodeFields));
}

/** spec.nodeSelector and required node affinity (any of its terms) must both hold. */
export function podMatchesNode(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[key] !== value) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return !required || (required.nodeSelectorTerms ?? []).some((term) => nodeSelectorTermMatches(term, node));
}

export const nodeAffinityFilter: Filter = (pod, node) => (node.node && podMatchesNode(pod.pod, node.node) ? NONE : [REASON_AFFINITY]);

/** Two claims clash on the same protocol and port when either binds every address or both bind the same one. */
export function hostPortsConflict(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.hostIP === b.hostIP || a.hostIP === WILDCARD_HOST_IP || b.hostIP === WILDCARD_HOST_IP);
}

export const hostPortFilter: Filter = (pod, node) => {
  if (pod.hostPorts.length === 0) return NONE;
  for (const used of node.usedHostPorts()) {
    if (pod.hostPorts.some((wanted) => hostPortsConflict(wanted, used))) return [REASON_HOST_PORTS];
  }
  return NONE;
};

/** What the pod lacks on a node with `free` left; cpu and memory are only checked when the pod asks for some. */
export function insufficientResources(requests: Resources, free: Resources): string[] {
  const reasons: string[] = [];
  if (free.pods < 1) reasons.push(REASON_TOO_MANY_PODS);
  if (requests.milliCpu > free.milliCpu && requests.milliCpu > 0) reasons.push(insufficient('cpu'));
  if (requests.memory > free.memory && requests.memory > 0) reasons.push(insufficient('memory'));
  return reasons;
}

export const resourcesFilter: Filter = (pod, node) => {
  const { allocatable, requested } = node;
  return insufficientResources(pod.requests, {
    milliCpu: allocatable.milliCpu - requested.milliCpu,
    memory: allocatable.memory - requested.memory,
    pods: allocatable.pods - node.podCount,
  });
};

/** In Kubernetes' plugin order; a node is reported with the reasons of the first filter it fails. */
export const DEFAULT_FILTERS: readonly Filter[] = [
  nodeReadyFilter,
  nodeSchedulableFilter,
  taintTolerationFilter,
  nodeAffinityFilter,
  hostPortFilter,
  resourcesFilter,
];
