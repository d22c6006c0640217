import type { KubeObject, Node } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { builtinType, sameType } from '../kinds';
import type { Session } from '../session';
import { dryRunSuffix, parseDryRun, Selection, selectObjects, splitChanges } from './select';

export const NODE_TYPE = builtinType('nodes');

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

type NodeObject = KubeObject & { spec?: { unschedulable?: boolean; taints?: Taint[] } };

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const TAINT_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export interface NodeVerbOptions extends Selection {
  dryRun?: string | boolean;
}

/** The nodes `NODE...`, `node/NODE...` or `-l`/`--all` name. */
async function selectNodes(session: Session, args: string[], options: Selection): Promise<NodeObject[]> {
  const resourceArgs = args.length > 0 && !args[0].includes('/') ? ['nodes', ...args] : args.length > 0 ? args : ['nodes'];
  const selected = await selectObjects(session, resourceArgs, options);
  for (const { type, object } of selected) {
    if (!sameType(type, NODE_TYPE)) throw new BerthError('BadRequest', `unable to act on ${type.kind.toLowerCase()} "${object.metadata.name}": only nodes`);
  }
  return selected.map((s) => s.object as NodeObject);
}

/**
 * `berth cordon|uncordon NODE`: marks nodes (un)schedulable, as kubectl does, through a merge patch.
 * Answers the nodes that are (or already were) so.
 */
export async function setSchedulable(session: Session, args: string[], schedulable: boolean, options: NodeVerbOptions): Promise<string[]> {
  const dryRun = parseDryRun(options.dryRun);
  const verb = schedulable ? 'uncordoned' : 'cordoned';
  const done: string[] = [];
  for (const node of await selectNodes(session, args, options)) {
    const name = node.metadata.name!;
    if (!!node.spec?.unschedulable === !schedulable) {
      session.out(`node/${name} already ${verb}`);
      done.push(name);
      continue;
    }
    if (dryRun !== 'client') {
      try {
        await session.client.patch(NODE_TYPE, name, { spec: { unschedulable: schedulable ? null : true } }, { type: 'merge', dryRun: dryRun === 'server' });
      } catch (err) {
        if (!(err instanceof StatusError)) throw err;
        session.fail(err);
        continue;
      }
    }
    session.out(`node/${name} ${verb}${dryRunSuffix(dryRun)}`);
    done.push(name);
  }
  return done;
}

/** `key=value:Effect`, `key:Effect` (to add), `key:Effect-` and `key-` (to remove), as kubectl parses them. */
export function parseTaints(specs: string[]): { add: Taint[]; remove: { key: string; effect?: string }[] } {
  const add: Taint[] = [];
  const remove: { key: string; effect?: string }[] = [];
  for (const spec of specs) {
    const invalid = () => new BerthError('BadRequest', `invalid taint spec: ${spec}`);
    if (spec.endsWith('-')) {
      const body = spec.slice(0, -1);
      const colon = body.indexOf(':');
      const key = colon < 0 ? body : body.slice(0, colon);
      const effect = colon < 0 ? undefined : body.slice(colon + 1);
      if (!TAINT_KEY.test(key) || (effect !== undefined && !EFFECTS.includes(effect))) throw invalid();
      remove.push({ key, effect });
      continue;
    }
    const colon = spec.lastIndexOf(':');
    if (colon < 0) throw invalid();
    const effect = spec.slice(colon + 1);
    const keyValue = spec.slice(0, colon);
    const eq = keyValue.indexOf('=');
    const key = eq < 0 ? keyValue : keyValue.slice(0, eq);
    const value = eq < 0 ? undefined : keyValue.slice(eq + 1);
    if (!EFFECTS.includes(effect) && TAINT_KEY.test(key)) throw new BerthError('BadRequest', `invalid taint effect: ${effect}, unsupported taint effect`);
    if (!TAINT_KEY.test(key) || (value !== undefined && value.length > 63)) throw invalid();
    if (add.some((t) => t.key === key && t.effect === effect)) throw new BerthError('BadRequest', `can not both modify and remove the following taint(s) in the same command: ${key}=${value ?? ''}:${effect}`);
    add.push({ key, ...(value ? { value } : {}), effect });
  }
  if (add.length === 0 && remove.length === 0) throw new BerthError('BadRequest', 'at least one taint update is required');
  return { add, remove };
}

/** The node's taints after the changes, and kubectl's word for what happened. */
export function changeTaints(current: Taint[], changes: ReturnType<typeof parseTaints>, overwrite: boolean, nodeName: string): { taints: Taint[]; operation: string } {
  const matches = (a: Taint, b: { key: string; effect?: string }) => a.key === b.key && (b.effect === undefined || a.effect === b.effect);
  if (!overwrite) {
    const clash = changes.add.find((t) => current.some((c) => matches(c, t)));
    if (clash) throw new BerthError('BadRequest', `node ${nodeName} already has ${clash.key} taint(s) with same effect(s) and --overwrite is false`);
  }
  let taints = [...changes.add, ...current.filter((c) => !changes.add.some((t) => matches(c, t)))];
  const added = changes.add.length > 0;
  let deleted = false;
  for (const removal of changes.remove) {
    const before = taints.length;
    taints = taints.filter((t) => !matches(t, removal));
    if (taints.length === before) throw new BerthError('NotFound', `taint ${JSON.stringify(removal.effect ? `${removal.key}:${removal.effect}` : removal.key)} not found`);
    deleted = true;
  }
  const operation = (added && deleted) || overwrite ? 'modified' : added ? 'tainted' : 'untainted';
  return { taints, operation };
}

/** `berth taint nodes NODE key=value:Effect key2-`: changes nodes' taints. */
export async function taint(session: Session, args: string[], options: NodeVerbOptions & { overwrite?: boolean }): Promise<void> {
  const isTaint = (arg: string) => arg.includes(':') || arg.includes('=') || (arg.endsWith('-') && !arg.includes('/'));
  const { resources, changes: specs } = splitChanges(args, isTaint);
  const changes = parseTaints(specs);
  const dryRun = parseDryRun(options.dryRun);
  if (resources.length > 0 && !resources[0].includes('/') && !['node', 'nodes', 'no'].includes(resources[0].toLowerCase())) {
    throw new BerthError('BadRequest', `invalid resource type ${resources[0]}, only node types are supported`);
  }
  const nodeArgs = resources.length > 0 && !resources[0].includes('/') ? resources.slice(1) : resources;
  for (const node of await selectNodes(session, nodeArgs, options)) {
    const name = node.metadata.name!;
    try {
      const { taints, operation } = changeTaints(node.spec?.taints ?? [], changes, !!options.overwrite, name);
      if (dryRun !== 'client') await session.client.patch(NODE_TYPE, name, { spec: { taints } }, { type: 'merge', dryRun: dryRun === 'server' });
      session.out(`node/${name} ${operation}${dryRunSuffix(dryRun)}`);
    } catch (err) {
      if (!(err instanceof StatusError) && !(err instanceof BerthError)) throw err;
      session.fail(err);
    }
  }
}

/** The labels of the nodes a pod without tolerations can be scheduled on now: Ready, not cordoned, no NoSchedule or NoExecute taint (a global job's count). */
export async function schedulableNodeLabels(session: Session): Promise<Array<Record<string, string>>> {
  const nodes = await session.client.list<Node>(NODE_TYPE);
  return nodes.items
    .filter((node) => !node.spec?.unschedulable && (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))
    .filter((node) => !(node.spec?.taints ?? []).some((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute'))
    .map((node) => node.metadata.labels ?? {});
}
