import {
  budgetNeedsScale,
  budgetSelectsPod,
  budgetTargets,
  isPodHealthy,
  resourceForKind,
  type KubeObject,
  type Pod,
  type PodDisruptionBudget,
  type PodDisruptionBudgetStatus,
  type ReplicaSet,
} from '@berth/api';
import { controllerOf, type Informer, keyOf, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import { errors } from '@berth/errors';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { canonicalJson } from '@berth/api';
import { clone, PODS, REPLICA_SETS } from './types';

const BUDGETS = (() => {
  const type = resourceForKind('policy/v1', 'PodDisruptionBudget');
  if (!type) throw errors.internal('resource policy/v1 PodDisruptionBudget is not registered');
  return type;
})();
export { BUDGETS as POD_DISRUPTION_BUDGETS };

/**
 * How long an eviction's entry in status.disruptedPods counts the pod as gone although it is still there
 * (Kubernetes' DeletionTimeout): longer, and the deletion is taken to have failed.
 */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

/** What about a pod decides a budget's numbers: a pod update that changes none of it wakes no budget. */
function budgetView(pod: Pod): string {
  return canonicalJson({ labels: pod.metadata.labels ?? {}, healthy: isPodHealthy(pod), owner: controllerOf(pod)?.uid });
}

/** Why a budget's numbers could not be computed: reported in its DisruptionAllowed condition. */
class SyncFailure extends Error {}

/**
 * Kubernetes' disruption controller: keeps each PodDisruptionBudget's status (expectedPods, desiredHealthy,
 * currentHealthy, disruptionsAllowed, the DisruptionAllowed condition) true to the pods it covers and,
 * for percentages and maxUnavailable, to the desired scale of their controllers. Evictions spend
 * disruptionsAllowed and note the pod in disruptedPods; such a pod counts as gone until its deletion is
 * seen or DISRUPTED_POD_TIMEOUT_MS has passed.
 */
export class DisruptionController {
  readonly queue = new WorkQueue<string>();
  private readonly budgets: Informer<PodDisruptionBudget>;
  private readonly pods: Informer<Pod>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext, private readonly now: () => number = Date.now) {
    this.budgets = ctx.informers.informerFor<PodDisruptionBudget>({ resource: BUDGETS });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.replicaSets = ctx.informers.informerFor<ReplicaSet>({ resource: REPLICA_SETS });
    this.logger = ctx.logger.child({ controller: 'disruption' });
    const enqueueBudget = (pdb: PodDisruptionBudget) => this.queue.add(objectKey(pdb));
    this.budgets.addEventHandler({ onAdd: enqueueBudget, onUpdate: (_, pdb) => enqueueBudget(pdb) });
    this.pods.addEventHandler({
      onAdd: (pod) => this.enqueueBudgetsOf(pod),
      onUpdate: (oldPod, pod) => {
        if (budgetView(oldPod) !== budgetView(pod)) this.enqueueBudgetsOf(oldPod, pod);
      },
      onDelete: (pod) => this.enqueueBudgetsOf(pod),
    });
    // A controller scaled changes what percentages and maxUnavailable mean.
    this.replicaSets.addEventHandler({
      onUpdate: (oldRs, rs) => {
        if (oldRs.spec?.replicas === rs.spec?.replicas) return;
        for (const pdb of inNamespace(this.budgets, rs.metadata.namespace)) if (budgetNeedsScale(pdb)) this.queue.add(objectKey(pdb));
      },
    });
  }

  start(): RunningController {
    return runController({
      name: 'disruption',
      queue: this.queue,
      workers: 2,
      logger: this.logger,
      waitFor: [this.budgets, this.pods, this.replicaSets],
      reconcile: this.ctx.metrics.instrument('disruption', this.queue, (key) => this.reconcile(key)),
    });
  }

  private enqueueBudgetsOf(...pods: Pod[]): void {
    for (const pdb of inNamespace(this.budgets, pods[0]!.metadata.namespace)) {
      if (pods.some((pod) => budgetSelectsPod(pdb, pod))) this.queue.add(objectKey(pdb));
    }
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const pdb = this.budgets.get(key);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const now = this.now();
    const pods = inNamespace(this.pods, pdb.metadata.namespace).filter((pod) => budgetSelectsPod(pdb, pod));
    const { disruptedPods, recheckAfterMs } = this.liveDisruptions(pdb, pods, now);
    const currentHealthy = pods.filter((pod) => isPodHealthy(pod) && !(pod.metadata.name! in disruptedPods)).length;
    let status: PodDisruptionBudgetStatus;
    try {
      const desiredScale = budgetNeedsScale(pdb) ? await this.desiredScale(pods) : 0;
      const { expectedPods, desiredHealthy } = budgetTargets(pdb, pods.length, desiredScale);
      const disruptionsAllowed = Math.max(0, currentHealthy - desiredHealthy);
      status = this.status(pdb, now, { expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods }, disruptionsAllowed > 0 ? 'SufficientPods' : 'InsufficientPods', '');
    } catch (err) {
      if (!(err instanceof SyncFailure)) throw err;
      // As Kubernetes: a budget whose numbers are unknown allows no disruption.
      status = this.status(pdb, now, { expectedPods: pods.length, desiredHealthy: 0, currentHealthy, disruptionsAllowed: 0, disruptedPods }, 'SyncFailed', err.message);
    }
    if (canonicalJson(status) !== canonicalJson(pdb.status ?? {})) {
      const next = clone(pdb);
      next.status = status;
      await ignoreNotFound(this.ctx.client.updateStatus<PodDisruptionBudget>(BUDGETS, next));
    }
    return recheckAfterMs === undefined ? undefined : { requeueAfter: recheckAfterMs };
  }

  /**
   * The evictions still in flight: entries of pods that exist, are not yet being deleted and were evicted
   * less than DISRUPTED_POD_TIMEOUT_MS ago; and when the oldest of them expires.
   */
  private liveDisruptions(pdb: PodDisruptionBudget, pods: Pod[], now: number): { disruptedPods: Record<string, string>; recheckAfterMs?: number } {
    const disruptedPods: Record<string, string> = {};
    let recheckAfterMs: number | undefined;
    const byName = new Map(pods.map((pod) => [pod.metadata.name!, pod]));
    for (const [name, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
      const pod = byName.get(name);
      if (!pod || pod.metadata.deletionTimestamp) continue;
      const expiresIn = Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS - now;
      if (!(expiresIn > 0)) {
        this.logger.info({ budget: objectKey(pdb), pod: name }, 'an evicted pod was not deleted in time; counted again');
        continue;
      }
      disruptedPods[name] = at;
      recheckAfterMs = Math.min(recheckAfterMs ?? Infinity, expiresIn);
    }
    return { disruptedPods, recheckAfterMs };
  }

  private status(
    pdb: PodDisruptionBudget,
    now: number,
    counts: Omit<PodDisruptionBudgetStatus, 'observedGeneration' | 'conditions'>,
    reason: string,
    message: string,
  ): PodDisruptionBudgetStatus {
    const allowed = counts.disruptionsAllowed > 0 ? 'True' : 'False';
    const previous = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
    const lastTransitionTime = previous?.status === allowed && previous.lastTransitionTime ? previous.lastTransitionTime : new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    const { disruptedPods, ...rest } = counts;
    return {
      observedGeneration: pdb.metadata.generation,
      ...(disruptedPods && Object.keys(disruptedPods).length ? { disruptedPods } : {}),
      ...rest,
      conditions: [{ type: 'DisruptionAllowed', status: allowed, reason, message, lastTransitionTime, observedGeneration: pdb.metadata.generation }],
    };
  }

  /**
   * The desired scale of the controllers of the pods (Kubernetes' getExpectedScale): a ReplicaSet's owning
   * Deployment, else the ReplicaSet, else any owner kind with a scale subresource (StatefulSet); each counted once.
   */
  private async desiredScale(pods: Pod[]): Promise<number> {
    const scales = new Map<string, number>();
    for (const pod of pods) {
      const ref = controllerOf(pod);
      if (!ref) throw new SyncFailure(`found no controller ref for pod "${pod.metadata.name}"`);
      if (scales.has(ref.uid)) continue;
      const namespace = pod.metadata.namespace;
      if (ref.kind === 'ReplicaSet' && ref.apiVersion === 'apps/v1') {
        const rs = this.replicaSets.get(keyOf(namespace, ref.name));
        if (!rs || rs.metadata.uid !== ref.uid) throw new SyncFailure(`found no controllers for pod "${pod.metadata.name}"`);
        const deployment = controllerOf(rs);
        if (deployment?.kind === 'Deployment') {
          if (!scales.has(deployment.uid)) scales.set(deployment.uid, await this.replicasOf(deployment.apiVersion, deployment.kind, namespace, deployment.name, deployment.uid));
          scales.set(ref.uid, 0);
          continue;
        }
        scales.set(ref.uid, rs.spec?.replicas ?? 1);
        continue;
      }
      scales.set(ref.uid, await this.replicasOf(ref.apiVersion, ref.kind, namespace, ref.name, ref.uid));
    }
    return [...scales.values()].reduce((sum, n) => sum + n, 0);
  }

  private async replicasOf(apiVersion: string, kind: string, namespace: string | undefined, name: string, uid: string): Promise<number> {
    const type = resourceForKind(apiVersion, kind);
    if (!type || !type.subresources.includes('scale')) throw new SyncFailure(`${kind} ${name} has no scale subresource`);
    const owner = await ignoreNotFound(this.ctx.client.get<KubeObject>(type, name, { namespace }));
    if (!owner || owner.metadata.uid !== uid) throw new SyncFailure(`found no controllers for pod's owner ${kind} "${name}"`);
    const replicas = (owner.spec as { replicas?: unknown } | undefined)?.replicas;
    return typeof replicas === 'number' ? replicas : 1;
  }
}
