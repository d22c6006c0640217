/**
 * The names the storage parts agree on (the PV controller, the scheduler, the agent, the API server's start),
 * as Kubernetes and k3s spell them where they have them.
 */
import type { PersistentVolume, Pod } from './kinds';

/** berth's built-in dynamic provisioner, k3s' `rancher.io/local-path` in kind: a directory per volume on one node. */
export const LOCAL_PATH_PROVISIONER = 'berth.io/local-path';
/** The StorageClass berth creates at start, marked default. */
export const LOCAL_PATH_STORAGE_CLASS = 'local-path';
/** On a Node: the directory its agent keeps local-path volumes in (`<agent data dir>/storage`). */
export const LOCAL_PATH_DIR_ANNOTATION = 'berth.io/local-path-dir';
/** On a local-path PV: held until the node's agent has removed (Delete) or kept (Retain) the volume's directory. */
export const LOCAL_PATH_FINALIZER = 'berth.io/local-path';
/** On a local-path PV: the node whose agent owns its directory. */
export const LOCAL_PATH_NODE_LABEL = 'berth.io/local-path-node';

/** On a claim of a WaitForFirstConsumer class: the node the scheduler chose for its first pod. */
export const SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';
/** On a claim: which provisioner is asked for its volume. */
export const STORAGE_PROVISIONER_ANNOTATION = 'volume.kubernetes.io/storage-provisioner';
/** On a provisioned PV: the provisioner that made it. */
export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';
export const BIND_COMPLETED_ANNOTATION = 'pv.kubernetes.io/bind-completed';
export const BOUND_BY_CONTROLLER_ANNOTATION = 'pv.kubernetes.io/bound-by-controller';
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

export { DEFAULT_CLASS_ANNOTATION, isDefaultStorageClass } from './resources/storage/storageclass';

/** The claims a pod's volumes name. */
export function podClaimNames(pod: Pod): string[] {
  return (pod.spec?.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName).filter((name): name is string => typeof name === 'string' && name !== '');
}

/** The node a local-path volume lives on, or undefined for any other volume. */
export function localPathNode(pv: PersistentVolume): string | undefined {
  if (pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] !== LOCAL_PATH_PROVISIONER) return undefined;
  return pv.metadata.labels?.[LOCAL_PATH_NODE_LABEL];
}

/** The directory a PV's data is in on its node: its local or hostPath path. */
export function volumeHostPath(pv: PersistentVolume): string | undefined {
  return pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
}
