import { type ControllerRevision, type LabelRequirement, matchesLabels, type PersistentVolumeClaim, type Pod, requirementsOfSelector, type StatefulSet } from '@berth/api';
import {
  controllerOf,
  enqueueMapped,
  enqueueObject,
  enqueueOwner,
  type EventRecorder,
  type Informer,
  objectKey,
  ownerKeys,
  runController,
  type RunningController,
  WorkQueue,
} from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { claimObjects } from './claim';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { syncHistory } from './history';
import { msUntilAvailable } from './pods';
import { canonicalJson } from '@berth/api';
import {
  claimOwners,
  newClaims,
  ordinalOf,
  planStatefulSet,
  podForOrdinal,
  podRevision,
  type Revisions,
  statefulSetStatus,
  type Step,
} from './statefulset-plan';
import { clone, CONTROLLER_REVISIONS, PERSISTENT_VOLUME_CLAIMS, PODS, STATEFUL_SETS } from './types';

export interface StatefulSetControllerOptions {
  workers?: number;
}

/**
 * Runs each StatefulSet's pods `<set>-0..N-1` with stable names, DNS identities (hostname, subdomain =
 * serviceName) and claims `<template>-<set>-<ordinal>` made from its volumeClaimTemplates before the pod
 * (Kubernetes' StatefulSetController): OrderedReady creates in ordinal order, each once the previous is
 * Running and Ready, and removes in reverse; Parallel does all at once. Template changes roll out per
 * updateStrategy (RollingUpdate from the highest ordinal down to the partition, or OnDelete), with the
 * history in ControllerRevisions (`kubectl rollout status|history|undo sts/x`). Claims are kept or
 * deleted per persistentVolumeClaimRetentionPolicy through owner references, which the garbage collector
 * follows.
 */
export class StatefulSetController {
  readonly queue = new WorkQueue<string>();
  private readonly sets: Informer<StatefulSet>;
  private readonly pods: Informer<Pod>;
  private readonly revisions: Informer<ControllerRevision>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext, private readonly options: StatefulSetControllerOptions = {}) {
    this.sets = ctx.informers.informerFor<StatefulSet>({ resource: STATEFUL_SETS });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.revisions = ctx.informers.informerFor<ControllerRevision>({ resource: CONTROLLER_REVISIONS });
    this.claims = ctx.informers.informerFor<PersistentVolumeClaim>({ resource: PERSISTENT_VOLUME_CLAIMS });
    this.events = ctx.recorder('statefulset-controller');
    this.logger = ctx.logger.child({ controller: 'statefulset' });
    this.sets.addEventHandler(enqueueObject(this.queue));
    this.pods.addEventHandler(enqueueMapped(this.queue, (pod: Pod) => this.setsOfPod(pod)));
    this.revisions.addEventHandler(enqueueOwner(this.queue, { kind: 'StatefulSet', apiVersion: 'apps/v1' }));
    // A claim being deleted holds its pod back until it is gone and can be made again.
    this.claims.addEventHandler(enqueueMapped(this.queue, (claim: PersistentVolumeClaim) => this.setsOfClaim(claim)));
  }

  start(): RunningController {
    return runController({
      name: 'statefulset',
      queue: this.queue,
      workers: this.options.workers ?? 2,
      logger: this.logger,
      waitFor: [this.sets, this.pods, this.revisions, this.claims],
      reconcile: this.ctx.metrics.instrument('statefulset', this.queue, (key) => this.reconcile(key)),
    });
  }

  /** The pod's StatefulSet, or for an orphan every StatefulSet whose selector matches it (to adopt it). */
  private setsOfPod(pod: Pod): string[] {
    if (controllerOf(pod)) return ownerKeys(pod, { kind: 'StatefulSet', apiVersion: 'apps/v1' });
    return inNamespace(this.sets, pod.metadata.namespace)
      .filter((set) => {
        const selector = selectorOf(set);
        return !!selector?.length && matchesLabels(selector, pod.metadata.labels);
      })
      .map(objectKey);
  }

  /** The StatefulSets whose claim templates name claims like this one (`<template>-<set>-<ordinal>`). */
  private setsOfClaim(claim: PersistentVolumeClaim): string[] {
    const name = claim.metadata.name ?? '';
    return inNamespace(this.sets, claim.metadata.namespace)
      .filter((set) => (set.spec?.volumeClaimTemplates ?? []).some((t) => name.startsWith(`${t.metadata.name}-${set.metadata.name}-`)))
      .map(objectKey);
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const cached = this.sets.get(key);
    if (!cached) return;
    const set = clone(cached);
    const selector = selectorOf(set);
    if (!selector) {
      this.logger.warn({ key }, 'StatefulSet has an invalid selector; ignoring it');
      return;
    }
    if (selector.length === 0) return;
    const claimed = await claimObjects({
      client: this.ctx.client,
      logger: this.logger,
      owner: set,
      ownerType: STATEFUL_SETS,
      dependentType: PODS,
      selector,
      candidates: inNamespace(this.pods, set.metadata.namespace),
    });
    // Being deleted: the garbage collector takes its pods, and its claims as the retention policy says.
    if (set.metadata.deletionTimestamp) return;
    const pods = claimed.filter((pod) => ordinalOf(set, pod) !== undefined);
    const revisions = await this.syncRevisions(set, selector, pods);
    const now = Date.now();
    await this.syncClaimOwners(set, pods);
    const plan = planStatefulSet(set, pods, revisions.update.metadata.name!, now);
    await this.apply(set, plan.steps, revisions);
    await this.updateStatus(set, pods, revisions, now);
    const minReadySeconds = set.spec?.minReadySeconds ?? 0;
    const waits = pods.map((pod) => msUntilAvailable(pod, minReadySeconds, now)).filter((ms): ms is number => ms !== undefined);
    if (waits.length) return { requeueAfter: Math.min(...waits) + 10 };
  }

  /** The update revision (the template now), the current one (what status says pods ran), history truncated. */
  private async syncRevisions(set: StatefulSet, selector: LabelRequirement[], pods: Pod[]): Promise<Revisions & { collisionCount: number }> {
    const live = new Set(pods.map(podRevision));
    const { current: update, history, collisionCount } = await syncHistory({
      client: this.ctx.client,
      logger: this.logger,
      owner: set,
      ownerType: STATEFUL_SETS,
      selector,
      candidates: inNamespace(this.revisions, set.metadata.namespace),
      inUse: (all) => new Set(all.filter((r) => live.has(r.metadata.name) || r.metadata.name === set.status?.currentRevision).map((r) => r.metadata.name!)),
    });
    const current = history.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    set.status = { ...(set.status ?? { replicas: 0 }), collisionCount };
    return { current, update, collisionCount };
  }

  /** Claims of existing pods follow the retention policy (a scaled-down ordinal's claims get its pod as owner). */
  private async syncClaimOwners(set: StatefulSet, pods: Pod[]): Promise<void> {
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp) continue;
      await this.ensureClaims(set, ordinalOf(set, pod)!, pod);
    }
  }

  /**
   * Creates the claims of ordinal that are missing and gives existing ones the owners the retention policy
   * wants. False when a claim is being deleted: its pod must wait for the claim to go and be made again.
   */
  private async ensureClaims(set: StatefulSet, ordinal: number, pod: Pod | undefined): Promise<boolean> {
    let ready = true;
    for (const wanted of newClaims(set, ordinal)) {
      const existing = this.claims.get(objectKey(wanted));
      if (!existing) {
        try {
          await this.ctx.client.create<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, wanted);
          this.events.record(set, 'Normal', 'SuccessfulCreate', `create Claim ${wanted.metadata.name} Pod ${set.metadata.name}-${ordinal} in StatefulSet ${set.metadata.name} success`);
        } catch (err) {
          if (!isBerthError(err, 'AlreadyExists')) {
            this.events.record(set, 'Warning', 'FailedCreate', `create Claim ${wanted.metadata.name} for Pod ${set.metadata.name}-${ordinal} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`);
            throw err;
          }
        }
        continue;
      }
      if (existing.metadata.deletionTimestamp) {
        ready = false;
        continue;
      }
      const owners = claimOwners(existing, set, pod, ordinal);
      if (!owners) continue;
      const next = clone(existing);
      next.metadata.ownerReferences = owners;
      if (owners.length === 0) delete next.metadata.ownerReferences;
      await ignoreNotFound(this.ctx.client.update<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, next));
    }
    return ready;
  }

  private async apply(set: StatefulSet, steps: Step[], revisions: Revisions): Promise<void> {
    for (const step of steps) {
      if (step.action === 'create') {
        if (!(await this.ensureClaims(set, step.ordinal, undefined))) continue;
        const pod = podForOrdinal(set, step.ordinal, revisions);
        try {
          await this.ctx.client.create<Pod>(PODS, pod);
          this.events.record(set, 'Normal', 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
        } catch (err) {
          // The cache is behind: the pod is there already.
          if (isBerthError(err, 'AlreadyExists')) continue;
          this.events.record(set, 'Warning', 'FailedCreate', `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`);
          throw err;
        }
        continue;
      }
      const { pod } = step;
      // A scaled-down pod's claims first get it as owner when whenScaled is Delete, so they go with it.
      if (step.scaled) await this.ensureClaims(set, ordinalOf(set, pod)!, pod);
      try {
        await this.ctx.client.delete(PODS, pod.metadata.name!, { namespace: pod.metadata.namespace, preconditions: { uid: pod.metadata.uid } });
        this.events.record(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
      } catch (err) {
        if (isBerthError(err, 'NotFound') || isBerthError(err, 'Conflict')) continue;
        this.events.record(set, 'Warning', 'FailedDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`);
        throw err;
      }
    }
  }

  private async updateStatus(set: StatefulSet, pods: Pod[], revisions: Revisions & { collisionCount: number }, now: number): Promise<void> {
    const status = statefulSetStatus(set, pods, revisions, revisions.collisionCount, now);
    const stored = this.sets.get(objectKey(set))?.status ?? {};
    if (canonicalJson(status) === canonicalJson(stored)) return;
    set.status = status;
    await ignoreNotFound(this.ctx.client.updateStatus<StatefulSet>(STATEFUL_SETS, set));
  }
}

function selectorOf(set: StatefulSet): LabelRequirement[] | undefined {
  try {
    return requirementsOfSelector(set.spec?.selector);
  } catch {
    return undefined;
  }
}
