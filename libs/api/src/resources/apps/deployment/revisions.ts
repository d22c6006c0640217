import { BerthError, errors } from '@berth/errors';
import type { PodTemplateSpec } from '../../core/pod/types';
import type { ReplicaSet } from '../replicaset/types';
import type { Deployment } from './types';

/** The label a Deployment adds to its ReplicaSets' selector and template, telling their pods apart. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** The revision of a Deployment's ReplicaSet (and of the Deployment: its current one), 1, 2, ... */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

/** Annotations that describe a ReplicaSet's place in the rollout: never copied back to the Deployment on undo. */
const ROLLOUT_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

/** JSON with object keys sorted at every level, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * value without nulls, empty objects and empty lists, at any depth. Kubernetes compares templates as Go
 * structs, where those equal absent fields; clients such as `kubectl rollout undo` send them explicitly
 * (`creationTimestamp: null`, `resources: {}`), and they must not make a template look new.
 */
export function pruneEmpty(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(pruneEmpty).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => [k, pruneEmpty(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value === null ? undefined : value;
}

/** The template without the pod-template-hash label, normalised: what a Deployment and its ReplicaSet have in common. */
export function templateWithoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const copy = JSON.parse(JSON.stringify(template ?? {})) as PodTemplateSpec;
  delete copy.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL];
  return (pruneEmpty(copy) ?? {}) as PodTemplateSpec;
}

export function templatesEqualIgnoringHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonicalJson(templateWithoutHash(a)) === canonicalJson(templateWithoutHash(b));
}

export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }): number {
  const value = Number(obj.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** The deployment's own ReplicaSets among `sets` (controlled by it, with a revision), by revision, oldest first. */
export function deploymentRevisions(deployment: Deployment, sets: readonly ReplicaSet[]): Map<number, ReplicaSet> {
  const revisions = new Map<number, ReplicaSet>();
  for (const rs of sets) {
    const owned = (rs.metadata.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === deployment.metadata.uid);
    const revision = revisionOf(rs);
    if (owned && revision > 0) revisions.set(revision, rs);
  }
  return new Map([...revisions].sort(([a], [b]) => a - b));
}

/** What rolling a Deployment back writes: the revision's template, and the annotations the Deployment then has. */
export interface Rollback {
  /** The revision rolled back to. */
  revision: number;
  template: PodTemplateSpec;
  annotations: Record<string, string>;
}

/**
 * `rollout undo` as kubectl plans it: the template of the ReplicaSet of `toRevision` (0: the revision before
 * the highest), and the annotations of that revision (its change-cause) with the Deployment's own rollout
 * bookkeeping kept. `{ skipped }` when the template already is that revision's. BadRequest for a paused
 * Deployment or one without an earlier revision, NotFound for a revision it does not have.
 * `revisions` is deploymentRevisions' answer.
 */
export function planRollback(deployment: Deployment, revisions: ReadonlyMap<number, ReplicaSet>, toRevision = 0): Rollback | { skipped: number } {
  const name = deployment.metadata.name ?? '';
  if (deployment.spec?.paused) {
    throw errors.badRequest(`you cannot rollback a paused deployment; resume it first with 'berth rollout resume deployment/${name}' and try again`);
  }
  if (toRevision === 0) {
    const ordered = [...revisions.keys()].sort((a, b) => a - b);
    if (ordered.length <= 1) throw errors.badRequest('no last revision to roll back to');
    toRevision = ordered[ordered.length - 2];
  }
  const rs = revisions.get(toRevision);
  if (!rs) throw new BerthError('NotFound', `unable to find specified revision ${toRevision} in history`);
  const template = templateWithoutHash(rs.spec?.template);
  if (canonicalJson(template) === canonicalJson(templateWithoutHash(deployment.spec?.template))) return { skipped: toRevision };
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata.annotations ?? {})) if (ROLLOUT_ANNOTATIONS.has(key)) annotations[key] = value;
  for (const [key, value] of Object.entries(rs.metadata.annotations ?? {})) if (!ROLLOUT_ANNOTATIONS.has(key)) annotations[key] = value;
  return { revision: toRevision, template, annotations };
}

/** The JSON patch that writes a rollback onto its Deployment. */
export function rollbackPatch(rollback: Rollback): Array<{ op: string; path: string; value: unknown }> {
  return [
    { op: 'replace', path: '/spec/template', value: rollback.template },
    { op: 'add', path: '/metadata/annotations', value: rollback.annotations },
  ];
}
