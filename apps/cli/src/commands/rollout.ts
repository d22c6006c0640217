import { formatSelector, type Deployment, type PodTemplateSpec, type ReplicaSet } from '@berth/api';
import { BerthError } from '@berth/errors';
import { writePodTemplate } from '../describe/describers';
import { DescribeWriter } from '../describe/writer';
import { objectName } from '../kinds';
import type { Session } from '../session';
import { DESCRIBE_LAYOUT, tabwrite } from '../tabwriter';
import { DEPLOYMENT_TYPE, expectTypes, getDeployment, isNotFound, ObjectRef, parseDurationFlag, parseRefs, REPLICASET_TYPE, watchUntil } from './workloads';

/** The annotations Kubernetes' deployment controller and kubectl keep rollout history in. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** Annotations that describe a ReplicaSet's place in the rollout, never copied back to the deployment on undo. */
const ROLLOUT_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

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
  const revisions = new Map<number, ReplicaSet>();
  for (const rs of list.items) {
    const owned = (rs.metadata.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === deployment.metadata.uid);
    const revision = Number(rs.metadata.annotations?.[REVISION_ANNOTATION]);
    if (owned && Number.isInteger(revision) && revision > 0) revisions.set(revision, rs);
  }
  return new Map([...revisions].sort(([a], [b]) => a - b));
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

/** A template as a deployment holds it: the ReplicaSet's without the label that tells its pods apart. */
function withoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const copy: PodTemplateSpec = JSON.parse(JSON.stringify(template ?? {}));
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  return copy;
}

/** JSON with sorted keys, so templates compare by value. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
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
  if (deployment.spec?.paused) {
    throw new BerthError('BadRequest', `you cannot rollback a paused deployment; resume it first with 'berth rollout resume deployment/${name}' and try again`);
  }
  const revisions = await revisionsOf(session, deployment);
  if (toRevision === 0) {
    const ordered = [...revisions.keys()];
    if (ordered.length <= 1) throw new BerthError('BadRequest', 'no last revision to roll back to');
    toRevision = ordered[ordered.length - 2];
  }
  const rs = revisions.get(toRevision);
  if (!rs) throw new BerthError('NotFound', `unable to find specified revision ${toRevision} in history`);
  const template = withoutHash(rs.spec?.template);
  if (canonical(template) === canonical(withoutHash(deployment.spec?.template))) return { skipped: toRevision };
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata.annotations ?? {})) if (ROLLOUT_ANNOTATIONS.has(key)) annotations[key] = value;
  for (const [key, value] of Object.entries(rs.metadata.annotations ?? {})) if (!ROLLOUT_ANNOTATIONS.has(key)) annotations[key] = value;
  const patch = [
    { op: 'replace', path: '/spec/template', value: template },
    { op: 'add', path: '/metadata/annotations', value: annotations },
  ];
  await session.client.patch(DEPLOYMENT_TYPE, name, patch, { namespace: session.namespace, type: 'json' });
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
