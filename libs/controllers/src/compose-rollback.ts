import {
  type Deployment,
  type DeploymentCondition,
  deploymentRevisions,
  planRollback,
  type ReplicaSet,
  type Rollback,
  rollbackPatch,
  revisionOf,
  templatesEqualIgnoringHash,
} from '@berth/api';
import { UPDATE_FAILURE_ACTION_ANNOTATION } from '@berth/compose';
import { controllerOf, type EventRecorder, type Informer, keyOf, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { podTemplateHash } from './rollout';
import { DEPLOYMENTS, REPLICA_SETS } from './types';

/**
 * On a Deployment this controller rolled back: the pod-template-hash of the template it restored. When that
 * template fails too, it is left alone (Swarm pauses a rollback that fails): no rollback loop between two
 * failing revisions.
 */
export const ROLLED_BACK_TEMPLATE_ANNOTATION = 'compose.berth.dev/rolled-back-template';

/** What to do with a Deployment: nothing (why, for the log), roll it back, or say that it cannot be. */
export type RollbackDecision =
  | { action: 'none'; why: string }
  | { action: 'rollback'; failed: ReplicaSet; reason: string; plan: Rollback }
  | { action: 'cannot'; failed: ReplicaSet; message: string };

const failedProgressing = (d: Deployment): DeploymentCondition | undefined =>
  (d.status?.conditions ?? []).find((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded');

/**
 * Whether a Deployment asking for `update-failure-action: rollback` must be rolled back now: its controller
 * has seen its current spec, the rollout of its current template (the ReplicaSet whose template it is, named
 * in the condition) has exceeded its progress deadline, and that template is not one this controller
 * already rolled back to. `sets` are the Deployment's ReplicaSets by revision (deploymentRevisions).
 */
export function decideRollback(d: Deployment, sets: ReadonlyMap<number, ReplicaSet>): RollbackDecision {
  if (d.metadata.annotations?.[UPDATE_FAILURE_ACTION_ANNOTATION] !== 'rollback') return { action: 'none', why: 'no rollback asked for' };
  if (d.metadata.deletionTimestamp) return { action: 'none', why: 'being deleted' };
  if (d.spec?.paused) return { action: 'none', why: 'paused' };
  if ((d.metadata.generation ?? 0) > (d.status?.observedGeneration ?? 0)) return { action: 'none', why: 'its spec is not observed yet' };
  const failed = failedProgressing(d);
  if (!failed) return { action: 'none', why: 'its rollout has not failed' };
  const current = [...sets.values()].find((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec?.template));
  // The condition names the ReplicaSet that timed out: one of an earlier template is stale (a manual undo).
  if (!current || !failed.message?.includes(`"${current.metadata.name}"`)) return { action: 'none', why: 'the failure is not of its current template' };
  if (d.metadata.annotations?.[ROLLED_BACK_TEMPLATE_ANNOTATION] === podTemplateHash(d.spec?.template)) {
    return { action: 'none', why: 'its current template is the one it was rolled back to' };
  }
  const reason = failed.message;
  let plan: Rollback | { skipped: number };
  try {
    plan = planRollback(d, sets);
  } catch (err) {
    if (isBerthError(err)) return { action: 'cannot', failed: current, message: `update failed (${reason}) and cannot be rolled back: ${err.message}` };
    throw err;
  }
  if ('skipped' in plan) return { action: 'none', why: `its template already is revision ${plan.skipped}` };
  return { action: 'rollback', failed: current, reason, plan };
}

/**
 * Compose's and Swarm's `update_config.failure_action: rollback` (`berth service update --update-failure-action
 * rollback`), kept by the cluster: a Deployment annotated `compose.berth.dev/update-failure-action: rollback`
 * whose rollout exceeds its progress deadline (update_config.monitor) is rolled back to its previous revision
 * as `berth rollout undo` does it (planRollback, shared with the CLI), and the event `RolledBack` says so in
 * Swarm's words. The restored template is marked (ROLLED_BACK_TEMPLATE_ANNOTATION): should it fail as well,
 * it is left as it is, as Swarm leaves a failed rollback paused. The write tests the resourceVersion it
 * decided on, so a Deployment changed meanwhile is decided again, never rolled back twice.
 */
export class ComposeRollbackController {
  readonly queue = new WorkQueue<string>();
  private readonly deployments: Informer<Deployment>;
  private readonly sets: Informer<ReplicaSet>;
  private readonly logger: Logger;
  private readonly events: EventRecorder;
  /** Per Deployment (uid), the failed ReplicaSet last reported as impossible to roll back: told once. */
  private readonly told = new Map<string, string>();

  constructor(private readonly ctx: ControllerContext) {
    this.logger = ctx.logger.child({ controller: 'compose-rollback' });
    this.events = ctx.recorder('compose-rollback-controller');
    this.deployments = ctx.informers.informerFor<Deployment>({ resource: DEPLOYMENTS });
    this.sets = ctx.informers.informerFor<ReplicaSet>({ resource: REPLICA_SETS });
    const changed = (d: Deployment) => {
      if (d.metadata.annotations?.[UPDATE_FAILURE_ACTION_ANNOTATION] === 'rollback') this.queue.add(objectKey(d));
    };
    this.deployments.addEventHandler({
      onAdd: changed,
      onUpdate: (_, d) => changed(d),
      onDelete: (d) => {
        this.told.delete(d.metadata.uid ?? '');
        this.events.forgetObject(d.metadata.uid);
      },
    });
    // The revisions a rollback reads are the ReplicaSets: one that shows up late wakes its Deployment.
    const setChanged = (rs: ReplicaSet) => {
      const owner = controllerOf(rs);
      if (owner?.kind !== 'Deployment') return;
      const d = this.deployments.get(keyOf(rs.metadata.namespace, owner.name));
      if (d) changed(d);
    };
    this.sets.addEventHandler({ onAdd: setChanged, onUpdate: (_, rs) => setChanged(rs), onDelete: setChanged });
  }

  start(): RunningController {
    return runController({
      name: 'compose-rollback',
      queue: this.queue,
      logger: this.logger,
      waitFor: [this.deployments, this.sets],
      reconcile: this.ctx.metrics.instrument('compose-rollback', this.queue, (key) => this.reconcile(key)),
    });
  }

  async reconcile(key: string): Promise<void> {
    const d = this.deployments.get(key);
    if (!d) return;
    const revisions = deploymentRevisions(d, inNamespace(this.sets, d.metadata.namespace));
    const decision = decideRollback(d, revisions);
    if (decision.action === 'none') return;
    const uid = d.metadata.uid ?? '';
    if (decision.action === 'cannot') {
      if (this.told.get(uid) === decision.failed.metadata.uid) return;
      this.told.set(uid, decision.failed.metadata.uid ?? '');
      this.events.record(d, 'Warning', 'RollbackFailed', decision.message);
      return;
    }
    const { plan } = decision;
    plan.annotations[UPDATE_FAILURE_ACTION_ANNOTATION] = 'rollback';
    plan.annotations[ROLLED_BACK_TEMPLATE_ANNOTATION] = podTemplateHash(plan.template);
    const patch = [{ op: 'test', path: '/metadata/resourceVersion', value: d.metadata.resourceVersion }, ...rollbackPatch(plan)];
    try {
      if (!(await ignoreNotFound(this.ctx.client.patch<Deployment>(DEPLOYMENTS, d.metadata.name!, patch, { namespace: d.metadata.namespace, type: 'json' })))) return;
    } catch (err) {
      // Changed since the cache showed it: its update event queues it again, to be decided anew.
      if (isBerthError(err, 'Invalid') && err.details.causes?.some((c) => c.field === 'patch[0]')) return;
      throw err;
    }
    const from = revisionOf(decision.failed);
    this.logger.info({ deployment: key, from, to: plan.revision }, 'update failed: rolled back');
    this.events.record(d, 'Normal', 'RolledBack', `rollback: update rolled back due to failure (${decision.reason}): revision ${from} back to revision ${plan.revision}`);
  }
}
