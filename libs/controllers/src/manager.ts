import type { KubeClient } from '@berth/client';
import { clientListWatch, EventRecorder, type RunningController, SharedInformerFactory } from '@berth/controller';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ControllerContext } from './context';
import { DaemonSetController } from './daemonset';
import { DeploymentController } from './deployment';
import { EndpointsController } from './endpoints';
import { EndpointSliceController } from './endpointslice';
import { GarbageCollector } from './garbage-collector';
import { ControllerMetrics } from './metrics';
import { NodeIpamController, DEFAULT_CLUSTER_CIDR, DEFAULT_NODE_CIDR_MASK_SIZE } from './node-ipam';
import { DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS, DEFAULT_POD_EVICTION_TIMEOUT_MS, NodeLifecycleController } from './node-lifecycle';
import { ReplicaSetController } from './replicaset';
import { PersistentVolumeController } from './persistent-volume';
import { StatefulSetController } from './statefulset';
import { ServiceLoadBalancerController } from './service-lb';
import { ServiceAccountsController } from './serviceaccounts';
import { DisruptionController } from './disruption';
import { RootCaPublisher } from './root-ca-publisher';
import { JobController } from './job';
import { CronJobController } from './cronjob';
import { TtlAfterFinishedController } from './ttl-after-finished';
import { HorizontalPodAutoscalerController, type PodMetricsSource } from './hpa';
import { ComposeDependenciesController } from './compose-dependencies';
import { ComposeRollbackController } from './compose-rollback';

export type ControllerName =
  | 'replicaset'
  | 'deployment'
  | 'node-lifecycle'
  | 'garbage-collector'
  | 'endpoints'
  | 'node-ipam'
  | 'service-lb'
  | 'daemonset'
  | 'endpointslice'
  | 'persistentvolume'
  | 'statefulset'
  | 'serviceaccount'
  | 'disruption'
  | 'root-ca-cert-publisher'
  | 'job'
  | 'cronjob'
  | 'ttl-after-finished'
  | 'horizontal-pod-autoscaler'
  | 'compose-dependencies'
  | 'compose-rollback';
export const ALL_CONTROLLERS: readonly ControllerName[] = [
  'replicaset',
  'deployment',
  'node-lifecycle',
  'garbage-collector',
  'endpoints',
  'node-ipam',
  'service-lb',
  'daemonset',
  'endpointslice',
  'persistentvolume',
  'statefulset',
  'serviceaccount',
  'disruption',
  'root-ca-cert-publisher',
  'job',
  'cronjob',
  'ttl-after-finished',
  'horizontal-pod-autoscaler',
  'compose-dependencies',
  'compose-rollback',
];

export interface ControllerManagerOptions {
  client: KubeClient;
  logger: Logger;
  /** A node silent (no Lease renewal) this long is marked NotReady; default 15 s (DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS). */
  nodeMonitorGracePeriodMs?: number;
  /** Pods of a NotReady node are deleted this long after it was tainted; default 5 s. */
  podEvictionTimeoutMs?: number;
  /** The share of nodes not Ready at which evictions stop (full disruption); default 0.55. */
  unhealthyZoneThreshold?: number;
  /** Nodes whose pods may start being evicted per second; default 0.1. */
  nodeEvictionRate?: number;
  /** The range node pod CIDRs are cut from (node IPAM); default 10.88.0.0/16. */
  clusterCIDR?: string;
  /** Prefix length of each node's pod CIDR; default 24. */
  nodeCIDRMaskSize?: number;
  /** Which controllers to run; all by default. */
  controllers?: readonly ControllerName[];
  /** Informer resync (handlers see every object again); default 5 minutes, 0 to disable. */
  resyncPeriodMs?: number;
  /** The cluster CA published in every namespace (kube-root-ca.crt); the client's CA when omitted. */
  rootCaPem?: string;
  /** Where to register Prometheus metrics (the host's /metrics registry); none when omitted. */
  registry?: Registry;
  /** How often each HorizontalPodAutoscaler is evaluated; default 15 s. */
  hpaSyncPeriodMs?: number;
  /** Where the HPA controller reads pods' use; the metrics API (metrics.k8s.io) by default. */
  hpaMetrics?: PodMetricsSource;
}

export interface ControllerManager {
  readonly informers: SharedInformerFactory;
  /** Resolves once every informer has listed. */
  waitForSync(timeoutMs?: number): Promise<void>;
  /** Stops the controllers and the informers, and waits for pending event writes. */
  stop(): Promise<void>;
}

/**
 * Starts the controllers of the control plane (ReplicaSet, Deployment, node lifecycle, garbage collector)
 * on one set of shared informers. `berth server` calls it in-process; apps/controller-manager runs it alone.
 */
export function startControllerManager(options: ControllerManagerOptions): ControllerManager {
  const { client } = options;
  const logger = options.logger.child({ component: 'controller-manager' });
  const informers = new SharedInformerFactory({
    listWatchFor: clientListWatch(client),
    resyncPeriodMs: options.resyncPeriodMs ?? 5 * 60_000,
    logger,
  });
  const recorders: EventRecorder[] = [];
  const ctx: ControllerContext = {
    client,
    informers,
    logger,
    metrics: new ControllerMetrics(options.registry),
    recorder: (component) => {
      const recorder = new EventRecorder(client, component, `${component}-${hostname()}`, logger);
      recorders.push(recorder);
      return recorder;
    },
  };
  const enabled = new Set(options.controllers ?? ALL_CONTROLLERS);
  const controllers: Array<{ start(): RunningController }> = [];
  if (enabled.has('replicaset')) controllers.push(new ReplicaSetController(ctx));
  if (enabled.has('deployment')) controllers.push(new DeploymentController(ctx));
  if (enabled.has('node-lifecycle')) {
    controllers.push(
      new NodeLifecycleController(ctx, {
        nodeMonitorGracePeriodMs: options.nodeMonitorGracePeriodMs ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS,
        podEvictionTimeoutMs: options.podEvictionTimeoutMs ?? DEFAULT_POD_EVICTION_TIMEOUT_MS,
        unhealthyZoneThreshold: options.unhealthyZoneThreshold,
        nodeEvictionRate: options.nodeEvictionRate,
      }),
    );
  }
  if (enabled.has('garbage-collector')) controllers.push(new GarbageCollector(ctx));
  if (enabled.has('endpoints')) controllers.push(new EndpointsController(ctx));
  if (enabled.has('node-ipam')) {
    controllers.push(
      new NodeIpamController(ctx, {
        clusterCIDR: options.clusterCIDR ?? DEFAULT_CLUSTER_CIDR,
        nodeCIDRMaskSize: options.nodeCIDRMaskSize ?? DEFAULT_NODE_CIDR_MASK_SIZE,
      }),
    );
  }
  if (enabled.has('service-lb')) controllers.push(new ServiceLoadBalancerController(ctx));
  if (enabled.has('daemonset')) controllers.push(new DaemonSetController(ctx));
  if (enabled.has('endpointslice')) controllers.push(new EndpointSliceController(ctx));
  if (enabled.has('persistentvolume')) controllers.push(new PersistentVolumeController(ctx));
  if (enabled.has('statefulset')) controllers.push(new StatefulSetController(ctx));
  if (enabled.has('serviceaccount')) controllers.push(new ServiceAccountsController(ctx));
  if (enabled.has('disruption')) controllers.push(new DisruptionController(ctx));
  if (enabled.has('horizontal-pod-autoscaler')) controllers.push(new HorizontalPodAutoscalerController(ctx, { syncPeriodMs: options.hpaSyncPeriodMs, metrics: options.hpaMetrics }));
  // The CA the controller-manager's own client trusts is the cluster's (its kubeconfig's).
  const rootCa = options.rootCaPem ?? client.connection.ca;
  if (enabled.has('root-ca-cert-publisher') && rootCa) controllers.push(new RootCaPublisher(ctx, rootCa));
  if (enabled.has('job')) controllers.push(new JobController(ctx));
  if (enabled.has('cronjob')) controllers.push(new CronJobController(ctx));
  if (enabled.has('ttl-after-finished')) controllers.push(new TtlAfterFinishedController(ctx));
  if (enabled.has('compose-dependencies')) controllers.push(new ComposeDependenciesController(ctx));
  if (enabled.has('compose-rollback')) controllers.push(new ComposeRollbackController(ctx));
  informers.start();
  const running = controllers.map((c) => c.start());
  logger.info({ controllers: [...enabled] }, 'controller-manager started');

  return {
    informers,
    waitForSync: (timeoutMs) => informers.waitForSync(timeoutMs),
    async stop() {
      await Promise.all(running.map((c) => c.stop()));
      await informers.stop();
      await Promise.all(recorders.map((r) => r.flush()));
    },
  };
}
