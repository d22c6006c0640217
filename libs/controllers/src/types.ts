import { resourceForKind, type ResourceType } from '@berth/api';
import { errors } from '@berth/errors';

function typeOf(apiVersion: string, kind: string): ResourceType {
  const type = resourceForKind(apiVersion, kind);
  if (!type) throw errors.internal(`resource ${apiVersion} ${kind} is not registered`);
  return type;
}

export const PODS = typeOf('v1', 'Pod');
export const NODES = typeOf('v1', 'Node');
export const EVENTS = typeOf('v1', 'Event');
export const REPLICA_SETS = typeOf('apps/v1', 'ReplicaSet');
export const DEPLOYMENTS = typeOf('apps/v1', 'Deployment');
export const LEASES = typeOf('coordination.k8s.io/v1', 'Lease');
export const DAEMON_SETS = typeOf('apps/v1', 'DaemonSet');
export const CONTROLLER_REVISIONS = typeOf('apps/v1', 'ControllerRevision');
export const ENDPOINT_SLICES = typeOf('discovery.k8s.io/v1', 'EndpointSlice');
export const JOBS = typeOf('batch/v1', 'Job');
export const CRON_JOBS = typeOf('batch/v1', 'CronJob');
export const PERSISTENT_VOLUMES = typeOf('v1', 'PersistentVolume');
export const PERSISTENT_VOLUME_CLAIMS = typeOf('v1', 'PersistentVolumeClaim');
export const STORAGE_CLASSES = typeOf('storage.k8s.io/v1', 'StorageClass');
export const STATEFUL_SETS = typeOf('apps/v1', 'StatefulSet');

/** The namespace where node agents renew their heartbeat Leases (defined once, by @berth/client). */
export { NODE_LEASE_NAMESPACE } from '@berth/client';

/** Deep copy of a cached object, which must never be changed in place. */
export function clone<T>(obj: T): T {
  return structuredClone(obj);
}
