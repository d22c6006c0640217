/**
 * The served kinds, one folder each (resources/<group>/<kind>/, `core` for the core group), in the order
 * discovery lists them. Adding a kind: see "How to add a kind" in the README.
 */
import type { ResourceDefinition } from './definition';
import { controllerRevisionResource } from './apps/controllerrevision';
import { daemonSetResource } from './apps/daemonset';
import { deploymentResource } from './apps/deployment';
import { replicaSetResource } from './apps/replicaset';
import { leaseResource } from './coordination/lease';
import { configMapResource } from './core/configmap';
import { endpointsResource } from './core/endpoints';
import { eventResource } from './core/event';
import { namespaceResource } from './core/namespace';
import { nodeResource } from './core/node';
import { podResource } from './core/pod';
import { secretResource } from './core/secret';
import { serviceResource } from './core/service';
import { endpointSliceResource } from './discovery/endpointslice';
import { serviceAccountResource } from './core/serviceaccount';
import { podDisruptionBudgetResource } from './policy/poddisruptionbudget';
import { jobResource } from './batch/job';
import { cronJobResource } from './batch/cronjob';
import { persistentVolumeResource } from './core/persistentvolume';
import { persistentVolumeClaimResource } from './core/persistentvolumeclaim';
import { storageClassResource } from './storage/storageclass';
import { statefulSetResource } from './apps/statefulset';
import { horizontalPodAutoscalerResource } from './autoscaling/horizontalpodautoscaler';
import { horizontalPodAutoscalerV1Resource } from './autoscaling/horizontalpodautoscaler/v1';

export const DEFINITIONS: readonly ResourceDefinition[] = [
  namespaceResource,
  podResource,
  nodeResource,
  eventResource,
  serviceResource,
  endpointsResource,
  configMapResource,
  secretResource,
  deploymentResource,
  replicaSetResource,
  leaseResource,
  daemonSetResource,
  controllerRevisionResource,
  endpointSliceResource,
  serviceAccountResource,
  podDisruptionBudgetResource,
  jobResource,
  cronJobResource,
  persistentVolumeResource,
  persistentVolumeClaimResource,
  storageClassResource,
  statefulSetResource,
  // v2 first: the preferred version, in which both are stored.
  horizontalPodAutoscalerResource,
  horizontalPodAutoscalerV1Resource,
] as ResourceDefinition[];
