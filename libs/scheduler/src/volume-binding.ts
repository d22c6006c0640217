import {
  LOCAL_PATH_DIR_ANNOTATION,
  LOCAL_PATH_PROVISIONER,
  matchesLabels,
  type Node,
  parseQuantity,
  type PersistentVolume,
  type PersistentVolumeClaim,
  podClaimNames,
  requirementsOfSelector,
  type StorageClass,
} from '@berth/api';
import { nodeSelectorTermMatches, type Filter } from './filters';

export const REASON_VOLUME_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const REASON_NO_VOLUME_TO_BIND = "node(s) didn't find available persistent volumes to bind";
export const REASON_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
export const REASON_MISSING_VOLUME = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';

/** What the volume filter reads: the scheduler's informer caches of claims, volumes and classes. */
export interface VolumeLister {
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  volumes(): readonly PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
}

/** A volume is a candidate for a claim when it offers at least the claim's class, access modes and size, and its labels match. */
function volumeSatisfies(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  if ((pv.spec?.storageClassName ?? '') !== (pvc.spec?.storageClassName ?? '')) return false;
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (pvc.spec?.volumeMode ?? 'Filesystem')) return false;
  const offered = pv.spec?.accessModes ?? [];
  if (!(pvc.spec?.accessModes ?? []).every((mode) => offered.includes(mode))) return false;
  const wanted = pvc.spec?.resources?.requests?.storage;
  const capacity = pv.spec?.capacity?.storage;
  if (wanted === undefined || capacity === undefined || parseQuantity(capacity) < parseQuantity(wanted)) return false;
  if (pvc.spec?.selector) {
    try {
      if (!matchesLabels(requirementsOfSelector(pvc.spec.selector), pv.metadata.labels)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Whether a pod on `node` can use the volume: its node affinity, when it has one, holds for the node. */
export function volumeFitsNode(pv: PersistentVolume, node: Node): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  return !terms || terms.some((term) => nodeSelectorTermMatches(term, node));
}

/**
 * The smallest volume that satisfies the claim (Kubernetes' findBestMatchForClaim), among those free or
 * pre-bound to it, and reachable from `node` when one is given. Shared by the scheduler and the PV controller,
 * so that the volume the scheduler counted on is the one the controller binds.
 */
export function bestVolumeFor(pvc: PersistentVolumeClaim, volumes: readonly PersistentVolume[], node?: Node): PersistentVolume | undefined {
  let best: PersistentVolume | undefined;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp || pv.status?.phase === 'Released' || pv.status?.phase === 'Failed') continue;
    const ref = pv.spec?.claimRef;
    const preBound = !!ref && ref.name === pvc.metadata.name && ref.namespace === pvc.metadata.namespace && (!ref.uid || ref.uid === pvc.metadata.uid);
    if (ref && !preBound) continue;
    if (!volumeSatisfies(pv, pvc)) continue;
    if (node && !volumeFitsNode(pv, node)) continue;
    if (preBound) return pv;
    if (!best || parseQuantity(pv.spec!.capacity!.storage) < parseQuantity(best.spec!.capacity!.storage)) best = pv;
  }
  return best;
}

/** Whether the claim waits for its first pod to be scheduled before it is bound (its class says WaitForFirstConsumer). */
export function waitsForConsumer(pvc: PersistentVolumeClaim, lister: Pick<VolumeLister, 'storageClass'>): boolean {
  const name = pvc.spec?.storageClassName;
  return !pvc.spec?.volumeName && !!name && lister.storageClass(name)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/**
 * Kubernetes' VolumeBinding filter for berth's volumes: a pod's bound claims pin it to the nodes their volumes'
 * node affinity allows (a local-path volume: its node); an unbound WaitForFirstConsumer claim fits a node with a
 * free volume it can reach or, for the local-path class, any node whose agent announced its volume directory;
 * an unbound claim of an Immediate class waits for the PV controller.
 */
export function volumeBindingFilter(lister: VolumeLister): Filter {
  return (pod, node) => {
    const claims = podClaimNames(pod.pod);
    if (claims.length === 0 || !node.node) return [];
    const namespace = pod.pod.metadata.namespace ?? 'default';
    for (const name of claims) {
      const pvc = lister.claim(namespace, name);
      if (!pvc) return [`persistentvolumeclaim "${name}" not found`];
      if (pvc.metadata.deletionTimestamp) return [`persistentvolumeclaim "${name}" is being deleted`];
      const volumeName = pvc.spec?.volumeName;
      if (volumeName) {
        const pv = lister.volume(volumeName);
        if (!pv) return [REASON_MISSING_VOLUME];
        if (!volumeFitsNode(pv, node.node)) return [REASON_VOLUME_NODE_CONFLICT];
        continue;
      }
      if (!waitsForConsumer(pvc, lister)) return [REASON_UNBOUND_IMMEDIATE];
      if (bestVolumeFor(pvc, lister.volumes(), node.node)) continue;
      const storageClass = lister.storageClass(pvc.spec!.storageClassName!);
      if (storageClass?.provisioner === LOCAL_PATH_PROVISIONER && node.node.metadata.annotations?.[LOCAL_PATH_DIR_ANNOTATION]) continue;
      return [REASON_NO_VOLUME_TO_BIND];
    }
    return [];
  };
}
