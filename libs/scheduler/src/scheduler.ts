import { type Namespace, type Node, type PersistentVolume, type PersistentVolumeClaim, type Pod, type PodCondition, podClaimNames, resourceForKind, SELECTED_NODE_ANNOTATION, type StorageClass } from '@berth/api';
import { resourcePath } from '@berth/client';
import {
  clientListWatch,
  EventRecorder,
  eventTime,
  defaultControllerRateLimiter,
  objectKey,
  runController,
  SharedInformerFactory,
  WorkQueue,
  type RunningController,
} from '@berth/controller';
import { isBerthError } from '@berth/errors';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isPlacement, placePod, type Algorithm } from './algorithm';
import { interPodAffinityPlugin } from './inter-pod-affinity';
import { podTopologySpreadPlugin } from './topology-spread';
import { isTerminal, SchedulerCache } from './cache';
import { NAMESPACE_TYPE, NODE_TYPE, POD_TYPE, type SchedulerClient } from './client';
import { DEFAULT_FILTERS, isNodeReady } from './filters';
import { volumeBindingFilter, waitsForConsumer, type VolumeLister } from './volume-binding';
import { SchedulerMetrics } from './metrics';
import { podInfoOf } from './pod-info';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

const CLAIM_TYPE = resourceForKind('v1', 'PersistentVolumeClaim')!;
const VOLUME_TYPE = resourceForKind('v1', 'PersistentVolume')!;
const STORAGE_CLASS_TYPE = resourceForKind('storage.k8s.io/v1', 'StorageClass')!;

export interface SchedulerOptions {
  client: SchedulerClient;
  logger?: Logger;
  /** Informers shared with other controllers in the process; the scheduler makes its own when omitted. */
  informers?: SharedInformerFactory;
  /** Pods naming this scheduler are ours (and, for the default name, pods naming none); events carry it as their source. */
  schedulerName?: string;
  /** Bindings in flight at once; decisions themselves are made one at a time. Default 64. */
  workers?: number;
  /** An unschedulable pod is tried again after this long even if nothing changed. Default 60 s. */
  unschedulableRetryMs?: number;
  /** How long a bound pod stays assumed without the informer confirming it. Default 30 s. */
  assumeTtlMs?: number;
  algorithm?: Algorithm;
  /** Where to register the scheduler's metrics (the process' /metrics registry); none when omitted. */
  metrics?: Registry;
}

export interface RunningScheduler {
  /** Resolves once the informers have listed nodes and pods and scheduling has begun. */
  waitForSync(timeoutMs?: number): Promise<void>;
  /** Stops scheduling, lets bindings in flight finish and writes the events already recorded. */
  stop(): Promise<void>;
}

/**
 * Whether the pod waits for this scheduler: no node yet, not being deleted, no scheduling gate left, and
 * naming it. A gated pod is not even tried (no FailedScheduling events while it waits); the update that
 * removes its last gate makes it pending, and the pod informer's update handler queues it then.
 */
export function isPendingFor(pod: Pod, schedulerName: string): boolean {
  if (pod.spec?.nodeName || pod.metadata.deletionTimestamp || isTerminal(pod)) return false;
  if (pod.spec?.schedulingGates?.length) return false;
  const wanted = pod.spec?.schedulerName || DEFAULT_SCHEDULER_NAME;
  return wanted === schedulerName;
}

function podScheduledCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

/** Changes to a node that can make an unschedulable pod fit (heartbeats alone cannot). */
export function nodeChangeMatters(oldNode: Node, newNode: Node): boolean {
  const view = (node: Node) =>
    JSON.stringify([node.metadata.labels ?? {}, node.spec?.unschedulable ?? false, node.spec?.taints ?? [], node.status?.allocatable ?? node.status?.capacity ?? {}, isNodeReady(node)]);
  return view(oldNode) !== view(newNode);
}

/** Changes to a pending pod that may change where it fits (not the scheduler's own status writes). */
function pendingPodChangeMatters(oldPod: Pod, newPod: Pod): boolean {
  return oldPod === newPod || JSON.stringify([oldPod.spec, oldPod.metadata.labels]) !== JSON.stringify([newPod.spec, newPod.metadata.labels]);
}

const UNSCHEDULABLE_REASON = 'Unschedulable';

/**
 * The scheduler: pods without a node are queued, placed by the filters and scores in algorithm.ts against
 * the cached nodes, and bound through pods/binding. Decisions are synchronous and assumed at once, so many
 * bindings can be in flight without two decisions overcommitting a node. Pods that fit nowhere get a
 * FailedScheduling event and PodScheduled=False, and are retried whenever a node or a pod changes in a way
 * that can free room, and periodically.
 */
export function startScheduler(options: SchedulerOptions): RunningScheduler {
  const { client } = options;
  const schedulerName = options.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  const logger = (options.logger ?? pino({ level: 'info' }, pino.destination(2))).child({ component: 'scheduler', scheduler: schedulerName });
  const retryMs = options.unschedulableRetryMs ?? 60_000;
  const ownsInformers = !options.informers;
  const informers = options.informers ?? new SharedInformerFactory({ listWatchFor: clientListWatch(client), logger });
  const podInformer = informers.informerFor<Pod>({ resource: POD_TYPE });
  const nodeInformer = informers.informerFor<Node>({ resource: NODE_TYPE });
  const claimInformer = informers.informerFor<PersistentVolumeClaim>({ resource: CLAIM_TYPE });
  const volumeInformer = informers.informerFor<PersistentVolume>({ resource: VOLUME_TYPE });
  const classInformer = informers.informerFor<StorageClass>({ resource: STORAGE_CLASS_TYPE });
  const volumes: VolumeLister = {
    claim: (namespace, name) => claimInformer.get(objectKey({ metadata: { namespace, name } })),
    volume: (name) => volumeInformer.get(name),
    volumes: () => volumeInformer.list(),
    storageClass: (name) => classInformer.get(name),
  };
  // Namespaces' labels, for pod affinity terms with a namespaceSelector.
  const namespaceInformer = informers.informerFor<Namespace>({ resource: NAMESPACE_TYPE });
  const namespaceLabels = (name: string) => {
    const namespace = namespaceInformer.get(name);
    return namespace ? namespace.metadata.labels ?? {} : undefined;
  };
  const algorithm: Algorithm = {
    ...options.algorithm,
    filters: options.algorithm?.filters ?? [...DEFAULT_FILTERS, volumeBindingFilter(volumes)],
    clusterPlugins: options.algorithm?.clusterPlugins ?? [podTopologySpreadPlugin, interPodAffinityPlugin(namespaceLabels)],
  };
  const cache = new SchedulerCache(options.assumeTtlMs);
  const events = new EventRecorder(client, schedulerName, `${schedulerName}-${hostname()}`, logger);
  const queue = new WorkQueue<string>({ rateLimiter: defaultControllerRateLimiter<string>() });
  /** Pods that fit nowhere at their last attempt, woken by any change that may free room. */
  const unschedulable = new Set<string>();
  const metrics = new SchedulerMetrics(options.metrics, () => unschedulable.size);

  const wakeUnschedulable = () => {
    for (const key of unschedulable) queue.add(key);
  };
  /** A pod placed (or relabelled) can only make room for pods that ask for pods: by affinity or spread. */
  const wakeThoseAskingForPods = () => {
    for (const key of unschedulable) {
      const spec = podInformer.get(key)?.spec;
      if (spec?.affinity?.podAffinity || spec?.topologySpreadConstraints?.length) queue.add(key);
    }
  };

  const removeHandlers = [
    podInformer.addEventHandler({
      onAdd: (pod) => {
        const key = objectKey(pod);
        cache.syncPod(key, pod);
        if (isPendingFor(pod, schedulerName)) queue.add(key);
        else if (pod.spec?.nodeName) wakeThoseAskingForPods();
      },
      onUpdate: (oldPod, newPod) => {
        const key = objectKey(newPod);
        cache.syncPod(key, newPod);
        if (isPendingFor(newPod, schedulerName) && (!isPendingFor(oldPod, schedulerName) || pendingPodChangeMatters(oldPod, newPod))) queue.add(key);
        if (newPod.spec?.nodeName && (!oldPod.spec?.nodeName || JSON.stringify(oldPod.metadata.labels) !== JSON.stringify(newPod.metadata.labels))) wakeThoseAskingForPods();
        // A pod that finished frees its node's room.
        if (oldPod.spec?.nodeName && !isTerminal(oldPod) && isTerminal(newPod)) wakeUnschedulable();
      },
      onDelete: (pod) => {
        const key = objectKey(pod);
        cache.syncPod(key, undefined);
        unschedulable.delete(key);
        events.forgetObject(pod.metadata.uid);
        if (pod.spec?.nodeName) wakeUnschedulable();
      },
    }),
    nodeInformer.addEventHandler({
      onAdd: (node) => {
        cache.setNode(node);
        wakeUnschedulable();
      },
      onUpdate: (oldNode, newNode) => {
        cache.setNode(newNode);
        if (nodeChangeMatters(oldNode, newNode)) wakeUnschedulable();
      },
      onDelete: (node) => cache.removeNode(node.metadata.name ?? ''),
    }),
    // A claim bound, a volume made or a class changed can make a pod with claims fit.
    claimInformer.addEventHandler({ onAdd: wakeUnschedulable, onUpdate: wakeUnschedulable, onDelete: () => undefined }),
    volumeInformer.addEventHandler({ onAdd: wakeUnschedulable, onUpdate: wakeUnschedulable, onDelete: () => undefined }),
    classInformer.addEventHandler({ onAdd: wakeUnschedulable, onUpdate: wakeUnschedulable, onDelete: () => undefined }),
  ];

  const expiry = setInterval(() => {
    if (cache.expireAssumed()) wakeUnschedulable();
  }, 5_000);
  expiry.unref();

  async function bind(pod: Pod, nodeName: string): Promise<void> {
    const { namespace, name, uid } = pod.metadata;
    await client.request({
      method: 'POST',
      path: resourcePath(POD_TYPE, { namespace, name, subresource: 'binding' }),
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
    });
  }

  /**
   * Kubernetes' VolumeBinding PreBind, as far as berth needs it: the pod's unbound WaitForFirstConsumer claims
   * learn the node chosen (`volume.kubernetes.io/selected-node`), and the PV controller binds or provisions
   * them there. The pod is bound at once; its node's agent waits for the claims to be bound before it starts it.
   */
  async function selectNodeForClaims(pod: Pod, nodeName: string): Promise<void> {
    const namespace = pod.metadata.namespace ?? 'default';
    for (const name of podClaimNames(pod)) {
      const pvc = volumes.claim(namespace, name);
      if (!pvc || !waitsForConsumer(pvc, volumes) || pvc.metadata.annotations?.[SELECTED_NODE_ANNOTATION] === nodeName) continue;
      await client.patch(CLAIM_TYPE, name, { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: nodeName } } }, { namespace, type: 'merge' });
    }
  }

  /** Writes PodScheduled unless the pod already says the same; a pod that went away needs nothing. */
  async function setPodScheduled(pod: Pod, status: 'True' | 'False', reason?: string, message?: string): Promise<void> {
    const current = podScheduledCondition(pod);
    if (current && current.status === status && current.reason === reason && current.message === message) return;
    // A strategic merge patch merges conditions by type; null removes what an earlier condition said.
    const condition = {
      type: 'PodScheduled',
      status,
      lastProbeTime: null,
      lastTransitionTime: current?.status === status && current.lastTransitionTime ? current.lastTransitionTime : eventTime(),
      reason: reason ?? null,
      message: message ?? null,
    };
    try {
      await client.patch(POD_TYPE, pod.metadata.name ?? '', { status: { conditions: [condition] } }, {
        namespace: pod.metadata.namespace,
        type: 'strategic',
        subresource: 'status',
      });
    } catch (err) {
      if (!isBerthError(err, 'NotFound')) throw err;
    }
  }

  async function reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const pod = podInformer.get(key);
    if (!pod || !isPendingFor(pod, schedulerName)) {
      unschedulable.delete(key);
      return;
    }
    if (cache.isAssumed(key, pod.metadata.uid)) return;
    const podInfo = podInfoOf(pod);
    const result = placePod(podInfo, cache.candidateNodes(), algorithm);
    if (!isPlacement(result)) {
      // Marked before any await: a change arriving while the event is written must wake it again.
      unschedulable.add(key);
      metrics.attempt('unschedulable');
      logger.info({ pod: key, reason: result.message }, 'pod does not fit on any node');
      events.record(pod, 'Warning', 'FailedScheduling', result.message);
      await setPodScheduled(pod, 'False', UNSCHEDULABLE_REASON, result.message);
      return { requeueAfter: retryMs };
    }
    unschedulable.delete(key);
    cache.assume(podInfo, result.nodeName);
    try {
      await selectNodeForClaims(pod, result.nodeName);
      await bind(pod, result.nodeName);
    } catch (err) {
      cache.forget(key);
      wakeUnschedulable();
      // Conflict: bound by someone else or being deleted; NotFound: gone. Either way nothing is left to do.
      if (isBerthError(err, 'Conflict') || isBerthError(err, 'NotFound')) {
        logger.debug({ pod: key, err }, 'binding not needed any more');
        return;
      }
      metrics.attempt('error');
      throw err;
    }
    cache.finishBinding(key);
    metrics.attempt('scheduled');
    logger.debug({ pod: key, node: result.nodeName }, 'bound');
    events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${result.nodeName}`);
    // Kubernetes' binding sets the condition itself; a pod that was marked unschedulable must not keep saying so.
    // The pod is bound either way, and a retry would find nothing to schedule: a failure here is only logged.
    if (podScheduledCondition(pod)) await setPodScheduled(pod, 'True').catch((err) => logger.warn({ err, pod: key }, 'could not mark the pod scheduled'));
  }

  informers.start();
  const controller: RunningController = runController({
    name: 'scheduler',
    queue,
    workers: options.workers ?? 64,
    reconcile,
    logger,
    waitFor: [podInformer, nodeInformer, claimInformer, volumeInformer, classInformer, namespaceInformer],
  });

  return {
    waitForSync: async (timeoutMs) => {
      await Promise.all([podInformer.waitForSync(timeoutMs), nodeInformer.waitForSync(timeoutMs)]);
    },
    async stop() {
      clearInterval(expiry);
      // Keys already queued are still decided, against a cache the informers keep current until then.
      await controller.stop();
      for (const remove of removeHandlers) remove();
      await events.flush();
      if (ownsInformers) await informers.stop();
    },
  };
}
