import type { ControllerRevision, KubeObject, LabelRequirement, PodTemplateSpec, ResourceType } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { isBerthError } from '@berth/errors';
import { claimObjects, type ClaimOptions, controllerReference } from './claim';
import { ignoreNotFound } from './context';
import { safeHash } from './rollout';
import { canonicalJson, pruneEmpty } from '@berth/api';
import { clone, CONTROLLER_REVISIONS } from './types';

/**
 * The revision history of DaemonSets and StatefulSets, as Kubernetes keeps it (pkg/controller/history):
 * each distinct pod template a controller has run is one ControllerRevision it owns, named
 * `<owner>-<hash>`, whose `data` is the strategic merge patch that puts that template back
 * (`{spec: {template: {..., $patch: replace}}}`, what `kubectl rollout undo` sends) and whose `revision`
 * orders them. Pods carry the hash in the `controller-revision-hash` label; a template that comes back
 * reuses its old revision object with a new, higher revision number.
 */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';

/** Kubernetes truncates the owner's name so that `<name>-<hash>` stays a valid object name. */
const MAX_PREFIX = 223;

/** The patch that restores template: what `data` holds for DaemonSets and StatefulSets. */
export function templatePatch(template: PodTemplateSpec | undefined): Record<string, unknown> {
  return { spec: { template: { ...clone(template ?? {}), $patch: 'replace' } } };
}

/** The template a revision restores (its data's spec.template, without the patch directive). */
export function templateOfRevision(revision: ControllerRevision): PodTemplateSpec | undefined {
  const spec = revision.data?.spec as { template?: Record<string, unknown> } | undefined;
  if (!spec || typeof spec.template !== 'object' || spec.template === null) return undefined;
  const template = clone(spec.template);
  delete template.$patch;
  return template as PodTemplateSpec;
}

/**
 * Data as compared and hashed: without nulls and empty values, which a Go struct cannot tell from absent
 * fields (`creationTimestamp: null`, `resources: {}` come back through `kubectl rollout undo`).
 */
function canonicalData(data: unknown): string {
  return canonicalJson(pruneEmpty(data) ?? {});
}

/** Kubernetes' HashControllerRevision: equal data (and collision count) give equal hashes. */
export function hashControllerRevision(data: unknown, collisionCount = 0): string {
  return safeHash(canonicalData(data), collisionCount);
}

export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > MAX_PREFIX ? prefix.slice(0, MAX_PREFIX) : prefix}-${hash}`;
}

export function revisionsEqual(a: ControllerRevision, b: ControllerRevision): boolean {
  return canonicalData(a.data) === canonicalData(b.data);
}

/** Oldest first: by revision, then creation, then name (Kubernetes' SortControllerRevisions). */
export function sortRevisions(revisions: readonly ControllerRevision[]): ControllerRevision[] {
  const created = (r: ControllerRevision) => Date.parse(r.metadata.creationTimestamp ?? '') || 0;
  return [...revisions].sort(
    (a, b) => (a.revision ?? 0) - (b.revision ?? 0) || created(a) - created(b) || (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0),
  );
}

/** The revision number the next distinct template gets. */
export function nextRevisionNumber(revisions: readonly ControllerRevision[]): number {
  return revisions.reduce((max, r) => Math.max(max, r.revision ?? 0), 0) + 1;
}

/**
 * A new revision owned (as controller) by parent; the hash label and the name come from data and
 * collisionCount, the labels (the owner's template or selector labels) are copied.
 */
export function newControllerRevision(
  parent: KubeObject,
  data: Record<string, unknown>,
  revision: number,
  labels: Record<string, string> = {},
  collisionCount = 0,
): ControllerRevision {
  const hash = hashControllerRevision(data, collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: controllerRevisionName(parent.metadata.name!, hash),
      namespace: parent.metadata.namespace,
      labels: { ...labels, [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ownerReferences: [controllerReference(parent)],
    },
    data: clone(data),
    revision,
  };
}

export type HistoryClient = Pick<KubeClient, 'create' | 'get' | 'update' | 'delete'>;

/**
 * Stores revision, or finds it already stored (Kubernetes' realHistory.CreateControllerRevision): a name
 * taken by other data, or by another owner, is a hash collision, and the collision count goes up until a
 * free name (or this very revision, from an earlier attempt) turns up. Returns the stored revision and the
 * collision count it needed, which the owner keeps in status.collisionCount.
 */
export async function createControllerRevision(
  client: HistoryClient,
  parent: KubeObject,
  revision: ControllerRevision,
  collisionCount = 0,
): Promise<{ revision: ControllerRevision; collisionCount: number }> {
  const labels = { ...(revision.metadata.labels ?? {}) };
  delete labels[CONTROLLER_REVISION_HASH_LABEL];
  for (let count = collisionCount; ; count++) {
    const candidate = newControllerRevision(parent, revision.data ?? {}, revision.revision, labels, count);
    try {
      return { revision: await client.create<ControllerRevision>(CONTROLLER_REVISIONS, candidate), collisionCount: count };
    } catch (err) {
      if (!isBerthError(err, 'AlreadyExists')) throw err;
      const existing = await ignoreNotFound(client.get<ControllerRevision>(CONTROLLER_REVISIONS, candidate.metadata.name!, { namespace: parent.metadata.namespace }));
      const ownedByParent = existing?.metadata.ownerReferences?.some((ref) => ref.controller && ref.uid === parent.metadata.uid);
      if (existing && ownedByParent && revisionsEqual(existing, candidate)) return { revision: existing, collisionCount: count };
    }
  }
}

/** Gives an existing revision a new number (a template that comes back becomes the newest revision). */
export async function updateRevisionNumber(client: HistoryClient, revision: ControllerRevision, number: number): Promise<ControllerRevision> {
  if (revision.revision === number) return revision;
  const next = clone(revision);
  next.revision = number;
  return client.update<ControllerRevision>(CONTROLLER_REVISIONS, next);
}

/**
 * Deletes the oldest revisions beyond limit, never one in use (a live pod still runs its template, or it is
 * the current one): Kubernetes' truncateHistory.
 */
export async function truncateHistory(client: HistoryClient, revisions: readonly ControllerRevision[], inUse: ReadonlySet<string>, limit: number): Promise<void> {
  const candidates = sortRevisions(revisions).filter((r) => !inUse.has(r.metadata.name!));
  const excess = candidates.length - Math.max(0, limit);
  for (const revision of candidates.slice(0, Math.max(0, excess))) {
    await ignoreNotFound(client.delete(CONTROLLER_REVISIONS, revision.metadata.name!, { namespace: revision.metadata.namespace }));
  }
}

export interface SyncHistoryOptions {
  client: ClaimOptions<ControllerRevision>['client'];
  logger: ClaimOptions<ControllerRevision>['logger'];
  /** The DaemonSet or StatefulSet, and its type. */
  owner: KubeObject & { spec?: { template?: PodTemplateSpec; revisionHistoryLimit?: number }; status?: { collisionCount?: number } };
  ownerType: ResourceType;
  selector: LabelRequirement[];
  /** Revisions in the owner's namespace that might be its own. */
  candidates: ControllerRevision[];
  /** Names of the revisions that must stay whatever the limit (live pods run them), given the history and the current template's revision. */
  inUse(history: readonly ControllerRevision[], current: ControllerRevision): Set<string>;
}

/**
 * The revision of the owner's current template (created, or an old equal one renumbered as the newest),
 * the revisions adopted and deduplicated, and history beyond revisionHistoryLimit deleted (Kubernetes'
 * DaemonSet constructHistory and StatefulSet getStatefulSetRevisions/truncateHistory alike). Returns that
 * revision, the history kept (oldest first) and the collision count its name needed.
 */
export async function syncHistory(opts: SyncHistoryOptions): Promise<{ current: ControllerRevision; history: ControllerRevision[]; collisionCount: number }> {
  const { client, owner } = opts;
  const owned = await claimObjects({ ...opts, dependentType: CONTROLLER_REVISIONS });
  let history = sortRevisions(owned);
  const next = nextRevisionNumber(history);
  const labels = { ...(owner.spec?.template?.metadata?.labels ?? {}) };
  const wanted = newControllerRevision(owner, templatePatch(owner.spec?.template), next, labels, owner.status?.collisionCount ?? 0);
  const equal = history.filter((r) => revisionsEqual(r, wanted));
  let current: ControllerRevision;
  let collisionCount = owner.status?.collisionCount ?? 0;
  if (equal.length > 0) {
    // The newest equal one is kept; any older duplicates are dropped.
    current = equal[equal.length - 1];
    const duplicates = equal.slice(0, -1);
    if (current.revision !== history[history.length - 1].revision) current = await updateRevisionNumber(client, current, next);
    for (const duplicate of duplicates) await ignoreNotFound(client.delete(CONTROLLER_REVISIONS, duplicate.metadata.name!, { namespace: owner.metadata.namespace }));
    history = history.filter((r) => !duplicates.includes(r) && r !== equal[equal.length - 1]);
    history.push(current);
  } else {
    const stored = await createControllerRevision(client, owner, wanted, collisionCount);
    current = stored.revision;
    collisionCount = stored.collisionCount;
    history.push(current);
  }
  history = sortRevisions(history);
  const inUse = opts.inUse(history, current);
  inUse.add(current.metadata.name!);
  await truncateHistory(client, history, inUse, owner.spec?.revisionHistoryLimit ?? 10);
  return { current, history, collisionCount };
}
