import type { Lease, Node, NodeCondition, Pod, Taint, Toleration } from '@berth/api';
import { type Informer, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound } from './context';
import type { EventRecorder } from '@berth/controller';
import { type Disruption, disruptionOf, NodeEvictionLimiter, NodeHealthClock } from './node-health';
import { clone, LEASES, NODE_LEASE_NAMESPACE, NODES, PODS } from './types';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
const NODE_NAME_INDEX = 'spec.nodeName';

/**
 * The defaults, chosen so that a lost host's pods run elsewhere within 30 s, as Swarm (15 s) and Nomad
 * (tens of seconds) reschedule, where Kubernetes' 40 s + 300 s take almost 6 minutes. Agents renew their
 * Lease every 5 s (DEFAULT_NODE_LEASE_DURATION_MS / 4, as kubelet): 200 Lease writes/s per 1,000 nodes.
 * A node is NotReady after 15 s without a renewal seen (three renewals missed, Kubernetes allows four),
 * and its pods are deleted 5 s later: 20 s at most from its last renewal, which leaves the replacement
 * pods about 10 s to be created, scheduled and started.
 */
export const DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS = 15_000;
export const DEFAULT_POD_EVICTION_TIMEOUT_MS = 5_000;
/** Kubernetes' --unhealthy-zone-threshold and --node-eviction-rate (nodes per second). */
export const DEFAULT_UNHEALTHY_ZONE_THRESHOLD = 0.55;
export const DEFAULT_NODE_EVICTION_RATE = 0.1;

export interface NodeLifecycleOptions {
  /** A node whose Lease (or Ready heartbeat) is older than this is marked Ready=Unknown. */
  nodeMonitorGracePeriodMs: number;
  /** Pods on a NotReady/unreachable node are deleted this long after the NoExecute taint was added. */
  podEvictionTimeoutMs: number;
  /** The share of nodes not Ready (more than two, or all) at which evictions stop; default 0.55. */
  unhealthyZoneThreshold?: number;
  /** Nodes whose pods may start being evicted per second; default 0.1 (one node every 10 s, the first at once). */
  nodeEvictionRate?: number;
  now?: () => number;
}

/** Does toleration tolerate taint (Kubernetes' Toleration.ToleratesTaint)? */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

/**
 * When a pod on a node with taint must go, in ms after the taint was added: 0 when nothing tolerates it,
 * the shortest tolerationSeconds of the tolerations that match, undefined (never) when one matches forever.
 */
export function evictionDelayMs(pod: Pod, taint: Taint): number | undefined {
  const matching = (pod.spec?.tolerations ?? []).filter((t) => tolerates(t, taint));
  if (matching.length === 0) return 0;
  if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) return undefined;
  return Math.max(0, Math.min(...matching.map((t) => t.tolerationSeconds! * 1000)));
}

/** The not-ready/unreachable taints a node should carry for its Ready condition. */
export function taintsForReadiness(ready: NodeCondition | undefined): string | undefined {
  if (!ready || ready.status === 'Unknown') return TAINT_UNREACHABLE;
  if (ready.status === 'False') return TAINT_NOT_READY;
  return undefined;
}

export const readyOf = (node: Node) => node.status?.conditions?.find((c) => c.type === 'Ready');

/**
 * Watches node heartbeats (Leases in kube-node-lease, and status heartbeats): marks nodes that stopped
 * reporting Ready=Unknown, keeps the not-ready/unreachable taints in step with Ready, and deletes the pods
 * of a node that stayed unreachable past the eviction timeout so their controllers replace them elsewhere.
 * Times are taken from this process's clock when a heartbeat is seen, not from the agents' clocks, and
 * time it could not see does not count (NodeHealthClock). When most nodes are unready at once, evictions
 * stop until enough are back (disruptionOf); they are paced node by node (NodeEvictionLimiter).
 */
export class NodeLifecycleController {
  readonly queue = new WorkQueue<string>();
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly health: NodeHealthClock;
  private readonly limiter: NodeEvictionLimiter;
  private disruption: Disruption = 'Normal';
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly ctx: ControllerContext, private readonly options: NodeLifecycleOptions) {
    this.now = options.now ?? Date.now;
    this.health = new NodeHealthClock(this.now);
    this.limiter = new NodeEvictionLimiter(options.nodeEvictionRate ?? DEFAULT_NODE_EVICTION_RATE, this.now);
    this.nodes = ctx.informers.informerFor<Node>({ resource: NODES });
    this.leases = ctx.informers.informerFor<Lease>({ resource: LEASES, namespace: NODE_LEASE_NAMESPACE });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS }, { [NODE_NAME_INDEX]: (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []) });
    this.events = ctx.recorder('node-controller');
    this.logger = ctx.logger.child({ controller: 'node-lifecycle' });
    this.nodes.addEventHandler({
      onAdd: (node) => this.observeNode(node),
      onUpdate: (_, node) => this.observeNode(node),
      onDelete: (node) => {
        this.health.forget(node.metadata.name!);
        this.limiter.release(node.metadata.name!);
        this.queue.add(node.metadata.name!);
      },
    });
    const observeLease = (lease: Lease) => {
      this.health.leaseSeen(lease.metadata.name!, lease.spec?.renewTime);
      this.queue.add(lease.metadata.name!);
    };
    this.leases.addEventHandler({ onAdd: observeLease, onUpdate: (_, lease) => observeLease(lease) });
    let watchedBefore = false;
    this.leases.addWatchListener((watching) => {
      this.health.watching(watching);
      if (!watching) {
        if (watchedBefore) this.logger.warn('lost the watch on node Leases; no node is judged until it is back');
        return;
      }
      watchedBefore = true;
      // Every node is judged again by the new times.
      for (const node of this.nodes.list()) this.queue.add(node.metadata.name!);
    });
  }

  start(): RunningController {
    return runController({
      name: 'node-lifecycle',
      queue: this.queue,
      logger: this.logger,
      waitFor: [this.nodes, this.leases, this.pods],
      reconcile: this.ctx.metrics.instrument('node-lifecycle', this.queue, (key) => this.reconcile(key)),
    });
  }

  private observeNode(node: Node): void {
    this.health.heartbeatSeen(node.metadata.name!, readyOf(node)?.lastHeartbeatTime);
    this.queue.add(node.metadata.name!);
  }

  async reconcile(name: string): Promise<void | { requeueAfter: number }> {
    const cached = this.nodes.get(name);
    if (!cached) return;
    let node = clone(cached);
    const now = this.now();
    // Blind, the controller can neither tell a dead node from a live one nor be sure an evicted pod's node
    // is gone: it waits for the watch to come back (which enqueues every node).
    if (this.health.blind) return;
    const silentFor = this.health.silentFor(name);
    const grace = this.options.nodeMonitorGracePeriodMs;
    const waits: number[] = [];

    if (silentFor > grace) node = await this.markUnknown(node, now);
    else {
      if (this.health.aliveSince(name, Date.parse(readyOf(node)?.lastTransitionTime ?? '') || 0)) node = await this.markAliveAgain(node, now);
      waits.push(grace - silentFor + 1);
    }
    node = await this.syncTaints(node, now);
    if (this.updateDisruption() === 'Normal') {
      const evictionWait = await this.evictPods(node, now);
      if (evictionWait !== undefined && Number.isFinite(evictionWait)) waits.push(evictionWait);
    }
    if (waits.length) return { requeueAfter: Math.max(1, Math.min(...waits)) };
  }

  /**
   * The cluster's disruption state from the cached nodes. Entering full disruption stops evictions; leaving
   * it resumes them one node at a time (the limiter starts empty).
   */
  private updateDisruption(): Disruption {
    const nodes = this.nodes.list();
    const state = disruptionOf(nodes, this.options.unhealthyZoneThreshold ?? DEFAULT_UNHEALTHY_ZONE_THRESHOLD);
    if (state === this.disruption) return state;
    this.disruption = state;
    this.limiter.empty();
    if (state === 'FullDisruption') {
      this.logger.warn({ nodes: nodes.length }, 'most nodes are not Ready at once: the control plane is likelier cut off than they are down; no pod is evicted until enough are back');
    } else {
      this.logger.info({ nodes: nodes.length }, 'enough nodes are Ready again; evictions resume one node at a time');
      for (const node of nodes) this.queue.add(node.metadata.name!);
    }
    return state;
  }

  private async markUnknown(node: Node, now: number): Promise<Node> {
    const ready = readyOf(node);
    if (ready?.status === 'Unknown') return node;
    const stamp = new Date(now).toISOString();
    const unknown = (type: string, previous?: NodeCondition): NodeCondition => ({
      type,
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastHeartbeatTime: previous?.lastHeartbeatTime,
      lastTransitionTime: stamp,
    });
    const conditions = (node.status?.conditions ?? []).map((c) => (c.status === 'Unknown' ? c : unknown(c.type, c)));
    if (!ready) conditions.push(unknown('Ready'));
    node.status = { ...(node.status ?? {}), conditions };
    this.logger.info({ node: node.metadata.name }, 'node stopped posting status; marking it NotReady');
    this.events.record(node, 'Normal', 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady`);
    return (await ignoreNotFound(this.ctx.client.updateStatus<Node>(NODES, node))) ?? node;
  }

  /**
   * Undoes this controller's own Ready=Unknown once the node heartbeats again, so it does not depend on
   * the agent re-posting a Ready condition it believes unchanged. Conditions the agent set are left alone.
   */
  private async markAliveAgain(node: Node, now: number): Promise<Node> {
    const ready = readyOf(node);
    if (ready?.status !== 'Unknown' || ready.reason !== 'NodeStatusUnknown') return node;
    const stamp = new Date(now).toISOString();
    node.status = {
      ...(node.status ?? {}),
      conditions: (node.status?.conditions ?? []).map((c) =>
        c.type === 'Ready'
          ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'node heartbeats resumed', lastHeartbeatTime: stamp, lastTransitionTime: stamp }
          : c,
      ),
    };
    this.logger.info({ node: node.metadata.name }, 'node heartbeats resumed; marking it Ready');
    this.events.record(node, 'Normal', 'NodeReady', `Node ${node.metadata.name} status is now: NodeReady`);
    const written = await ignoreNotFound(this.ctx.client.updateStatus<Node>(NODES, node));
    if (written) this.health.ownHeartbeat(node.metadata.name!, stamp);
    return written ?? node;
  }

  private async syncTaints(node: Node, now: number): Promise<Node> {
    const wanted = taintsForReadiness(readyOf(node));
    const current = node.spec?.taints ?? [];
    const kept = current.filter((t) => (t.key !== TAINT_NOT_READY && t.key !== TAINT_UNREACHABLE) || (t.key === wanted && (t.effect === 'NoSchedule' || t.effect === 'NoExecute')));
    const stamp = new Date(now).toISOString();
    const missing: Taint[] = wanted
      ? (['NoSchedule', 'NoExecute'] as const)
          .filter((effect) => !kept.some((t) => t.key === wanted && t.effect === effect))
          .map((effect) => ({ key: wanted, effect, ...(effect === 'NoExecute' ? { timeAdded: stamp } : {}) }))
      : [];
    if (missing.length === 0 && kept.length === current.length) return node;
    const taints = [...kept, ...missing];
    node.spec = { ...(node.spec ?? {}), taints };
    if (taints.length === 0) delete node.spec.taints;
    return (await ignoreNotFound(this.ctx.client.update<Node>(NODES, node))) ?? node;
  }

  /** Deletes the pods whose toleration of the node's NoExecute taint ran out; returns ms until the next one is due. */
  private async evictPods(node: Node, now: number): Promise<number | undefined> {
    const taint = node.spec?.taints?.find((t) => t.effect === 'NoExecute' && (t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE));
    if (!taint) {
      this.limiter.release(node.metadata.name!);
      return undefined;
    }
    const since = Date.parse(taint.timeAdded ?? '') || now;
    const base = since + this.options.podEvictionTimeoutMs;
    let nextDue: number | undefined;
    for (const pod of this.pods.byIndex(NODE_NAME_INDEX, node.metadata.name!)) {
      // Already going without grace (only finalizers hold it): nothing more to ask.
      if (pod.metadata.deletionTimestamp && !pod.metadata.deletionGracePeriodSeconds) continue;
      const delay = evictionDelayMs(pod, taint);
      if (delay === undefined) continue;
      const due = Math.max(base, since + delay);
      if (due > now) {
        nextDue = Math.min(nextDue ?? Infinity, due - now);
        continue;
      }
      const admittedIn = this.limiter.admit(node.metadata.name!);
      if (admittedIn > 0) return Math.min(nextDue ?? Infinity, admittedIn);
      this.logger.info({ node: node.metadata.name, pod: objectKey(pod) }, 'evicting pod from unreachable node');
      this.events.record(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${objectKey(pod)}`);
      // Without grace: a graceful deletion waits for the node's agent to stop the containers and finish it,
      // and no agent answers from an unreachable node. A terminating pod's grace is cut short the same way.
      await ignoreNotFound(this.ctx.client.delete(PODS, pod.metadata.name!, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0 }));
    }
    return nextDue;
  }
}
