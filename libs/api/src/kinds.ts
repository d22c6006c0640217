/**
 * Typed shapes of the served kinds, as on the wire; each lives in its kind's folder under resources/.
 * Every field is optional where the wire allows omitting it: these types describe what clients may send,
 * and defaulting is what fills the gaps.
 */
export type * from './resources/meta/types';
export type * from './resources/core/namespace/types';
export type * from './resources/core/pod/types';
export type * from './resources/core/node/types';
export type * from './resources/core/event/types';
export type * from './resources/core/service/types';
export type * from './resources/core/endpoints/types';
export type * from './resources/core/configmap/types';
export type * from './resources/core/secret/types';
export type * from './resources/apps/deployment/types';
export type * from './resources/apps/replicaset/types';
export type * from './resources/coordination/lease/types';
export type * from './resources/apps/daemonset/types';
export type * from './resources/apps/controllerrevision/types';
export type * from './resources/discovery/endpointslice/types';
export type * from './resources/core/serviceaccount/types';
export type * from './resources/policy/poddisruptionbudget/types';
export type * from './resources/batch/job/types';
export type * from './resources/batch/cronjob/types';
export type * from './resources/core/persistentvolume/types';
export type * from './resources/core/persistentvolumeclaim/types';
export type * from './resources/storage/storageclass/types';
export type * from './resources/apps/statefulset/types';
export type * from './resources/autoscaling/horizontalpodautoscaler/types';
