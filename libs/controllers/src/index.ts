export { startControllerManager, ALL_CONTROLLERS, type ControllerManager, type ControllerManagerOptions, type ControllerName } from './manager';
export type { ControllerContext } from './context';
export { Expectations } from './expectations';
export { ControllerMetrics } from './metrics';
export { NodeIpamController, DEFAULT_CLUSTER_CIDR, DEFAULT_NODE_CIDR_MASK_SIZE, type NodeIpamOptions } from './node-ipam';
export { ReplicaSetController, podFromTemplate, slowStartBatch, type ReplicaSetControllerOptions } from './replicaset';
export { DeploymentController, deploymentComplete, type DeploymentControllerOptions } from './deployment';
export {
  NodeLifecycleController,
  tolerates,
  evictionDelayMs,
  taintsForReadiness,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS,
  DEFAULT_POD_EVICTION_TIMEOUT_MS,
  DEFAULT_UNHEALTHY_ZONE_THRESHOLD,
  DEFAULT_NODE_EVICTION_RATE,
  type NodeLifecycleOptions,
} from './node-lifecycle';
export { ServiceLoadBalancerController, loadBalancerIngress, isServiceLoadBalancer, LB_ENABLED_LABEL, LB_POOL_LABEL } from './service-lb';
export { GarbageCollector, ORPHAN_FINALIZER, FOREGROUND_FINALIZER } from './garbage-collector';
export { controllerReference, claimObjects } from './claim';
export { isPodActive, isPodReady, isPodAvailable, compareByDeletionPreference, podsToDelete } from './pods';
export { podTemplateHash, resolveFenceposts, scaledValue, newReplicaSetReplicas, oldReplicaSetScaleDown, proportionalScale } from './rollout';
export { NODE_LEASE_NAMESPACE } from './types';
export {
  CONTROLLER_REVISION_HASH_LABEL,
  templatePatch,
  templateOfRevision,
  hashControllerRevision,
  controllerRevisionName,
  revisionsEqual,
  sortRevisions,
  nextRevisionNumber,
  newControllerRevision,
  createControllerRevision,
  updateRevisionNumber,
  truncateHistory,
  type HistoryClient,
} from './history';
export { PersistentVolumeController } from './persistent-volume';
export { DaemonSetController, type DaemonSetControllerOptions } from './daemonset';
export { StatefulSetController, type StatefulSetControllerOptions } from './statefulset';
export { POD_NAME_LABEL, POD_INDEX_LABEL } from './statefulset-plan';
export { daemonPodTolerations, nodeShouldRunDaemonPod, targetNodeName, type NodePlacement } from './daemonset-plan';
export { EndpointSliceController, desiredSlices, sliceChanges, sliceLabels, SERVICE_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY, type SliceContent } from './endpointslice';
export { JobController, type JobControllerOptions } from './job';
export { planJob, podForJob, matchPodFailurePolicy, remainingBackoffMs, parseIndexes, formatIndexes, completionIndexOf, JOB_BACKOFF_INITIAL_MS, JOB_BACKOFF_MAX_MS, type JobPlan, type BackoffRecord } from './job-sync';
export { CronJobController, cronJobJobName, jobForCronJob, type CronJobControllerOptions } from './cronjob';
export { TtlAfterFinishedController, jobExpiry, type TtlAfterFinishedOptions } from './ttl-after-finished';
export {
  HorizontalPodAutoscalerController,
  MetricsApiSource,
  DEFAULT_HPA_SYNC_PERIOD_MS,
  type HorizontalPodAutoscalerControllerOptions,
  type PodMetricsSource,
} from './hpa';
export type { PodUsage } from './hpa-replicas';
export { ComposeDependenciesController, dependencyState, decide, type Decision, type DependencyState, type ServiceView } from './compose-dependencies';
export { ComposeRollbackController, decideRollback, ROLLED_BACK_TEMPLATE_ANNOTATION, type RollbackDecision } from './compose-rollback';
