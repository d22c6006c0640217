import type { KubeObject, ResourceType } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { relaxedJsonPath, formatJsonPathValue } from '../jsonpath';
import { kindPrefix, parseTargets } from '../kinds';
import type { Session } from '../session';
import { parseDurationFlag, watchUntil } from './workloads';

export interface WaitOptions {
  for?: string;
  timeout?: string;
  selector?: string;
  all?: boolean;
  allNamespaces?: boolean;
}

/** What `--for` asks: an object's deletion, a condition's status, or a JSONPath value (or its presence). */
export type WaitCondition =
  | { kind: 'delete' }
  | { kind: 'create' }
  | { kind: 'condition'; type: string; status: string }
  | { kind: 'jsonpath'; path: string; value?: string };

/** kubectl's `--for` forms: `delete`, `create`, `condition=Ready[=false]`, `jsonpath={.status.phase}=Running`. */
export function parseWaitFor(text: string | undefined): WaitCondition {
  if (!text) throw new BerthError('BadRequest', '--for must be specified: delete, create, condition=..., or jsonpath=...');
  const lower = text.toLowerCase();
  if (lower === 'delete') return { kind: 'delete' };
  if (lower === 'create') return { kind: 'create' };
  if (lower.startsWith('condition=')) {
    const body = text.slice('condition='.length);
    const eq = body.indexOf('=');
    const type = eq < 0 ? body : body.slice(0, eq);
    if (type === '') throw new BerthError('BadRequest', 'condition cannot be empty');
    return { kind: 'condition', type, status: eq < 0 ? 'true' : body.slice(eq + 1) };
  }
  if (lower.startsWith('jsonpath=')) {
    const body = text.slice('jsonpath='.length);
    // The path is `{...}` (or a relaxed `.a.b`); an `=` after it gives the value.
    const close = body.startsWith('{') ? body.indexOf('}') : -1;
    const split = close >= 0 ? (body[close + 1] === '=' ? close + 1 : -1) : body.indexOf('=');
    const path = split < 0 ? body : body.slice(0, split);
    if (path === '' || path === '{}') throw new BerthError('BadRequest', 'jsonpath expression cannot be empty');
    relaxedJsonPath(path);
    return { kind: 'jsonpath', path, value: split < 0 ? undefined : body.slice(split + 1) };
  }
  throw new BerthError('BadRequest', `unrecognized condition: "${text}"`);
}

/** Whether the object meets the condition (deletion is decided by absence, not here). */
export function conditionMet(condition: WaitCondition, object: KubeObject): boolean {
  switch (condition.kind) {
    case 'create':
      return true;
    case 'delete':
      return false;
    case 'condition': {
      const conditions = (object as { status?: { conditions?: { type?: string; status?: string }[] } }).status?.conditions;
      if (!Array.isArray(conditions)) return false;
      const found = conditions.find((c) => typeof c?.type === 'string' && c.type.toLowerCase() === condition.type.toLowerCase());
      return !!found && String(found.status).toLowerCase() === condition.status.toLowerCase();
    }
    case 'jsonpath': {
      const values = relaxedJsonPath(condition.path).values(object);
      if (condition.value === undefined) return values.length > 0;
      return values.length > 0 && values.every((v) => formatJsonPathValue(v) === condition.value);
    }
  }
}

interface Waited {
  type: ResourceType;
  name: string;
  namespace?: string;
}

async function exists(session: Session, target: Waited): Promise<boolean> {
  try {
    await session.client.get(target.type, target.name, { namespace: target.namespace });
    return true;
  } catch (err) {
    if (err instanceof StatusError && err.reason === 'NotFound') return false;
    throw err;
  }
}

/** `berth wait --for=... TYPE/NAME... | TYPE -l SELECTOR | TYPE --all`: until each object meets it, or the timeout. */
export async function wait(session: Session, args: string[], options: WaitOptions): Promise<void> {
  const condition = parseWaitFor(options.for);
  const timeoutMs = parseDurationFlag(options.timeout ?? '30s', 'timeout');
  const deadline = Date.now() + timeoutMs;
  if (args.length === 0) throw new BerthError('BadRequest', 'resource(s) were provided, but no name was specified');
  const targets = await parseTargets(args, session.discovery);
  const waited: Waited[] = [];
  for (const { type, names } of targets) {
    const namespace = type.namespaced ? session.namespace : undefined;
    if (names.length > 0) {
      waited.push(...names.map((name) => ({ type, name, namespace })));
      continue;
    }
    if (!options.all && options.selector === undefined) throw new BerthError('BadRequest', 'resource(s) were provided, but no name was specified');
    const list = await session.client.list(type, { namespace: type.namespaced && !options.allNamespaces ? namespace : undefined, labelSelector: options.selector });
    waited.push(...list.items.map((o) => ({ type, name: o.metadata.name!, namespace: o.metadata.namespace })));
  }
  if (waited.length === 0) throw new BerthError('NotFound', 'no matching resources found');
  for (const target of waited) {
    const remaining = Math.max(deadline - Date.now(), 1);
    const query = { namespace: target.namespace, fieldSelector: `metadata.name=${target.name}` };
    const prefix = `${kindPrefix(target.type)}/${target.name}`;
    try {
      // Only a deletion (or a creation) may be waited for on an object that is not there: the server says so.
      if (condition.kind !== 'delete' && condition.kind !== 'create') await session.client.get(target.type, target.name, { namespace: target.namespace });
      // An object already gone has nothing to wait for, and kubectl says nothing of it.
      if (condition.kind === 'delete' && !(await exists(session, target))) continue;
      await watchUntil<KubeObject, true>(
        session,
        target.type,
        query,
        (objects) => {
          if (condition.kind === 'delete') return objects.length === 0 ? true : undefined;
          if (objects.length === 0 && condition.kind !== 'create') {
            throw new BerthError('NotFound', `${target.type.plural}${target.type.group ? `.${target.type.group}` : ''} "${target.name}" not found`);
          }
          return objects.some((o) => conditionMet(condition, o)) ? true : undefined;
        },
        timeoutMs > 0 ? remaining : 1,
      );
      session.out(`${prefix} condition met`);
    } catch (err) {
      if (isBerthError(err, 'Timeout')) {
        session.fail(new BerthError('Timeout', `timed out waiting for the condition on ${target.type.plural}${target.type.group ? `.${target.type.group}` : ''}/${target.name}`));
      } else if (err instanceof StatusError || (isBerthError(err, 'NotFound') && condition.kind !== 'delete')) {
        session.fail(err);
      } else throw err;
    }
  }
}
