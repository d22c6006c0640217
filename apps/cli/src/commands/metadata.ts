import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import type { Session } from '../session';
import { parseDryRun, parseResultOutput, printResult, Selection, selectObjects, splitChanges } from './select';

export interface MetadataOptions extends Selection {
  overwrite?: boolean;
  dryRun?: string | boolean;
  output?: string;
  resourceVersion?: string;
}

interface Changes {
  set: Record<string, string>;
  remove: string[];
}

/** A label (or annotation) key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

const isChange = (arg: string) => arg.includes('=') || (arg.endsWith('-') && !arg.includes('/'));

/** `key=value` and `key-` arguments, checked as kubectl checks them. */
export function parseChanges(args: string[], what: 'label' | 'annotation'): Changes {
  const changes: Changes = { set: Object.create(null) as Record<string, string>, remove: [] };
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0 && arg.endsWith('-')) {
      changes.remove.push(arg.slice(0, -1));
      continue;
    }
    if (eq < 0) throw new BerthError('BadRequest', `invalid ${what} spec: ${arg}`);
    const [key, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
    if (!KEY.test(key) || (what === 'label' && !LABEL_VALUE.test(value))) throw new BerthError('BadRequest', `invalid ${what} spec: ${arg}`);
    changes.set[key] = value;
  }
  for (const key of changes.remove) {
    if (Object.prototype.hasOwnProperty.call(changes.set, key)) throw new BerthError('BadRequest', `can not both modify and remove the following ${what}(s) in the same command: ${key}`);
  }
  if (Object.keys(changes.set).length === 0 && changes.remove.length === 0) throw new BerthError('BadRequest', `at least one ${what} update is required`);
  return changes;
}

/** `berth label` and `berth annotate`: a merge patch of metadata.labels|annotations on every object selected. */
export async function changeMetadata(session: Session, field: 'labels' | 'annotations', args: string[], options: MetadataOptions): Promise<void> {
  const what = field === 'labels' ? 'label' : 'annotation';
  const { resources, changes: changeArgs } = splitChanges(args, isChange);
  const changes = parseChanges(changeArgs, what);
  const dryRun = parseDryRun(options.dryRun);
  const output = parseResultOutput(options.output);
  if (options.resourceVersion !== undefined && (options.all || options.selector !== undefined)) {
    throw new BerthError('BadRequest', '--resource-version may only be used with a single resource');
  }
  for (const { type, object } of await selectObjects(session, resources, options)) {
    const current: Record<string, string> = { ...(object.metadata[field] ?? {}) };
    const conflict = Object.keys(changes.set).find((key) => !options.overwrite && Object.prototype.hasOwnProperty.call(current, key) && current[key] !== changes.set[key]);
    if (conflict !== undefined) {
      const already = `'${conflict}' already has a value (${current[conflict]})`;
      // kubectl words the two verbs' refusals differently.
      session.fail(new BerthError('BadRequest', field === 'labels' ? `${already}, and --overwrite is false` : `--overwrite is false but found the following declared annotation(s): ${already}`));
      continue;
    }
    const patch: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(changes.set)) if (current[key] !== value) patch[key] = value;
    for (const key of changes.remove) if (Object.prototype.hasOwnProperty.call(current, key)) patch[key] = null;
    const changed = Object.keys(patch).length > 0;
    const done = changed ? (field === 'labels' ? 'labeled' : 'annotated') : field === 'labels' ? 'not labeled' : 'not annotated';
    let result = object;
    if (dryRun === 'client') {
      const next = { ...current };
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete next[key];
        else next[key] = value;
      }
      result = { ...object, metadata: { ...object.metadata, [field]: next } };
    } else if (changed) {
      const body = { metadata: { [field]: patch, ...(options.resourceVersion !== undefined ? { resourceVersion: options.resourceVersion } : {}) } };
      try {
        result = await session.client.patch(type, object.metadata.name!, body, { namespace: object.metadata.namespace, type: 'merge', dryRun: dryRun === 'server' });
      } catch (err) {
        if (!(err instanceof StatusError)) throw err;
        session.fail(err);
        continue;
      }
    }
    printResult(session, output, type, result, done, dryRun);
  }
}
