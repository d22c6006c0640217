import {
  type ControllerRevision,
  type DaemonSet,
  type LabelRequirement,
  matchesLabels,
  type Node,
  type Pod,
  requirementsOfSelector,
} from '@berth/api';
import { controllerOf, type EventRecorder, type Informer, keyOf, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { claimObjects, controllerReference } from './claim';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import {
  daemonSetStatus,
  isRollingUpdate,
  newDaemonPod,
  nodeShouldRunDaemonPod,
  type NodeState,
  planNodes,
  planRollingUpdate,
  revisionHash,
  targetNodeName,
} from './daemonset-plan';
import { Expectations } from './expectations';
import { CONTROLLER_REVISION_HASH_LABEL, hashControllerRevision, syncHistory } from './history';
import { msUntilAvailable } from './pods';
import { canonicalJson } from '@berth/api';
import { clone, CONTROLLER_REVISIONS, DAEMON_SETS, NODES, PODS } from './types';

export interface DaemonSetControllerOptions {
  workers?: number;
  /** The most pods one reconcile creates or deletes (Kubernetes' burstReplicas). */
  burstReplicas?: number;
}

/** Back-off before a failed daemon pod on a node is replaced again: 1 s doubling to 15 min, as Kubernetes'. */
const FAILED_BACKOFF_START_MS = 1000;
const FAILED_BACKOFF_MAX_MS = 15 * 60_000;

/** What of a node decides where daemon pods go: a heartbeat alone changes nothing. */
function placementView(node: Node): string {
  return canonicalJson({
    labels: node.metadata.labels,
    taints: node.spec?.taints,
    unschedulable: node.spec?.unschedulable,
  });
}

/**
 * Runs one pod of each DaemonSet on every node that should run it (Kubernetes' DaemonSetsController):
 * eligibility by the template's nodeSelector, required node affinity and tolerations (plus the tolerations
 * Kubernetes gives every daemon pod); pods are pinned by node affinity (`metadata.name`) and bound by the
 * scheduler, as in 1.32. Nodes that join get a pod, pods of nodes that leave or stop fitting go. Template
 * changes roll out per `updateStrategy` (RollingUpdate within maxUnavailable/maxSurge, or OnDelete), with the
 * revision history kept in ControllerRevisions (`kubectl rollout history|undo ds/x`).
 */
export class DaemonSetController {
  readonly queue = new WorkQueue<string>();
  private readonly expectations = new Expectations();
  private readonly sets: Informer<DaemonSet>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly burstReplicas: number;
  /** Per DaemonSet and node: when a failed pod may next be replaced, and the delay after that. */
  private readonly failedBackoff = new Map<string, { until: number; delayMs: number }>();

  constructor(private readonly ctx: ControllerContext, private readonly options: DaemonSetControllerOptions = {}) {
    this.sets = ctx.informers.informerFor<DaemonSet>({ resource: DAEMON_SETS });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.nodes = ctx.informers.informerFor<Node>({ resource: NODES });
    this.revisions = ctx.informers.informerFor<ControllerRevision>({ resource: CONTROLLER_REVISIONS });
    this.events = ctx.recorder('daemonset-controller');
    this.logger = ctx.logger.child({ controller: 'daemonset' });
    this.burstReplicas = options.burstReplicas ?? 250;
    this.sets.addEventHandler({
      onAdd: (ds) => this.queue.add(objectKey(ds)),
      onUpdate: (_, ds) => this.queue.add(objectKey(ds)),
      onDelete: (ds) => {
        this.expectations.forget(objectKey(ds));
        this.queue.add(objectKey(ds));
      },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => {
        const owner = this.ownerKey(pod);
        if (owner) this.expectations.creationObserved(owner);
        this.wakeFor(pod);
      },
      onUpdate: (oldPod, pod) => {
        const owner = this.ownerKey(pod);
        if (owner && pod.metadata.deletionTimestamp && !oldPod.metadata.deletionTimestamp) this.expectations.deletionObserved(owner, objectKey(pod));
        const oldOwner = this.ownerKey(oldPod);
        if (oldOwner && oldOwner !== owner) this.queue.add(oldOwner);
        this.wakeFor(pod);
      },
      onDelete: (pod) => {
        const owner = this.ownerKey(pod);
        if (owner) {
          this.expectations.deletionObserved(owner, objectKey(pod));
          this.queue.add(owner);
        }
      },
    });
    const everySet = () => {
      for (const ds of this.sets.list()) this.queue.add(objectKey(ds));
    };
    this.nodes.addEventHandler({
      onAdd: everySet,
      onUpdate: (oldNode, node) => {
        if (placementView(oldNode) !== placementView(node)) everySet();
      },
      onDelete: everySet,
    });
    const revisionChanged = (revision: ControllerRevision) => {
      const ref = controllerOf(revision);
      if (ref?.kind === 'DaemonSet') this.queue.add(keyOf(revision.metadata.namespace, ref.name));
    };
    this.revisions.addEventHandler({ onAdd: revisionChanged, onUpdate: (_, r) => revisionChanged(r), onDelete: revisionChanged });
  }

  start(): RunningController {
    return runController({
      name: 'daemonset',
      queue: this.queue,
      workers: this.options.workers ?? 2,
      logger: this.logger,
      waitFor: [this.sets, this.pods, this.nodes, this.revisions],
      reconcile: this.ctx.metrics.instrument('daemonset', this.queue, (key) => this.reconcile(key)),
    });
  }

  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerOf(pod);
    return ref?.kind === 'DaemonSet' ? keyOf(pod.metadata.namespace, ref.name) : undefined;
  }

  /** The pod's DaemonSet, or for an orphan every DaemonSet whose selector matches it (to adopt it). */
  private wakeFor(pod: Pod): void {
    const owner = this.ownerKey(pod);
    if (owner) return this.queue.add(owner);
    if (controllerOf(pod)) return;
    for (const ds of inNamespace(this.sets, pod.metadata.namespace)) {
      const selector = selectorOf(ds);
      if (selector?.length && matchesLabels(selector, pod.metadata.labels)) this.queue.add(objectKey(ds));
    }
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const cached = this.sets.get(key);
    if (!cached) {
      this.expectations.forget(key);
      for (const backoffKey of this.failedBackoff.keys()) if (backoffKey.startsWith(`${key}/`)) this.failedBackoff.delete(backoffKey);
      return;
    }
    const ds = clone(cached);
    const selector = selectorOf(ds);
    if (!selector) {
      this.logger.warn({ key }, 'DaemonSet has an invalid selector; ignoring it');
      return;
    }
    if (selector.length === 0) return; // an empty selector selects nothing: Kubernetes leaves such a DaemonSet alone
    // Checked before reading the cache: an expectation met afterwards can only make the cache more current.
    const needsSync = this.expectations.satisfied(key);
    const pods = await claimObjects({
      client: this.ctx.client,
      logger: this.logger,
      owner: ds,
      ownerType: DAEMON_SETS,
      dependentType: PODS,
      selector,
      candidates: inNamespace(this.pods, ds.metadata.namespace),
    });
    const nodes = this.nodeStates(ds, pods);
    const now = Date.now();
    // Being deleted: its revisions may already be gone or orphaned, and the garbage collector takes its pods.
    if (ds.metadata.deletionTimestamp) return;
    const { hash, collisionCount } = await this.syncHistory(ds, selector, pods);
    let waits: number[] = [];
    if (needsSync) waits = await this.manage(key, ds, nodes, hash, now);
    await this.updateStatus(ds, nodes, hash, now, collisionCount);

    const minReadySeconds = ds.spec?.minReadySeconds ?? 0;
    waits.push(...pods.map((pod) => msUntilAvailable(pod, minReadySeconds, now)).filter((ms): ms is number => ms !== undefined));
    if (waits.length) return { requeueAfter: Math.min(...waits) + 10 };
  }

  /** Every node with what it should run and the DaemonSet's pods for it; nodes that are gone but still have pods too. */
  private nodeStates(ds: DaemonSet, pods: Pod[]): Map<string, NodeState> {
    const states = new Map<string, NodeState>();
    for (const node of this.nodes.list()) states.set(node.metadata.name!, { node, placement: nodeShouldRunDaemonPod(node, ds), pods: [] });
    for (const pod of pods) {
      const nodeName = targetNodeName(pod);
      if (!nodeName) continue;
      let state = states.get(nodeName);
      if (!state) states.set(nodeName, (state = { placement: { shouldRun: false, shouldContinueRunning: false }, pods: [] }));
      state.pods.push(pod);
    }
    return states;
  }

  /**
   * The revision of the current template (created, or an old equal one renumbered as the newest), the
   * revisions adopted and deduplicated, and history beyond revisionHistoryLimit deleted.
   */
  private async syncHistory(ds: DaemonSet, selector: LabelRequirement[], pods: Pod[]): Promise<{ hash: string; collisionCount: number }> {
    const live = new Set(pods.filter((pod) => !pod.metadata.deletionTimestamp).map((pod) => pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]));
    const { current, collisionCount } = await syncHistory({
      client: this.ctx.client,
      logger: this.logger,
      owner: ds,
      ownerType: DAEMON_SETS,
      selector,
      candidates: inNamespace(this.revisions, ds.metadata.namespace),
      inUse: (history) => new Set(history.filter((r) => live.has(revisionHash(r))).map((r) => r.metadata.name!)),
    });
    return { hash: revisionHash(current) || hashControllerRevision(current.data, collisionCount), collisionCount };
  }

  /** Creates and deletes daemon pods; returns how long until a failed pod's back-off ends, if one is waiting. */
  private async manage(key: string, ds: DaemonSet, nodes: Map<string, NodeState>, hash: string, now: number): Promise<number[]> {
    const waits: number[] = [];
    const surge = isRollingUpdate(ds) && !!ds.spec?.updateStrategy?.rollingUpdate?.maxSurge && ds.spec.updateStrategy.rollingUpdate.maxSurge !== '0%';
    const plan = planNodes(nodes, hash, surge, ds.spec?.minReadySeconds ?? 0, now, (nodeName) => {
      const wait = this.failedBackoffWait(`${key}/${nodeName}`, now);
      if (wait > 0) waits.push(wait);
      return wait === 0;
    });
    for (const pod of plan.failed) {
      this.events.record(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${targetNodeName(pod)}, will try to kill it`);
    }
    const toDelete = [...plan.delete];
    const toCreate = [...plan.create];
    if (isRollingUpdate(ds)) {
      const desired = [...nodes.values()].filter((s) => s.node && s.placement.shouldRun).length;
      const step = planRollingUpdate(ds, nodes, hash, desired, now);
      for (const pod of step.delete) if (!toDelete.includes(pod)) toDelete.push(pod);
      for (const nodeName of step.create) if (!toCreate.includes(nodeName)) toCreate.push(nodeName);
    }
    await this.syncNodes(key, ds, toCreate.slice(0, this.burstReplicas), toDelete.slice(0, this.burstReplicas), plan.orphaned, hash);
    return waits;
  }

  /** 0 when a failed pod on the node may be replaced now (and the next back-off starts), else the ms to wait. */
  private failedBackoffWait(backoffKey: string, now: number): number {
    const entry = this.failedBackoff.get(backoffKey);
    if (entry && now < entry.until) return entry.until - now;
    const delayMs = entry ? Math.min(entry.delayMs * 2, FAILED_BACKOFF_MAX_MS) : FAILED_BACKOFF_START_MS;
    this.failedBackoff.set(backoffKey, { until: now + delayMs, delayMs });
    return 0;
  }

  private async syncNodes(key: string, ds: DaemonSet, create: string[], remove: Pod[], orphaned: Pod[], hash: string): Promise<void> {
    const deletions = [...remove.map((pod) => [pod, undefined] as const), ...orphaned.map((pod) => [pod, 0] as const)];
    this.expectations.expect(key, create.length, deletions.map(([pod]) => objectKey(pod)));
    const ownerReference = controllerReference(ds);
    const creations = create.map(async (nodeName) => {
      try {
        const pod = await this.ctx.client.create<Pod>(PODS, newDaemonPod(ds, nodeName, hash, ownerReference));
        this.events.record(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        // A creation that never happened will never be observed.
        this.expectations.creationObserved(key);
        this.events.record(ds, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
        throw err;
      }
    });
    const removals = deletions.map(async ([pod, gracePeriodSeconds]) => {
      try {
        await this.ctx.client.delete(PODS, pod.metadata.name!, { namespace: pod.metadata.namespace, ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) });
        this.events.record(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (err) {
        this.expectations.deletionObserved(key, objectKey(pod));
        if (!isBerthError(err, 'NotFound')) {
          this.events.record(ds, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
          throw err;
        }
      }
    });
    const results = await Promise.allSettled([...creations, ...removals]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async updateStatus(ds: DaemonSet, nodes: Map<string, NodeState>, hash: string, now: number, collisionCount: number | undefined): Promise<void> {
    const status = daemonSetStatus(ds, nodes, hash, now, collisionCount);
    if (canonicalJson(status) === canonicalJson(ds.status ?? {})) return;
    ds.status = status;
    await ignoreNotFound(this.ctx.client.updateStatus<DaemonSet>(DAEMON_SETS, ds));
  }
}

function selectorOf(ds: DaemonSet): LabelRequirement[] | undefined {
  try {
    return requirementsOfSelector(ds.spec?.selector);
  } catch {
    return undefined;
  }
}
