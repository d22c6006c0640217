import type { KubeObject, ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { objectName, parseTargets } from '../kinds';
import { Output, parseOutput, renderObjects } from '../output';
import type { Session } from '../session';

/** What the object-changing verbs (label, annotate, patch, set, taint...) act on. */
export interface Selection {
  selector?: string;
  all?: boolean;
  allNamespaces?: boolean;
}

export interface SelectedObject {
  type: ResourceType;
  object: KubeObject;
}

/** `--dry-run`: `none` (the default), `client` (nothing is sent) or `server` (the server checks, stores nothing). */
export type DryRun = 'none' | 'client' | 'server';

export function parseDryRun(value: string | boolean | undefined): DryRun {
  if (value === undefined || value === false || value === 'none') return 'none';
  // A bare --dry-run meant client in old kubectl.
  if (value === true || value === 'client') return 'client';
  if (value === 'server') return 'server';
  throw new BerthError('BadRequest', `Invalid dry-run value (${String(value)}). Must be "none", "server", or "client".`);
}

/** kubectl's suffix after what a dry run did: `configmap/x labeled (server dry run)`. */
export function dryRunSuffix(dryRun: DryRun): string {
  return dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
}

/** The formats a verb that changes objects prints its result in. */
export const RESULT_FORMATS = ['json', 'yaml', 'name', 'jsonpath', 'jsonpath-as-json', 'jsonpath-file', 'custom-columns', 'custom-columns-file'];

export function parseResultOutput(output: string | undefined): Output {
  return parseOutput(output, RESULT_FORMATS);
}

/** Prints what a verb did to an object: `configmap/x labeled`, or the object in the `-o` format. */
export function printResult(session: Session, output: Output, type: ResourceType, object: KubeObject, done: string, dryRun: DryRun): void {
  if (output.kind === 'table' || output.kind === 'wide') {
    session.out(`${objectName(type, object.metadata.name ?? '')} ${done}${dryRunSuffix(dryRun)}`);
    return;
  }
  const text = renderObjects(output, [{ type, object }], true);
  if (output.kind === 'jsonpath' && !output.asJson) process.stdout.write(text);
  else session.out(text);
}

/**
 * The objects `TYPE NAME...`, `TYPE/NAME...`, `TYPE -l SELECTOR` or `TYPE --all` name, read from the
 * server. A name that is not found is reported and skipped (exit 1 at the end), as kubectl does.
 */
export async function selectObjects(session: Session, args: string[], selection: Selection): Promise<SelectedObject[]> {
  if (args.length === 0) throw new BerthError('BadRequest', 'You must provide one or more resources by argument or filename.');
  const targets = await parseTargets(args, session.discovery);
  const named = targets.some((t) => t.names.length > 0);
  const bySelection = !!selection.all || selection.selector !== undefined;
  if (named && bySelection) throw new BerthError('BadRequest', 'name cannot be provided when a selector or --all is specified');
  if (!named && !bySelection) throw new BerthError('BadRequest', 'resource(s) were provided, but no name was specified');
  const found: SelectedObject[] = [];
  for (const { type, names } of targets) {
    const namespace = type.namespaced ? session.namespace : undefined;
    if (!named) {
      const listNamespace = type.namespaced && !selection.allNamespaces ? namespace : undefined;
      const list = await session.client.list(type, { namespace: listNamespace, labelSelector: selection.selector });
      for (const object of list.items) found.push({ type, object });
      continue;
    }
    for (const name of names) {
      try {
        found.push({ type, object: await session.client.get(type, name, { namespace }) });
      } catch (err) {
        if (!(err instanceof StatusError)) throw err;
        session.fail(err);
      }
    }
  }
  return found;
}

/** Splits `TYPE NAME key=v key-` at the first argument that is a change, as kubectl's label/annotate read it. */
export function splitChanges(args: string[], isChange: (arg: string) => boolean): { resources: string[]; changes: string[] } {
  const first = args.findIndex(isChange);
  if (first < 0) return { resources: args, changes: [] };
  return { resources: args.slice(0, first), changes: args.slice(first) };
}
