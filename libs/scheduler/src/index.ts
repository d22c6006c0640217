/**
 * berth's scheduler. A composition root starts it with an API client:
 *   const scheduler = startScheduler({ client, logger, informers, metrics });  ...  await scheduler.stop();
 * Passing the controller-manager's SharedInformerFactory shares its pod and node watches; without one the
 * scheduler lists and watches on its own. Filters and scores are pure functions, exported for reuse.
 */
export { startScheduler, isPendingFor, nodeChangeMatters, DEFAULT_SCHEDULER_NAME } from './scheduler';
export type { SchedulerOptions, RunningScheduler } from './scheduler';
export { type SchedulerClient } from './client';
export { placePod, filterNode, noFitMessage, isPlacement, DEFAULT_CLUSTER_PLUGINS, type Algorithm, type Placement, type NoFit } from './algorithm';
export { TopologyCounts, topologyValue, type ClusterPlugin, type PreparedPlugin } from './cluster-plugin';
export * from './inter-pod-affinity';
export * from './topology-spread';
export { podAffinityTermsOf, spreadConstraintsOf, termSelects, type AffinityTerm, type PodAffinityTerms, type SpreadConstraint, type NamespaceLabels } from './pod-terms';
export * from './filters';
export * from './scores';
export { SchedulerCache, isTerminal } from './cache';
export { NodeInfo } from './node-info';
export { podInfoOf, podHostPorts, type PodInfo, type HostPort } from './pod-info';
export * from './resources';
export { SchedulerMetrics, type AttemptResult } from './metrics';
export { volumeBindingFilter, bestVolumeFor, volumeFitsNode, waitsForConsumer, type VolumeLister } from './volume-binding';
