import type { KubeObject, ResourceType } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { inContext } from '../errors';
import { kindPrefix, parseTargets } from '../kinds';
import { loadManifests, mapManifest, MappedManifest } from '../manifests';
import type { Session } from '../session';
import { namespaceForManifest } from './namespaces';
import { dryRunSuffix, parseDryRun } from './select';
import type { DryRun } from './select';
import { parseDurationFlag, watchUntil } from './workloads';

export interface DeleteOptions {
  filename: string[];
  selector?: string;
  all?: boolean;
  allNamespaces?: boolean;
  gracePeriod?: string;
  now?: boolean;
  force?: boolean;
  cascade?: string | boolean;
  wait?: boolean | string;
  timeout?: string;
  ignoreNotFound?: boolean;
  dryRun?: string | boolean;
}

/** How each object is deleted, from kubectl's flags (`--grace-period`, `--now`, `--force`, `--cascade`, `--dry-run`). */
interface DeletePlan {
  gracePeriodSeconds?: number;
  force: boolean;
  propagationPolicy: 'Background' | 'Foreground' | 'Orphan';
  dryRun: DryRun;
  ignoreNotFound: boolean;
}

function cascadePolicy(value: string | boolean | undefined): DeletePlan['propagationPolicy'] {
  // kubectl still takes the old boolean form: true is background, false is orphan.
  if (value === undefined || value === true || value === 'true' || value === 'background') return 'Background';
  if (value === false || value === 'false' || value === 'orphan') return 'Orphan';
  if (value === 'foreground') return 'Foreground';
  throw new BerthError('BadRequest', `invalid cascade value (${String(value)}). Must be "background", "foreground", or "orphan".`);
}

/** kubectl's rules: `--grace-period=0` means 1 unless `--force`; `--force` alone means 0; `--now` means 1. */
export function deletePlan(options: Pick<DeleteOptions, 'gracePeriod' | 'now' | 'force' | 'cascade' | 'dryRun' | 'ignoreNotFound'>, bySelection = false): DeletePlan {
  let grace = -1;
  if (options.gracePeriod !== undefined) {
    if (!/^-?\d{1,9}$/.test(options.gracePeriod)) throw new BerthError('BadRequest', `invalid argument "${options.gracePeriod}" for "--grace-period" flag: must be a whole number of seconds`);
    grace = Number(options.gracePeriod);
  }
  if (options.now) {
    if (grace >= 0) throw new BerthError('BadRequest', '--now and --grace-period cannot be specified together');
    grace = 1;
  }
  if (grace === 0 && !options.force) grace = 1;
  if (options.force && grace < 0) grace = 0;
  return {
    gracePeriodSeconds: grace >= 0 ? grace : undefined,
    force: !!options.force && grace === 0,
    propagationPolicy: cascadePolicy(options.cascade),
    dryRun: parseDryRun(options.dryRun),
    // As kubectl: a selection never complains of what vanished meanwhile.
    ignoreNotFound: !!options.ignoreNotFound || bySelection,
  };
}

interface Deleted {
  type: ResourceType;
  name: string;
  namespace?: string;
  uid?: string;
}

/** Deletes one object and says so; returns what to wait for, if anything was deleted. */
async function deleteOne(session: Session, plan: DeletePlan, type: ResourceType, name: string, namespace: string | undefined, context?: string): Promise<Deleted | undefined> {
  try {
    let uid: string | undefined;
    if (plan.dryRun === 'client') {
      await session.client.get(type, name, { namespace });
    } else {
      const answer = await session.client.delete(type, name, {
        namespace,
        propagationPolicy: plan.propagationPolicy,
        gracePeriodSeconds: plan.gracePeriodSeconds,
        dryRun: plan.dryRun === 'server',
      });
      uid = (answer as KubeObject).metadata?.uid ?? (answer as { details?: { uid?: string } }).details?.uid;
    }
    session.out(`${kindPrefix(type)} "${name}" ${plan.force ? 'force deleted' : 'deleted'}${dryRunSuffix(plan.dryRun)}`);
    return plan.dryRun === 'none' ? { type, name, namespace, uid } : undefined;
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    if (plan.ignoreNotFound && err.reason === 'NotFound') return undefined;
    session.fail(context ? inContext(err, context) : err);
    return undefined;
  }
}

function waitWanted(value: boolean | string | undefined): boolean {
  if (value === undefined || value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new BerthError('BadRequest', `invalid argument "${String(value)}" for "--wait" flag: strconv.ParseBool: parsing "${String(value)}": invalid syntax`);
}

/** As kubectl's `--wait`: until every deleted object (that uid) is gone from the server, or the timeout. */
async function waitForDeletion(session: Session, deleted: Deleted[], timeoutMs: number): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  for (const target of deleted) {
    const query = { namespace: target.namespace, fieldSelector: `metadata.name=${target.name}` };
    try {
      await watchUntil<KubeObject, true>(
        session,
        target.type,
        query,
        (objects) => (objects.every((o) => target.uid !== undefined && o.metadata.uid !== target.uid) ? true : undefined),
        deadline === Infinity ? 0 : Math.max(deadline - Date.now(), 1),
      );
    } catch (err) {
      if (!isBerthError(err, 'Timeout')) throw err;
      const group = target.type.group ? `.${target.type.group}` : '';
      session.fail(new BerthError('Timeout', `timed out waiting for the condition on ${target.type.plural}${group}/${target.name}`));
    }
  }
}

export async function deleteCommand(session: Session, args: string[], options: DeleteOptions): Promise<void> {
  const timeoutMs = parseDurationFlag(options.timeout ?? '0s', 'timeout');
  const deleted = await deleteTargets(session, args, options);
  if (waitWanted(options.wait) && deleted.length > 0) await waitForDeletion(session, deleted, timeoutMs);
  if (deletePlan(options).force) {
    // kubectl prints this after the objects' lines.
    session.notice('Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.');
  }
}

async function deleteTargets(session: Session, args: string[], options: DeleteOptions): Promise<Deleted[]> {
  const deleted: Deleted[] = [];
  const record = (item: Deleted | undefined) => item && deleted.push(item);
  if (options.filename.length > 0) {
    const plan = deletePlan(options);
    if (args.length > 0) throw new BerthError('BadRequest', 'resources to delete come either from -f or from arguments, not both');
    for (const unmapped of loadManifests(options.filename, 'delete')) {
      let namespace: string | undefined;
      let manifest: MappedManifest;
      try {
        manifest = await mapManifest(unmapped, session.discovery);
        namespace = namespaceForManifest(session, manifest);
      } catch (err) {
        session.fail(err);
        continue;
      }
      record(await deleteOne(session, plan, manifest.type, manifest.object.metadata.name!, namespace, `error when deleting "${manifest.source}"`));
    }
    return deleted;
  }
  if (args.length === 0) {
    throw new BerthError('BadRequest', 'You must provide one or more resources by argument or filename.');
  }
  const targets = await parseTargets(args, session.discovery);
  const named = targets.some((t) => t.names.length > 0);
  const bySelection = options.all || options.selector !== undefined;
  if (named && bySelection) throw new BerthError('BadRequest', 'name cannot be provided when a selector or --all is specified');
  if (!named && !bySelection) throw new BerthError('BadRequest', 'resource(s) were provided, but no name was specified');
  const plan = deletePlan(options, bySelection);

  let found = 0;
  for (const { type, names } of targets) {
    const namespace = type.namespaced ? session.namespace : undefined;
    if (named) {
      for (const name of names) record(await deleteOne(session, plan, type, name, namespace));
      continue;
    }
    const listNamespace = type.namespaced && !options.allNamespaces ? namespace : undefined;
    const list = await session.client.list(type, { namespace: listNamespace, labelSelector: options.selector });
    for (const object of list.items) {
      record(await deleteOne(session, plan, type, object.metadata.name!, object.metadata.namespace));
      found++;
    }
  }
  if (!named && found === 0) session.notice('No resources found');
  return deleted;
}
