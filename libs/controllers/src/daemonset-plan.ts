import type { ControllerRevision, DaemonSet, DaemonSetStatus, Node, Pod, PodSpec, Toleration } from '@berth/api';
import { firstUntoleratedTaint, podMatchesNode } from '@berth/scheduler';
import { CONTROLLER_REVISION_HASH_LABEL } from './history';
import { isPodAvailable, isPodReady } from './pods';
import { scaledValue } from './rollout';
import { clone } from './types';

/**
 * What a DaemonSet should do, as pure functions of its nodes and pods (Kubernetes'
 * pkg/controller/daemon: NodeShouldRunDaemonPod, podsShouldBeOnNode, rollingUpdate, updateDaemonSetStatus).
 * The controller (daemonset.ts) gathers the inputs from its caches and carries the plan out.
 */

/** The field a daemon pod's node affinity pins it with, as Kubernetes 1.32 does (the scheduler binds it). */
const NODE_NAME_FIELD = 'metadata.name';

/**
 * The tolerations Kubernetes adds to every daemon pod (AddOrUpdateDaemonPodTolerations): it stays on a node
 * that goes not-ready or unreachable, and is placed despite pressure and cordoning; host-network pods also on
 * a node whose network is not up yet.
 */
export function daemonPodTolerations(spec: Pick<PodSpec, 'hostNetwork'>): Toleration[] {
  const tolerations: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec.hostNetwork) tolerations.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return tolerations;
}

/** Adds each toleration unless one with the same key and effect is there (then it is replaced, as Kubernetes does). */
function withTolerations(existing: Toleration[] | undefined, added: Toleration[]): Toleration[] {
  const kept = (existing ?? []).filter((t) => !added.some((a) => a.key === t.key && a.effect === t.effect));
  return [...kept, ...added];
}

/**
 * The pod spec a daemon pod gets on nodeName: the template's, with the daemon tolerations and the required
 * node affinity replaced by `metadata.name In [nodeName]` (the template's own selector terms were already
 * checked by nodeShouldRunDaemonPod).
 */
export function daemonPodSpec(template: PodSpec | undefined, nodeName: string): PodSpec {
  const spec = clone(template ?? ({} as PodSpec));
  spec.tolerations = withTolerations(spec.tolerations, daemonPodTolerations(spec));
  const affinity = (spec.affinity ??= {});
  const nodeAffinity = (affinity.nodeAffinity ??= {});
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [{ matchFields: [{ key: NODE_NAME_FIELD, operator: 'In', values: [nodeName] }] }],
  };
  return spec;
}

/** The daemon pod for one node, created from the DaemonSet's template at revision hash. */
export function newDaemonPod(ds: DaemonSet, nodeName: string, hash: string, ownerReference: NonNullable<Pod['metadata']['ownerReferences']>[number]): Pod {
  const template = ds.spec?.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [ownerReference],
    },
    spec: daemonPodSpec(template.spec, nodeName),
  };
}

/** The node a daemon pod is for: its spec.nodeName once bound, else the node its affinity pins it to. */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const requirement of term.matchFields ?? []) {
      if (requirement.key === NODE_NAME_FIELD && requirement.operator === 'In' && requirement.values?.length === 1) return requirement.values[0];
    }
  }
  return undefined;
}

export interface NodePlacement {
  /** A new daemon pod belongs on the node. */
  shouldRun: boolean;
  /** A daemon pod already there may stay (it tolerates the node's NoExecute taints). */
  shouldContinueRunning: boolean;
}

/**
 * Kubernetes' NodeShouldRunDaemonPod: the template's nodeName, nodeSelector and required node affinity must
 * fit the node, and its taints be tolerated (with the daemon tolerations): an untolerated NoSchedule taint
 * only stops new pods, an untolerated NoExecute taint removes the running one too.
 */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): NodePlacement {
  const nodeName = node.metadata.name!;
  const templateSpec = ds.spec?.template?.spec;
  const NEVER = { shouldRun: false, shouldContinueRunning: false };
  if (templateSpec?.nodeName && templateSpec.nodeName !== nodeName) return NEVER;
  const probe: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: templateSpec };
  if (!podMatchesNode(probe, node)) return NEVER;
  const tolerations = withTolerations(templateSpec?.tolerations, daemonPodTolerations(templateSpec ?? {}));
  if (!firstUntoleratedTaint(node.spec?.taints, tolerations, ['NoSchedule', 'NoExecute'])) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: !firstUntoleratedTaint(node.spec?.taints, tolerations, ['NoExecute']) };
}

/** Whether a pod runs the DaemonSet's current template. */
export function isPodUpdated(pod: Pod, hash: string): boolean {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash;
}

function createdAt(pod: Pod): number {
  return Date.parse(pod.metadata.creationTimestamp ?? '') || 0;
}

/** Oldest first, and among equals the one further along (Kubernetes' podByCreationTimestampAndPhase). */
export function byCreationAndPhase(a: Pod, b: Pod): number {
  const running = (pod: Pod) => (pod.status?.phase === 'Running' ? 0 : 1);
  return createdAt(a) - createdAt(b) || running(a) - running(b) || (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0);
}

/** maxSurge and maxUnavailable against the number of nodes that should run the pod, both rounded up. */
export function daemonSetFenceposts(ds: DaemonSet, desired: number): { maxSurge: number; maxUnavailable: number } {
  const rolling = ds.spec?.updateStrategy?.rollingUpdate;
  const maxSurge = scaledValue(rolling?.maxSurge ?? 0, desired, true, 'spec.updateStrategy.rollingUpdate.maxSurge');
  let maxUnavailable = scaledValue(rolling?.maxUnavailable ?? 1, desired, true, 'spec.updateStrategy.rollingUpdate.maxUnavailable');
  // Validation refuses both at 0, but a percentage of few nodes can round to it: the rollout must still move.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export function isRollingUpdate(ds: DaemonSet): boolean {
  return (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

export interface NodeState {
  node?: Node;
  placement: NodePlacement;
  /** The DaemonSet's pods for this node, those being deleted included. */
  pods: Pod[];
}

export interface Plan {
  /** Nodes to create a daemon pod on. */
  create: string[];
  /** Pods to delete. */
  delete: Pod[];
  /** Failed pods found (each deletion is an event). */
  failed: Pod[];
  /** Pods of nodes that no longer exist: no agent will finish them, so they go at once (as PodGC does). */
  orphaned: Pod[];
}

/**
 * podsShouldBeOnNode for every node, plus pods whose node is gone: a node that should run the pod and has
 * none gets one; failed and finished pods go (failed ones once per back-off); extra pods go, keeping the
 * oldest (with surge, an old and a new one may overlap until the new one is available); a node the pod may
 * not stay on loses it.
 */
export function planNodes(nodes: Map<string, NodeState>, hash: string, surge: boolean, minReadySeconds: number, now: number, failedMayGo: (nodeName: string) => boolean): Plan {
  const plan: Plan = { create: [], delete: [], failed: [], orphaned: [] };
  for (const [nodeName, state] of nodes) {
    const live = state.pods.filter((pod) => !pod.metadata.deletionTimestamp);
    if (!state.node) {
      plan.orphaned.push(...state.pods);
      continue;
    }
    const { shouldRun, shouldContinueRunning } = state.placement;
    // A pod still terminating holds the node (its host ports, its volumes) until it is gone.
    if (shouldRun && state.pods.length === 0) {
      plan.create.push(nodeName);
      continue;
    }
    if (!shouldContinueRunning) {
      plan.delete.push(...live);
      continue;
    }
    const running: Pod[] = [];
    for (const pod of live) {
      if (pod.status?.phase === 'Failed') {
        if (failedMayGo(nodeName)) {
          plan.failed.push(pod);
          plan.delete.push(pod);
        }
      } else if (pod.status?.phase === 'Succeeded') plan.delete.push(pod);
      else running.push(pod);
    }
    if (running.length <= 1) continue;
    running.sort(byCreationAndPhase);
    if (!surge) {
      plan.delete.push(...running.slice(1));
      continue;
    }
    // With surge, an old pod and a new one may overlap until the new one is available.
    let oldestNew: Pod | undefined;
    let oldestOld: Pod | undefined;
    for (const pod of running) {
      if (isPodUpdated(pod, hash) && !oldestNew) oldestNew = pod;
      else if (!isPodUpdated(pod, hash) && !oldestOld) oldestOld = pod;
      else plan.delete.push(pod);
    }
    if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReadySeconds, now))) plan.delete.push(oldestOld);
  }
  return plan;
}

/** The one new and one old live pod on a node; false when there are more (the node loop cleans that up first). */
function updatedAndOld(pods: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

/**
 * One step of a rolling update (Kubernetes' rollingUpdate): without surge, delete old pods while at most
 * maxUnavailable nodes lack an available pod (old pods that are not available anyway go at once); with surge,
 * start new pods beside old ones on at most maxSurge nodes at a time and delete each old pod once its
 * replacement is available.
 */
export function planRollingUpdate(ds: DaemonSet, nodes: Map<string, NodeState>, hash: string, desired: number, now: number): { delete: Pod[]; create: string[] } {
  const { maxSurge, maxUnavailable } = daemonSetFenceposts(ds, desired);
  const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
  const available = (pod: Pod) => isPodAvailable(pod, minReadySeconds, now);
  const withPods = [...nodes].filter(([, state]) => state.node && state.pods.length > 0);
  if (maxSurge === 0) {
    let unavailable = 0;
    const replaceNow: Pod[] = [];
    const candidates: Pod[] = [];
    for (const [, state] of withPods) {
      const { newPod, oldPod, ok } = updatedAndOld(state.pods, hash);
      if (!ok || (!oldPod && !newPod) || (oldPod && newPod)) unavailable++;
      else if (newPod) {
        if (!available(newPod)) unavailable++;
      } else if (!available(oldPod!)) replaceNow.push(oldPod!);
      else if (unavailable < maxUnavailable) candidates.push(oldPod!);
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    return { delete: [...replaceNow, ...candidates.slice(0, room)], create: [] };
  }
  let surged = 0;
  const toDelete: Pod[] = [];
  const createNow: string[] = [];
  const candidates: string[] = [];
  for (const [nodeName, state] of withPods) {
    const { newPod, oldPod, ok } = updatedAndOld(state.pods, hash);
    if (!ok) {
      surged++;
      continue;
    }
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!state.placement.shouldRun) toDelete.push(oldPod);
        else createNow.push(nodeName);
      } else if (surged < maxSurge) candidates.push(nodeName);
      continue;
    }
    if (!available(newPod)) surged++;
    else toDelete.push(oldPod);
  }
  const room = Math.min(Math.max(0, maxSurge - surged), candidates.length);
  return { delete: toDelete, create: [...createNow, ...candidates.slice(0, room)] };
}

/** The status Kubernetes' updateDaemonSetStatus computes; each node counts its oldest pod. */
export function daemonSetStatus(ds: DaemonSet, nodes: Map<string, NodeState>, hash: string, now: number, collisionCount: number | undefined): DaemonSetStatus {
  const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let availableCount = 0;
  let updated = 0;
  for (const state of nodes.values()) {
    if (!state.node) continue;
    const scheduled = state.pods.length > 0;
    if (!state.placement.shouldRun) {
      if (scheduled) misscheduled++;
      continue;
    }
    desired++;
    if (!scheduled) continue;
    current++;
    const pod = [...state.pods].sort(byCreationAndPhase)[0];
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, now)) availableCount++;
    }
    if (isPodUpdated(pod, hash)) updated++;
  }
  const status: DaemonSetStatus = {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: ds.metadata.generation,
    updatedNumberScheduled: updated,
    numberAvailable: availableCount,
    numberUnavailable: desired - availableCount,
  };
  if (collisionCount) status.collisionCount = collisionCount;
  if (ds.status?.conditions?.length) status.conditions = ds.status.conditions;
  return status;
}

/** The revision whose hash label pods of the current template carry. */
export function revisionHash(revision: ControllerRevision): string {
  return revision.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
}
