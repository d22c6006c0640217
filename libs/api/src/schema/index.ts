/** Which schema class declares each served kind. */
import type { ResourceType } from '../registry';
import type { SchemaClass } from './fields';
import { ConfigMapObject, SecretObject } from './config';
import { EventObject, LeaseObject, NamespaceObject, NodeObject } from './cluster';
import { PodObject } from './pod';
import { EndpointsObject, ServiceObject } from './service';
import { DeploymentObject, ReplicaSetObject } from './workloads';
import { PersistentVolumeClaimObject, PersistentVolumeObject, StatefulSetObject, StorageClassObject } from './storage';
import { ControllerRevisionObject, DaemonSetObject, EndpointSliceObject } from './daemonset';

const SCHEMAS: Readonly<Record<string, SchemaClass>> = {
  '/Namespace': NamespaceObject,
  '/Pod': PodObject,
  '/Node': NodeObject,
  '/Event': EventObject,
  '/Service': ServiceObject,
  '/Endpoints': EndpointsObject,
  '/ConfigMap': ConfigMapObject,
  '/Secret': SecretObject,
  'apps/Deployment': DeploymentObject,
  'apps/ReplicaSet': ReplicaSetObject,
  'coordination.k8s.io/Lease': LeaseObject,
  '/PersistentVolume': PersistentVolumeObject,
  '/PersistentVolumeClaim': PersistentVolumeClaimObject,
  'storage.k8s.io/StorageClass': StorageClassObject,
  'apps/StatefulSet': StatefulSetObject,
  'apps/DaemonSet': DaemonSetObject,
  'apps/ControllerRevision': ControllerRevisionObject,
  'discovery.k8s.io/EndpointSlice': EndpointSliceObject,
};

export function schemaFor(type: ResourceType): SchemaClass | undefined {
  return SCHEMAS[`${type.group}/${type.kind}`];
}

export { schemaCauses, unknownFields } from './engine';
export type { SchemaClass } from './fields';
