import { deploymentRevisions, formatSelector, planRollback, rollbackPatch, type Deployment, type PodTemplateSpec, type ReplicaSet } from '@berth/api';
import { BerthError } from '@berth/errors';
import { writePodTemplate } from '../describe/describers';
import { DescribeWriter } from '../describe/writer';
import { objectName } from '../kinds';
import type { Session } from '../session';
import { DESCRIBE_LAYOUT, tabwrite } from '../tabwriter';
import { DEPLOYMENT_TYPE, expectTypes, getDeployment, isNotFound, ObjectRef, parseDurationFlag, parseRefs, REPLICASET_TYPE, watchUntil } from './workloads';

/** The annotation kubectl keeps a revision's change cause in. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

async function deploymentRefs(session: Session, args: string[]): Promise<ObjectRef[]> {
  const refs = await parseRefs(session, args);
  refs.forEach((ref) => expectTypes(ref, [DEPLOYMENT_TYPE], 'rollout'));
  return refs;
}

/** `deployments.apps "web"`: how kubectl names an object in rollout errors. */
function qualified(name: string): string {
  return `deployments.apps "${name}"`;
}

/**
 * kubectl's DeploymentStatusViewer: the line to print for the deployment's state, and whether the rollout
 * is complete; a rollout past its progress deadline is an error.
 */
export function rolloutStatusOf(deployment: Deployment): { message: string; done: boolean } {
  const name = deployment.metadata.name;
  const status = deployment.status ?? {};
  if ((deployment.metadata.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return { message: 'Waiting for deployment spec update to be observed...', done: false };
  }
  const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') throw new BerthError('Timeout', `deployment "${name}" exceeded its progress deadline`);
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const waiting = (what: string) => ({ message: `Waiting for deployment "${name}" rollout to finish: ${what}...`, done: false });
  if (updated < desired) return waiting(`${updated} out of ${desired} new replicas have been updated`);
  if (replicas > updated) return waiting(`${replicas - updated} old replicas are pending termination`);
  if (available < updated) return waiting(`${available} of ${updated} updated replicas are available`);
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

export async function rolloutStatus(session: Session, args: string[], options: { timeout?: string }): Promise<void> {
  const refs = await deploymentRefs(session, args);
  if (refs.length > 1) throw new BerthError('BadRequest', 'rollout status takes one deployment');
  const [{ name }] = refs;
  const timeoutMs = options.timeout ? parseDurationFlag(options.timeout, 'timeout') : 0;
  await getDeployment(session, name);
  let printed = '';
  await watchUntil<Deployment, true>(
    session,
    DEPLOYMENT_TYPE,
    { namespace: session.namespace, fieldSelector: `metadata.name=${name}` },
    ([deployment]) => {
      if (!deployment) throw new BerthError('NotFound', `deployment "${name}" was deleted while waiting for its rollout`);
      const { message, done } = rolloutStatusOf(deployment);
      if (message !== printed) session.out(message);
      printed = message;
      return done || undefined;
    },
    timeoutMs,
  );
}

/** The deployment's own ReplicaSets (selected and controlled by it) by revision number. */
async function revisionsOf(session: Session, deployment: Deployment): Promise<Map<number, ReplicaSet>> {
  const list = await session.client.list<ReplicaSet>(REPLICASET_TYPE, { namespace: session.namespace, labelSelector: formatSelector(deployment.spec?.selector) });
  return deploymentRevisions(deployment, list.items);
}

function changeCause(rs: ReplicaSet): string {
  return rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] || '<none>';
}

export async function rolloutHistory(session: Session, args: string[], options: { revision?: number }): Promise<void> {
  for (const { name } of await deploymentRefs(session, args)) {
    const deployment = await getDeployment(session, name);
    const revisions = await revisionsOf(session, deployment);
    const header = objectName(DEPLOYMENT_TYPE, name);
    if (options.revision) {
      const rs = revisions.get(options.revision);
      if (!rs) throw new BerthError('NotFound', `unable to find the specified revision`);
      const template: PodTemplateSpec = JSON.parse(JSON.stringify(rs.spec?.template ?? {}));
      if (rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION]) {
        template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, [CHANGE_CAUSE_ANNOTATION]: changeCause(rs) } };
      }
      const w = new DescribeWriter();
      writePodTemplate(w, template as Record<string, unknown>);
      session.out(`${header} with revision #${options.revision}\n${w.toString()}`);
      continue;
    }
    const table = ['REVISION\tCHANGE-CAUSE', ...[...revisions].map(([revision, rs]) => `${revision}\t${changeCause(rs)}`)].join('\n');
    // kubectl ends the history with an empty line.
    session.out(`${header} \n${tabwrite(table, DESCRIBE_LAYOUT)}\n\n`);
  }
}

/**
 * `rollout undo` as kubectl does it: the deployment's template becomes that of the ReplicaSet of the
 * revision asked for (default: the one before the current), and its annotations take that revision's
 * (change-cause) while keeping its own rollout bookkeeping.
 */
export async function rolloutUndo(session: Session, args: string[], options: { toRevision?: number }): Promise<void> {
  for (const { name } of await deploymentRefs(session, args)) {
    const outcome = await undoDeployment(session, name, options.toRevision ?? 0);
    session.out(`${objectName(DEPLOYMENT_TYPE, name)} ${outcome === 'rolled back' ? outcome : `skipped rollback (current template already matches revision ${outcome.skipped})`}`);
  }
}

/**
 * Rolls one deployment of the session's namespace back to `toRevision` (0: the one before the current), as
 * `rollout undo` does; answers whether it did, or the revision the template already matches.
 */
export async function undoDeployment(session: Session, name: string, toRevision: number): Promise<'rolled back' | { skipped: number }> {
  const deployment = await getDeployment(session, name);
  const plan = planRollback(deployment, await revisionsOf(session, deployment), toRevision);
  if ('skipped' in plan) return plan;
  await session.client.patch(DEPLOYMENT_TYPE, name, rollbackPatch(plan), { namespace: session.namespace, type: 'json' });
  return 'rolled back';
}

/** `rollout pause|resume`: each deployment that is not already so, else kubectl's error for it. */
export async function rolloutSetPaused(session: Session, args: string[], paused: boolean): Promise<void> {
  for (const { name } of await deploymentRefs(session, args)) {
    try {
      const deployment = await getDeployment(session, name);
      if (Boolean(deployment.spec?.paused) === paused) {
        session.fail(new BerthError('BadRequest', `${qualified(name)} is ${paused ? 'already' : 'not'} paused`));
        continue;
      }
      await session.client.patch(DEPLOYMENT_TYPE, name, { spec: { paused } }, { namespace: session.namespace, type: 'strategic' });
      session.out(`${objectName(DEPLOYMENT_TYPE, name)} ${paused ? 'paused' : 'resumed'}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      session.fail(err);
    }
  }
}

/** `rollout restart`: a new restartedAt annotation on the template makes a new revision, rolled out as any other. */
export async function rolloutRestart(session: Session, args: string[]): Promise<void> {
  for (const { name } of await deploymentRefs(session, args)) {
    const deployment = await getDeployment(session, name);
    if (deployment.spec?.paused) throw new BerthError('BadRequest', `${qualified(name)} can't restart paused deployment (run rollout resume first)`);
    const restartedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const patch = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } } };
    await session.client.patch(DEPLOYMENT_TYPE, name, patch, { namespace: session.namespace, type: 'strategic' });
    session.out(`${objectName(DEPLOYMENT_TYPE, name)} restarted`);
  }
}
