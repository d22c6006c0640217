import {
  type Deployment,
  type DeploymentCondition,
  type DeploymentStatus,
  type LabelRequirement,
  matchesLabels,
  type Pod,
  type ReplicaSet,
  requirementsOfSelector,
} from '@berth/api';
import { controllerOf, type Informer, keyOf, objectKey, OWNER_UID_INDEX, runController, type RunningController, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { claimObjects, controllerReference } from './claim';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import type { EventRecorder } from '@berth/controller';
import { isPodActive, isPodAvailable } from './pods';
import { byCreation, isRollingUpdate, maxRevision, maxTotalReplicas, newReplicaSetReplicas, oldReplicaSetScaleDown, podTemplateHash, proportionalScale, resolveFenceposts, specReplicas } from './rollout';
import { canonicalJson, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, revisionOf, templatesEqualIgnoringHash } from '@berth/api';
import { clone, DEPLOYMENTS, PODS, REPLICA_SETS } from './types';

export interface DeploymentControllerOptions {
  workers?: number;
}

interface ReplicaSets {
  newSet?: ReplicaSet;
  oldSets: ReplicaSet[];
}

const PROGRESSING = 'Progressing';
const AVAILABLE = 'Available';

const replicasOf = (d: Deployment): number => d.spec?.replicas ?? 1;
const sumOf = (sets: ReplicaSet[], of: (rs: ReplicaSet) => number | undefined): number => sets.reduce((total, rs) => total + (of(rs) ?? 0), 0);
const allOf = ({ newSet, oldSets }: ReplicaSets): ReplicaSet[] => (newSet ? [newSet, ...oldSets] : oldSets);

/** Sets condition (replacing one of the same type), keeping lastTransitionTime while the status stays the same. */
export function setCondition(conditions: DeploymentCondition[], condition: Omit<DeploymentCondition, 'lastUpdateTime' | 'lastTransitionTime'>, now: string): DeploymentCondition[] {
  const current = conditions.find((c) => c.type === condition.type);
  if (current && current.status === condition.status && current.reason === condition.reason && current.message === condition.message) return conditions;
  const lastTransitionTime = current && current.status === condition.status ? (current.lastTransitionTime ?? now) : now;
  return [...conditions.filter((c) => c.type !== condition.type), { ...condition, lastUpdateTime: now, lastTransitionTime }];
}

/** Every pod of the new template is there and available, and the controller has seen the latest spec. */
export function deploymentComplete(d: Deployment, status: DeploymentStatus): boolean {
  const replicas = replicasOf(d);
  return (
    (status.updatedReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/**
 * Rolls Deployments out through ReplicaSets named `<deployment>-<pod-template-hash>`: RollingUpdate within
 * maxSurge/maxUnavailable or Recreate, proportional scaling mid-rollout, pause, rollback by template, revision
 * history, and the status `kubectl rollout status` reads.
 */
export class DeploymentController {
  readonly queue = new WorkQueue<string>();
  private readonly deployments: Informer<Deployment>;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext, private readonly options: DeploymentControllerOptions = {}) {
    this.deployments = ctx.informers.informerFor<Deployment>({ resource: DEPLOYMENTS });
    this.sets = ctx.informers.informerFor<ReplicaSet>({ resource: REPLICA_SETS });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.events = ctx.recorder('deployment-controller');
    this.logger = ctx.logger.child({ controller: 'deployment' });
    const enqueue = (d: Deployment) => this.queue.add(objectKey(d));
    this.deployments.addEventHandler({ onAdd: enqueue, onUpdate: (_, d) => enqueue(d), onDelete: enqueue });
    const setChanged = (rs: ReplicaSet) => this.wakeFor(rs);
    this.sets.addEventHandler({ onAdd: setChanged, onUpdate: (old, rs) => (setChanged(old), setChanged(rs)), onDelete: setChanged });
    // Availability is counted from pods, and Recreate waits for old pods to be gone.
    const podChanged = (pod: Pod) => {
      const ref = controllerOf(pod);
      const rs = ref?.kind === 'ReplicaSet' ? this.sets.get(keyOf(pod.metadata.namespace, ref.name)) : undefined;
      if (rs) this.wakeFor(rs);
    };
    this.pods.addEventHandler({ onAdd: podChanged, onUpdate: (_, pod) => podChanged(pod), onDelete: podChanged });
  }

  start(): RunningController {
    return runController({
      name: 'deployment',
      queue: this.queue,
      workers: this.options.workers ?? 2,
      logger: this.logger,
      waitFor: [this.deployments, this.sets, this.pods],
      reconcile: this.ctx.metrics.instrument('deployment', this.queue, (key) => this.reconcile(key)),
    });
  }

  /** The deployment controlling rs, or for an orphan every deployment whose selector matches it (to adopt it). */
  private wakeFor(rs: ReplicaSet): void {
    const ref = controllerOf(rs);
    if (ref) {
      if (ref.kind === 'Deployment') this.queue.add(keyOf(rs.metadata.namespace, ref.name));
      return;
    }
    for (const d of inNamespace(this.deployments, rs.metadata.namespace)) {
      const selector = safeSelector(d);
      if (selector?.length && matchesLabels(selector, rs.metadata.labels)) this.queue.add(objectKey(d));
    }
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const cached = this.deployments.get(key);
    if (!cached) return;
    const d = clone(cached);
    const selector = safeSelector(d);
    if (!selector?.length) {
      this.logger.warn({ key }, 'deployment has an empty or invalid selector; not managing it');
      return;
    }
    const owned = await claimObjects({
      client: this.ctx.client,
      logger: this.logger,
      owner: d,
      ownerType: DEPLOYMENTS,
      dependentType: REPLICA_SETS,
      selector,
      candidates: inNamespace(this.sets, d.metadata.namespace),
    });
    const sets = owned.map(clone);
    if (d.metadata.deletionTimestamp) return this.syncStatus(d, this.split(d, sets));
    if (d.spec?.paused || this.isScalingEvent(d, sets)) return this.syncScale(d, sets);
    return isRollingUpdate(d) ? this.rolloutRolling(d, sets) : this.rolloutRecreate(d, sets);
  }

  /** The ReplicaSet of the current template (the oldest, should there be several) and the others. */
  private split(d: Deployment, sets: ReplicaSet[]): ReplicaSets {
    const ordered = [...sets].sort(byCreation);
    const hashName = `${d.metadata.name}-${podTemplateHash(d.spec?.template, d.status?.collisionCount)}`;
    const newSet =
      ordered.find((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec?.template)) ?? ordered.find((rs) => rs.metadata.name === hashName);
    return { newSet, oldSets: ordered.filter((rs) => rs !== newSet) };
  }

  /** A replicas change (not a template change) since the active ReplicaSets were last sized. */
  private isScalingEvent(d: Deployment, sets: ReplicaSet[]): boolean {
    return sets.some((rs) => {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      return specReplicas(rs) > 0 && desired !== undefined && Number(desired) !== replicasOf(d);
    });
  }

  /**
   * The new ReplicaSet with its revision brought up to date (a rollback bumps an old one's revision and
   * records the old number in revision-history), created when asked and missing.
   */
  private async syncRevision(d: Deployment, sets: ReplicaSet[], create: boolean): Promise<ReplicaSets> {
    const { newSet, oldSets } = this.split(d, sets);
    const revision = String(maxRevision(oldSets) + 1);
    let current = newSet;
    if (newSet) {
      const annotations = { ...(newSet.metadata.annotations ?? {}), ...inheritedAnnotations(d) };
      const previous = newSet.metadata.annotations?.[REVISION_ANNOTATION];
      if (previous !== revision && revisionOf(newSet) < Number(revision)) {
        if (previous) annotations[REVISION_HISTORY_ANNOTATION] = [annotations[REVISION_HISTORY_ANNOTATION], previous].filter(Boolean).join(',');
        annotations[REVISION_ANNOTATION] = revision;
      }
      const minReadySeconds = d.spec?.minReadySeconds ?? 0;
      if (canonicalJson(annotations) !== canonicalJson(newSet.metadata.annotations ?? {}) || (newSet.spec?.minReadySeconds ?? 0) !== minReadySeconds) {
        const next = clone(newSet);
        next.metadata.annotations = annotations;
        next.spec = { ...next.spec!, minReadySeconds };
        current = await this.ctx.client.update<ReplicaSet>(REPLICA_SETS, next);
      }
    } else if (create) {
      current = await this.createNewSet(d, allOf({ oldSets }), revision);
    }
    if (current) await this.syncDeploymentRevision(d, current.metadata.annotations?.[REVISION_ANNOTATION] ?? revision, current);
    return { newSet: current, oldSets };
  }

  private async createNewSet(d: Deployment, allSets: ReplicaSet[], revision: string): Promise<ReplicaSet> {
    const hash = podTemplateHash(d.spec?.template, d.status?.collisionCount);
    const template = clone(d.spec!.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
    const replicas = newReplicaSetReplicas(d, allSets);
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations: { ...inheritedAnnotations(d), ...this.sizeAnnotations(d), [REVISION_ANNOTATION]: revision },
        ownerReferences: [controllerReference(d)],
      },
      spec: {
        replicas,
        minReadySeconds: d.spec?.minReadySeconds ?? 0,
        selector: { ...d.spec!.selector, matchLabels: { ...(d.spec!.selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } },
        template,
      },
    };
    let created: ReplicaSet;
    try {
      created = await this.ctx.client.create<ReplicaSet>(REPLICA_SETS, rs);
    } catch (err) {
      if (!isBerthError(err, 'AlreadyExists')) throw err;
      const existing = await this.ctx.client.get<ReplicaSet>(REPLICA_SETS, rs.metadata.name!, { namespace: d.metadata.namespace });
      // Ours and of this template: the informer just hasn't shown it yet.
      if (controllerOf(existing)?.uid === d.metadata.uid && templatesEqualIgnoringHash(existing.spec?.template, d.spec?.template)) return existing;
      // Another template already has this name: change the hash and try again.
      const next = clone(d);
      next.status = { ...(next.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
      await this.ctx.client.updateStatus<Deployment>(DEPLOYMENTS, next);
      throw err;
    }
    if (replicas > 0) this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);
    const now = new Date().toISOString();
    const conditions = setCondition(d.status?.conditions ?? [], { type: PROGRESSING, status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${created.metadata.name}"` }, now);
    d.status = { ...(d.status ?? {}), conditions };
    return created;
  }

  /** The deployment carries its new ReplicaSet's revision, which `rollout history` and `rollout undo` read. */
  private async syncDeploymentRevision(d: Deployment, revision: string, newSet: ReplicaSet): Promise<void> {
    if (d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return;
    const next = clone(d);
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision };
    const written = await this.ctx.client.update<Deployment>(DEPLOYMENTS, next);
    d.metadata = written.metadata;
    if (!d.status?.conditions?.some((c) => c.type === PROGRESSING)) {
      const conditions = setCondition(d.status?.conditions ?? [], { type: PROGRESSING, status: 'True', reason: 'FoundNewReplicaSet', message: `Found new replica set "${newSet.metadata.name}"` }, new Date().toISOString());
      d.status = { ...(d.status ?? {}), conditions };
    }
  }

  private sizeAnnotations(d: Deployment): Record<string, string> {
    return { [DESIRED_REPLICAS_ANNOTATION]: String(replicasOf(d)), [MAX_REPLICAS_ANNOTATION]: String(maxTotalReplicas(d)) };
  }

  /** Sets rs.spec.replicas (and the size annotations); returns whether anything changed. */
  private async scaleSet(d: Deployment, rs: ReplicaSet, replicas: number): Promise<boolean> {
    const annotations = { ...(rs.metadata.annotations ?? {}), ...this.sizeAnnotations(d) };
    const from = specReplicas(rs);
    if (from === replicas && canonicalJson(annotations) === canonicalJson(rs.metadata.annotations ?? {})) return false;
    const next = clone(rs);
    next.metadata.annotations = annotations;
    next.spec = { ...next.spec!, replicas };
    const written = await this.ctx.client.update<ReplicaSet>(REPLICA_SETS, next);
    Object.assign(rs, written);
    if (from !== replicas) {
      this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${replicas}`);
    }
    return from !== replicas;
  }

  /**
   * The ReplicaSet with availability counted from the pods in the cache, capped at its replicas: its status
   * lags behind deletions it has just made, and trusting it could take availability below the minimum.
   */
  private withPodAvailability(rs: ReplicaSet): ReplicaSet {
    const now = Date.now();
    const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
    const available = this.podsOf(rs).filter((pod) => isPodActive(pod) && isPodAvailable(pod, minReadySeconds, now)).length;
    return { ...rs, status: { ...(rs.status ?? { replicas: 0 }), availableReplicas: Math.min(available, specReplicas(rs), rs.status?.availableReplicas ?? available) } };
  }

  private podsOf(rs: ReplicaSet): Pod[] {
    return this.pods.byIndex(OWNER_UID_INDEX, rs.metadata.uid!).filter((pod) => controllerOf(pod)?.uid === rs.metadata.uid);
  }

  private async rolloutRolling(d: Deployment, sets: ReplicaSet[]) {
    const state = await this.syncRevision(d, sets, true);
    const newSet = state.newSet!;
    const all = allOf(state);
    const target = specReplicas(newSet) > replicasOf(d) ? replicasOf(d) : newReplicaSetReplicas(d, all, newSet);
    if (await this.scaleSet(d, newSet, target)) return this.syncStatus(d, state);

    const cuts = oldReplicaSetScaleDown(d, state.oldSets.map((rs) => this.withPodAvailability(rs)), this.withPodAvailability(newSet));
    let scaledDown = false;
    for (const rs of state.oldSets) {
      const replicas = cuts.get(rs.metadata.name!);
      if (replicas !== undefined) scaledDown = (await this.scaleSet(d, rs, replicas)) || scaledDown;
    }
    if (!scaledDown) await this.cleanupIfComplete(d, state);
    return this.syncStatus(d, state);
  }

  private async rolloutRecreate(d: Deployment, sets: ReplicaSet[]) {
    const existing = this.split(d, sets);
    let scaledDown = false;
    for (const rs of existing.oldSets) if (specReplicas(rs) > 0) scaledDown = (await this.scaleSet(d, rs, 0)) || scaledDown;
    if (scaledDown) return this.syncStatus(d, existing);
    // The new pods start only once every old one is gone, so two versions never run side by side.
    const oldPodsLeft = existing.oldSets.some((rs) => this.podsOf(rs).some((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed'));
    if (oldPodsLeft) return this.syncStatus(d, existing);
    const state = await this.syncRevision(d, sets, true);
    if (await this.scaleSet(d, state.newSet!, replicasOf(d))) return this.syncStatus(d, state);
    await this.cleanupIfComplete(d, state);
    return this.syncStatus(d, state);
  }

  /** Scaling without rolling: when paused, or when only replicas changed (shared proportionally mid-rollout). */
  private async syncScale(d: Deployment, sets: ReplicaSet[]) {
    const state = await this.syncRevision(d, sets, false);
    const all = allOf(state);
    const active = all.filter((rs) => specReplicas(rs) > 0);
    const single = active.length === 1 ? active[0] : active.length === 0 ? (state.newSet ?? [...state.oldSets].sort(byCreation).at(-1)) : undefined;
    if (single) {
      await this.scaleSet(d, single, replicasOf(d));
    } else if (state.newSet && specReplicas(state.newSet) === replicasOf(d) && (state.newSet.status?.availableReplicas ?? 0) === replicasOf(d)) {
      for (const rs of state.oldSets) await this.scaleSet(d, rs, 0);
    } else if (isRollingUpdate(d) && active.length > 1) {
      const newest = [...active].sort(byCreation).at(-1)!;
      const previousMax = Number(newest.metadata.annotations?.[MAX_REPLICAS_ANNOTATION]) || sumOf(active, specReplicas);
      const sizes = proportionalScale(d, active, previousMax);
      for (const rs of active) await this.scaleSet(d, rs, sizes.get(rs.metadata.name!) ?? specReplicas(rs));
    }
    if (d.spec?.paused) await this.cleanupHistory(d, state.oldSets);
    return this.syncStatus(d, state);
  }

  private async cleanupIfComplete(d: Deployment, state: ReplicaSets): Promise<void> {
    if (deploymentComplete(d, this.computeStatus(d, state))) await this.cleanupHistory(d, state.oldSets);
  }

  /** Deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private async cleanupHistory(d: Deployment, oldSets: ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = oldSets
      .filter((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp && (rs.status?.observedGeneration ?? 0) >= (rs.metadata.generation ?? 0))
      .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      this.logger.info({ deployment: objectKey(d), replicaSet: rs.metadata.name }, 'deleting old replica set beyond the revision history limit');
      await ignoreNotFound(this.ctx.client.delete(REPLICA_SETS, rs.metadata.name!, { namespace: rs.metadata.namespace }));
    }
  }

  private computeStatus(d: Deployment, state: ReplicaSets): DeploymentStatus {
    const all = allOf(state);
    const availableReplicas = sumOf(all, (rs) => rs.status?.availableReplicas);
    const status: DeploymentStatus = {
      observedGeneration: d.metadata.generation,
      replicas: sumOf(all, (rs) => rs.status?.replicas),
      updatedReplicas: state.newSet?.status?.replicas ?? 0,
      readyReplicas: sumOf(all, (rs) => rs.status?.readyReplicas),
      availableReplicas,
      unavailableReplicas: Math.max(0, sumOf(all, specReplicas) - availableReplicas),
      conditions: d.status?.conditions ?? [],
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    return status;
  }

  /** Writes status when it changed; asks to be requeued when the progress deadline could pass unnoticed. */
  private async syncStatus(d: Deployment, state: ReplicaSets): Promise<void | { requeueAfter: number }> {
    const now = new Date();
    const stamp = now.toISOString();
    const status = this.computeStatus(d, state);
    // Compared with the status as last written: d.status may already carry conditions this reconcile added.
    const current = this.deployments.get(objectKey(d))?.status ?? {};
    const replicas = replicasOf(d);
    const maxUnavailable = isRollingUpdate(d) ? resolveFenceposts(d).maxUnavailable : 0;
    let conditions = status.conditions ?? [];
    conditions =
      (status.availableReplicas ?? 0) >= replicas - maxUnavailable
        ? setCondition(conditions, { type: AVAILABLE, status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, stamp)
        : setCondition(conditions, { type: AVAILABLE, status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, stamp);

    let requeueAfter: number | undefined;
    const progressing = conditions.find((c) => c.type === PROGRESSING);
    const deadlineSeconds = d.spec?.progressDeadlineSeconds;
    if (d.spec?.paused) {
      if (progressing?.reason !== 'DeploymentPaused') {
        conditions = setCondition(conditions, { type: PROGRESSING, status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, stamp);
      }
    } else if (progressing?.reason === 'DeploymentPaused') {
      conditions = setCondition(conditions, { type: PROGRESSING, status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' }, stamp);
    } else if (state.newSet && !d.metadata.deletionTimestamp) {
      const name = state.newSet.metadata.name;
      if (deploymentComplete(d, status)) {
        conditions = setCondition(conditions, { type: PROGRESSING, status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }, stamp);
      } else if (madeProgress(current, status)) {
        const updated = setCondition(conditions.filter((c) => c.type !== PROGRESSING || c.status === 'True'), { type: PROGRESSING, status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` }, stamp);
        // Progress renews the deadline even when the condition's text is unchanged.
        conditions = updated.map((c) => (c.type === PROGRESSING ? { ...c, lastUpdateTime: stamp } : c));
      } else if (deadlineSeconds !== undefined && progressing && progressing.reason !== 'ProgressDeadlineExceeded') {
        const since = Date.parse(progressing.lastUpdateTime ?? progressing.lastTransitionTime ?? stamp);
        const remaining = since + deadlineSeconds * 1000 - now.getTime();
        if (remaining <= 0) {
          conditions = setCondition(conditions, { type: PROGRESSING, status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }, stamp);
          this.events.record(d, 'Warning', 'ProgressDeadlineExceeded', `Deployment "${d.metadata.name}" has timed out progressing.`);
        } else {
          requeueAfter = remaining + 100;
        }
      }
    }
    status.conditions = conditions;
    if (canonicalJson(status) !== canonicalJson(current)) {
      const next = clone(d);
      next.status = status;
      await ignoreNotFound(this.ctx.client.updateStatus<Deployment>(DEPLOYMENTS, next));
    }
    const progress = conditions.find((c) => c.type === PROGRESSING);
    if (requeueAfter === undefined && deadlineSeconds !== undefined && !d.spec?.paused && progress?.status === 'True' && progress.reason !== 'NewReplicaSetAvailable') {
      requeueAfter = deadlineSeconds * 1000 + 100;
    }
    return requeueAfter === undefined ? undefined : { requeueAfter };
  }
}

/** More pods updated, ready or available, or fewer old ones, than the last status said (Kubernetes' DeploymentProgressing). */
function madeProgress(before: DeploymentStatus, after: DeploymentStatus): boolean {
  const oldPods = (s: DeploymentStatus) => (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (after.updatedReplicas ?? 0) > (before.updatedReplicas ?? 0) ||
    oldPods(after) < oldPods(before) ||
    (after.readyReplicas ?? 0) > (before.readyReplicas ?? 0) ||
    (after.availableReplicas ?? 0) > (before.availableReplicas ?? 0)
  );
}

/** Annotations the deployment passes on to its new ReplicaSet (kubernetes.io/change-cause, for `rollout history`). */
const NOT_INHERITED = new Set([
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'kubectl.kubernetes.io/last-applied-configuration',
]);

function inheritedAnnotations(d: Deployment): Record<string, string> {
  return Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([key]) => !NOT_INHERITED.has(key)));
}

function safeSelector(d: Deployment): LabelRequirement[] | undefined {
  try {
    return requirementsOfSelector(d.spec?.selector);
  } catch {
    return undefined;
  }
}
