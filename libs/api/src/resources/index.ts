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
] as ResourceDefinition[];
