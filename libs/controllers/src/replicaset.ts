import { type LabelRequirement, matchesLabels, type Pod, type ReplicaSet, type ReplicaSetCondition, type ReplicaSetStatus, requirementsOfSelector } from '@berth/api';
import { controllerOf, type Informer, keyOf, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { claimObjects, controllerReference } from './claim';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import type { EventRecorder } from '@berth/controller';
import { Expectations } from './expectations';
import { isPodActive, isPodAvailable, isPodReady, msUntilAvailable, podsToDelete } from './pods';
import { canonicalJson } from '@berth/api';
import { clone, PODS, REPLICA_SETS } from './types';

export interface ReplicaSetControllerOptions {
  workers?: number;
  /** The most pods one reconcile creates or deletes (Kubernetes' burstReplicas). */
  burstReplicas?: number;
}

/** The pod a ReplicaSet creates from its template. */
export function podFromTemplate(rs: ReplicaSet): Pod {
  const template = rs.spec?.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [controllerReference(rs)],
    },
    spec: clone(template.spec!),
  };
}

/** Calls create count times in batches of 1, 2, 4, ... stopping after a batch with a failure, so a broken template costs one call, not hundreds. */
export async function slowStartBatch(count: number, create: () => Promise<void>): Promise<{ created: number; error?: unknown }> {
  let created = 0;
  for (let batch = 1; created < count; batch *= 2) {
    const size = Math.min(batch, count - created);
    const results = await Promise.allSettled(Array.from({ length: size }, create));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    created += results.filter((r) => r.status === 'fulfilled').length;
    if (failure) return { created, error: failure.reason };
  }
  return { created };
}

/**
 * Keeps spec.replicas pods matching each ReplicaSet's selector: creates them from the template, adopts
 * matching orphans, releases pods that stopped matching, deletes the least valuable when there are too many,
 * and reports counts in status.
 */
export class ReplicaSetController {
  readonly queue = new WorkQueue<string>();
  private readonly expectations = new Expectations();
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly burstReplicas: number;

  constructor(private readonly ctx: ControllerContext, private readonly options: ReplicaSetControllerOptions = {}) {
    this.sets = ctx.informers.informerFor<ReplicaSet>({ resource: REPLICA_SETS });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.events = ctx.recorder('replicaset-controller');
    this.logger = ctx.logger.child({ controller: 'replicaset' });
    this.burstReplicas = options.burstReplicas ?? 500;
    this.sets.addEventHandler({
      onAdd: (rs) => this.queue.add(objectKey(rs)),
      onUpdate: (_, rs) => this.queue.add(objectKey(rs)),
      onDelete: (rs) => {
        this.expectations.forget(objectKey(rs));
        this.queue.add(objectKey(rs));
      },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (oldPod, pod) => this.podUpdated(oldPod, pod),
      onDelete: (pod) => this.podDeleted(pod),
    });
  }

  start(): RunningController {
    return runController({
      name: 'replicaset',
      queue: this.queue,
      workers: this.options.workers ?? 2,
      logger: this.logger,
      waitFor: [this.sets, this.pods],
      reconcile: this.ctx.metrics.instrument('replicaset', this.queue, (key) => this.reconcile(key)),
    });
  }

  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerOf(pod);
    return ref?.kind === 'ReplicaSet' ? keyOf(pod.metadata.namespace, ref.name) : undefined;
  }

  /** ReplicaSets in the pod's namespace whose selector matches it: candidates to adopt an orphan. */
  private matchingSets(pod: Pod): ReplicaSet[] {
    return inNamespace(this.sets, pod.metadata.namespace).filter((rs) => {
      try {
        const selector = requirementsOfSelector(rs.spec?.selector);
        return selector.length > 0 && matchesLabels(selector, pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }

  private wakeOwnerOrCandidates(pod: Pod): void {
    const owner = this.ownerKey(pod);
    if (owner) this.queue.add(owner);
    else if (!controllerOf(pod)) for (const rs of this.matchingSets(pod)) this.queue.add(objectKey(rs));
  }

  private podAdded(pod: Pod): void {
    const owner = this.ownerKey(pod);
    if (owner) {
      if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(owner, objectKey(pod));
      else this.expectations.creationObserved(owner);
    }
    this.wakeOwnerOrCandidates(pod);
  }

  private podUpdated(oldPod: Pod, pod: Pod): void {
    if (oldPod.metadata.resourceVersion === pod.metadata.resourceVersion) return this.wakeOwnerOrCandidates(pod);
    const owner = this.ownerKey(pod);
    // A pod marked for deletion is as good as gone for the counts: the replacement may start now.
    if (owner && pod.metadata.deletionTimestamp && !oldPod.metadata.deletionTimestamp) this.expectations.deletionObserved(owner, objectKey(pod));
    const oldOwner = this.ownerKey(oldPod);
    if (oldOwner && oldOwner !== owner) this.queue.add(oldOwner);
    this.wakeOwnerOrCandidates(pod);
  }

  private podDeleted(pod: Pod): void {
    const owner = this.ownerKey(pod);
    if (!owner) return;
    this.expectations.deletionObserved(owner, objectKey(pod));
    this.queue.add(owner);
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const cached = this.sets.get(key);
    if (!cached) {
      this.expectations.forget(key);
      return;
    }
    const rs = clone(cached);
    let selector: LabelRequirement[];
    try {
      selector = requirementsOfSelector(rs.spec?.selector);
    } catch (err) {
      this.logger.warn({ err, key }, 'ReplicaSet has an invalid selector; ignoring it');
      return;
    }
    // Checked before reading the cache: an expectation met afterwards can only make the cache more current.
    const needsSync = this.expectations.satisfied(key);
    const candidates = inNamespace(this.pods, rs.metadata.namespace).filter(isPodActive);
    const owned = await claimObjects({
      client: this.ctx.client,
      logger: this.logger,
      owner: rs,
      ownerType: REPLICA_SETS,
      dependentType: PODS,
      selector,
      candidates,
    });

    let manageError: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) manageError = await this.manageReplicas(key, rs, owned);
    const now = Date.now();
    await this.updateStatus(rs, owned, manageError, now);
    if (manageError) throw manageError;

    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    const waits = owned.map((pod) => msUntilAvailable(pod, minReadySeconds, now)).filter((ms): ms is number => ms !== undefined);
    if (waits.length) return { requeueAfter: Math.min(...waits) + 10 };
  }

  /** Creates or deletes pods to reach spec.replicas; returns the create error, if any (deletions throw). */
  private async manageReplicas(key: string, rs: ReplicaSet, owned: Pod[]): Promise<unknown> {
    const diff = owned.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const count = Math.min(-diff, this.burstReplicas);
      this.expectations.expectCreations(key, count);
      const { created, error } = await slowStartBatch(count, async () => {
        const pod = await this.ctx.client.create<Pod>(PODS, podFromTemplate(rs));
        this.events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      });
      // Creations that never happened will never be observed.
      for (let i = created; i < count; i++) this.expectations.creationObserved(key);
      if (error) {
        this.events.record(rs, 'Warning', 'FailedCreate', `Error creating: ${(error as Error).message}`);
        return error;
      }
    } else if (diff > 0) {
      const victims = podsToDelete(owned, Math.min(diff, this.burstReplicas));
      this.expectations.expectDeletions(key, victims.map(objectKey));
      const results = await Promise.allSettled(
        victims.map(async (pod) => {
          try {
            await this.ctx.client.delete(PODS, pod.metadata.name!, { namespace: pod.metadata.namespace });
            this.events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
          } catch (err) {
            this.expectations.deletionObserved(key, objectKey(pod));
            if (!isBerthError(err, 'NotFound')) throw err;
          }
        }),
      );
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
    }
    return undefined;
  }

  private async updateStatus(rs: ReplicaSet, owned: Pod[], manageError: unknown, now: number): Promise<void> {
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    const status: ReplicaSetStatus = {
      replicas: owned.length,
      fullyLabeledReplicas: owned.filter((pod) => Object.entries(templateLabels).every(([k, v]) => pod.metadata.labels?.[k] === v)).length,
      readyReplicas: owned.filter(isPodReady).length,
      availableReplicas: owned.filter((pod) => isPodAvailable(pod, minReadySeconds, now)).length,
      observedGeneration: rs.metadata.generation,
    };
    const conditions = replicaFailureConditions(rs.status?.conditions ?? [], manageError, owned.length < (rs.spec?.replicas ?? 1));
    if (conditions.length) status.conditions = conditions;
    if (canonicalJson(status) === canonicalJson(rs.status ?? {})) return;
    rs.status = status;
    await ignoreNotFound(this.ctx.client.updateStatus<ReplicaSet>(REPLICA_SETS, rs));
  }
}

/** ReplicaFailure is True while creating pods fails, and goes away once the ReplicaSet is no longer short of pods. */
function replicaFailureConditions(current: ReplicaSetCondition[], manageError: unknown, short: boolean): ReplicaSetCondition[] {
  const others = current.filter((c) => c.type !== 'ReplicaFailure');
  const existing = current.find((c) => c.type === 'ReplicaFailure');
  if (manageError && short) {
    const message = (manageError as Error).message ?? String(manageError);
    if (existing?.status === 'True' && existing.message === message) return current;
    return [...others, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message, lastTransitionTime: new Date().toISOString() }];
  }
  return existing && !manageError ? others : current;
}
