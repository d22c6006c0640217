import type { Lease, Node, NodeCondition, Pod, Taint, Toleration } from '@berth/api';
import { type Informer, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound } from './context';
import type { EventRecorder } from '@berth/controller';
import { clone, LEASES, NODE_LEASE_NAMESPACE, NODES, PODS } from './types';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
const NODE_NAME_INDEX = 'spec.nodeName';

export interface NodeLifecycleOptions {
  /** A node whose Lease (or Ready heartbeat) is older than this is marked Ready=Unknown. */
  nodeMonitorGracePeriodMs: number;
  /** Pods on a NotReady/unreachable node are deleted this long after the NoExecute taint was added. */
  podEvictionTimeoutMs: number;
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

interface Probe {
  /** Local time the node last showed it was alive (a renewed Lease or a new status heartbeat). */
  at: number;
  renewTime?: string;
  heartbeat?: string;
}

export const readyOf = (node: Node) => node.status?.conditions?.find((c) => c.type === 'Ready');

/**
 * Watches node heartbeats (Leases in kube-node-lease, and status heartbeats): marks nodes that stopped
 * reporting Ready=Unknown, keeps the not-ready/unreachable taints in step with Ready, and deletes the pods
 * of a node that stayed unreachable past the eviction timeout so their controllers replace them elsewhere.
 * Times are taken from this process's clock when a heartbeat is seen, not from the agents' clocks.
 */
export class NodeLifecycleController {
  readonly queue = new WorkQueue<string>();
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly probes = new Map<string, Probe>();
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly ctx: ControllerContext, private readonly options: NodeLifecycleOptions) {
    this.now = options.now ?? Date.now;
    this.nodes = ctx.informers.informerFor<Node>({ resource: NODES });
    this.leases = ctx.informers.informerFor<Lease>({ resource: LEASES, namespace: NODE_LEASE_NAMESPACE });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS }, { [NODE_NAME_INDEX]: (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []) });
    this.events = ctx.recorder('node-controller');
    this.logger = ctx.logger.child({ controller: 'node-lifecycle' });
    this.nodes.addEventHandler({
      onAdd: (node) => this.observeNode(node),
      onUpdate: (_, node) => this.observeNode(node),
      onDelete: (node) => {
        this.probes.delete(node.metadata.name!);
        this.queue.add(node.metadata.name!);
      },
    });
    const observeLease = (lease: Lease) => {
      const name = lease.metadata.name!;
      const probe = this.probeOf(name);
      const renewTime = lease.spec?.renewTime;
      if (renewTime && renewTime !== probe.renewTime) Object.assign(probe, { renewTime, at: this.now() });
      this.queue.add(name);
    };
    this.leases.addEventHandler({ onAdd: observeLease, onUpdate: (_, lease) => observeLease(lease) });
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

  /** A node first seen gets a full grace period from now, as after a controller restart. */
  private probeOf(name: string): Probe {
    let probe = this.probes.get(name);
    if (!probe) this.probes.set(name, (probe = { at: this.now() }));
    return probe;
  }

  private observeNode(node: Node): void {
    const name = node.metadata.name!;
    const probe = this.probeOf(name);
    const heartbeat = readyOf(node)?.lastHeartbeatTime;
    if (heartbeat && heartbeat !== probe.heartbeat) {
      if (probe.heartbeat !== undefined) probe.at = this.now();
      probe.heartbeat = heartbeat;
    }
    this.queue.add(name);
  }

  async reconcile(name: string): Promise<void | { requeueAfter: number }> {
    const cached = this.nodes.get(name);
    if (!cached) return;
    let node = clone(cached);
    const now = this.now();
    const silentFor = now - this.probeOf(name).at;
    const grace = this.options.nodeMonitorGracePeriodMs;
    const waits: number[] = [];

    if (silentFor > grace) node = await this.markUnknown(node, now);
    else {
      node = await this.markAliveAgain(node, now);
      waits.push(grace - silentFor + 1);
    }
    node = await this.syncTaints(node, now);
    const evictionWait = await this.evictPods(node, now);
    if (evictionWait !== undefined) waits.push(evictionWait);
    if (waits.length) return { requeueAfter: Math.max(1, Math.min(...waits)) };
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
    if (written) this.probeOf(node.metadata.name!).heartbeat = stamp;
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
    if (!taint) return undefined;
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
      this.logger.info({ node: node.metadata.name, pod: objectKey(pod) }, 'evicting pod from unreachable node');
      this.events.record(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${objectKey(pod)}`);
      // Without grace: a graceful deletion waits for the node's agent to stop the containers and finish it,
      // and no agent answers from an unreachable node. A terminating pod's grace is cut short the same way.
      await ignoreNotFound(this.ctx.client.delete(PODS, pod.metadata.name!, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0 }));
    }
    return nextDue;
  }
}
