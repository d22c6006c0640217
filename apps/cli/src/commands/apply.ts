import { matchesLabels, parseLabelSelector, type KubeObject, type ResourceType } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { inContext } from '../errors';
import { objectName } from '../kinds';
import { loadManifests, mapManifest, MappedManifest } from '../manifests';
import type { Session } from '../session';
import { namespaceForManifest } from './namespaces';
import { dryRunSuffix, parseDryRun, type DryRun } from './select';

export const APPLY_FIELD_MANAGER = 'berth';

export interface ApplyOptions {
  filename: string[];
  /** `-l`: only the manifest objects with these labels; with --prune, what may be pruned. */
  selector?: string;
  prune?: boolean;
  /** `--all`: with --prune, prune without a selector. */
  all?: boolean;
  /** `--prune-allowlist group/version/Kind` (core/v1/ConfigMap): the kinds pruned instead of kubectl's defaults. */
  pruneAllowlist?: string[];
  dryRun?: string | boolean;
}

/** kubectl's default prune kinds (group/version/Kind), of which those the server serves are pruned. */
export const DEFAULT_PRUNE_KINDS = [
  'core/v1/ConfigMap', 'core/v1/Endpoints', 'core/v1/Namespace', 'core/v1/PersistentVolumeClaim', 'core/v1/PersistentVolume', 'core/v1/Pod',
  'core/v1/ReplicationController', 'core/v1/Secret', 'core/v1/Service', 'batch/v1/Job', 'batch/v1/CronJob', 'networking.k8s.io/v1/Ingress',
  'apps/v1/DaemonSet', 'apps/v1/Deployment', 'apps/v1/ReplicaSet', 'apps/v1/StatefulSet',
];

/**
 * Server-side apply of every object in the manifests (those -l selects), each reported as created,
 * configured or unchanged; with --prune, then deletes what an earlier apply made and this one no longer has.
 */
export async function apply(session: Session, options: ApplyOptions): Promise<void> {
  if (options.prune && options.all && options.selector !== undefined) throw new BerthError('BadRequest', 'cannot set --all and --selector at the same time');
  if (options.prune && !options.all && options.selector === undefined) {
    throw new BerthError(
      'BadRequest',
      'all resources selected for prune without explicitly passing --all. To prune all resources, pass the --all flag. If you did not mean to prune all resources, specify a label selector',
    );
  }
  if (!options.prune && (options.pruneAllowlist ?? []).length > 0) throw new BerthError('BadRequest', '--prune-allowlist must be used with --prune');
  const dryRun = parseDryRun(options.dryRun);
  const selector = options.selector === undefined ? undefined : parseLabelSelector(options.selector);
  const pruneTypes = options.prune ? await pruneKinds(session, options.pruneAllowlist ?? []) : [];
  const manifests = loadManifests(options.filename, 'apply');
  const applied = new Set<string>();
  const namespaces = new Set<string>();
  for (const manifest of manifests) {
    if (selector && !matchesLabels(selector, manifest.object.metadata?.labels)) continue;
    try {
      const mapped = await mapManifest(manifest, session.discovery);
      const namespace = namespaceForManifest(session, mapped);
      if (namespace) namespaces.add(namespace);
      const { line, object } = await applyOne(session, mapped, namespace, dryRun);
      if (object.metadata.uid) applied.add(object.metadata.uid);
      session.out(line);
    } catch (err) {
      // A connection failure would repeat for every object: one report is enough.
      if (!(err instanceof StatusError) && !isBerthError(err, 'BadRequest') && !isBerthError(err, 'NotFound')) throw err;
      session.fail(inContext(err, `error when applying "${manifest.source}"`));
    }
  }
  if (options.prune) {
    if (namespaces.size === 0 && pruneTypes.some((t) => t.namespaced)) namespaces.add(session.namespace);
    await prune(session, pruneTypes, [...namespaces], options.selector, applied, dryRun);
  }
}

/** The served types of the allowlist (kubectl's default one when none is given). */
async function pruneKinds(session: Session, allowlist: string[]): Promise<ResourceType[]> {
  const catalog = await session.discovery.resources();
  const types: ResourceType[] = [];
  for (const entry of allowlist.length > 0 ? allowlist : DEFAULT_PRUNE_KINDS) {
    const parts = entry.split('/');
    if (parts.length !== 3 || parts.some((p) => p === '')) throw new BerthError('BadRequest', `invalid GroupVersionKind format: ${entry}, please follow <group/version/kind>`);
    const [group, version, kind] = parts;
    const type = catalog.forKind(group === 'core' ? version : `${group}/${version}`, kind);
    if (type) types.push(type);
    else if (allowlist.length > 0) throw new BerthError('NotFound', `no matches for kind "${kind}" in version "${group === 'core' ? version : `${group}/${version}`}"`);
  }
  return types;
}

/** Whether an earlier `berth apply` made or changed the object: its fields have an Apply entry of berth's manager. */
function appliedByBerth(object: KubeObject): boolean {
  const entries = (object.metadata as { managedFields?: { manager?: string; operation?: string }[] }).managedFields ?? [];
  return entries.some((entry) => entry.manager === APPLY_FIELD_MANAGER && entry.operation === 'Apply');
}

/**
 * kubectl's prune, for berth's server-side apply: every object of the prune kinds in the namespaces this
 * apply visited (cluster-wide for cluster-scoped kinds) that the selector matches, that an earlier berth
 * apply made (kubectl's last-applied-configuration annotation plays that part there) and that this apply
 * did not touch, is deleted and reported `KIND/NAME pruned`.
 */
async function prune(session: Session, types: ResourceType[], namespaces: string[], selector: string | undefined, applied: Set<string>, dryRun: DryRun): Promise<void> {
  for (const type of types) {
    for (const namespace of type.namespaced ? namespaces : [undefined]) {
      const list = await session.client.list(type, { namespace, labelSelector: selector });
      for (const object of list.items) {
        if (applied.has(object.metadata.uid ?? '') || !appliedByBerth(object)) continue;
        try {
          if (dryRun !== 'client') await session.client.delete(type, object.metadata.name!, { namespace: object.metadata.namespace, propagationPolicy: 'Background', dryRun: dryRun === 'server' });
          session.out(`${objectName(type, object.metadata.name!)} pruned${dryRunSuffix(dryRun)}`);
        } catch (err) {
          if (!(err instanceof StatusError)) throw err;
          if (err.reason !== 'NotFound') session.fail(err);
        }
      }
    }
  }
}

/** An object as a change would compare it: without what every write moves (resourceVersion, managedFields). */
function comparable(object: KubeObject): string {
  const { resourceVersion: _version, managedFields: _fields, ...metadata } = object.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return JSON.stringify({ ...object, metadata });
}

/**
 * Applies one object (or, with --dry-run, finds what applying it would do: `client` sends nothing and
 * says created or configured; `server` has the server check it and store nothing).
 */
async function applyOne(session: Session, manifest: MappedManifest, namespace: string | undefined, dryRun: DryRun): Promise<{ line: string; object: KubeObject }> {
  const { type, object } = manifest;
  const name = object.metadata.name!;
  const client = session.client;
  // The verb needs the version before the apply: a create answers 201, but "unchanged" vs "configured"
  // is only visible as a resourceVersion that did or did not move.
  const before = await client.get(type, name, { namespace }).catch((err: unknown) => {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  });
  const line = (verb: string) => `${objectName(type, name)} ${verb}${dryRunSuffix(dryRun)}`;
  if (dryRun === 'client') return { line: line(before ? 'configured' : 'created'), object: before ?? object };
  const after = await client.apply(type, object, { namespace, fieldManager: APPLY_FIELD_MANAGER, force: true, dryRun: dryRun === 'server' });
  const unchanged = before && (dryRun === 'server' ? comparable(before) === comparable(after) : before.metadata.resourceVersion === after.metadata.resourceVersion);
  return { line: line(!before ? 'created' : unchanged ? 'unchanged' : 'configured'), object: after };
}
