import { formatSelector, type Deployment, type KubeObject, type Pod, type ResourceType } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { StatusError, type Watch } from '@berth/client';
import { parseGoDuration } from '@berth/flags';
import { builtinType, KindResolver, parseTargets, sameType } from '../kinds';
import type { Session } from '../session';

/** What the workload verbs share: typed references, a workload's pods, and kubectl's flag grammar. */

export const POD_TYPE = builtinType('pods');
export const DEPLOYMENT_TYPE = builtinType('deployments');
export const REPLICASET_TYPE = builtinType('replicasets');

export interface ObjectRef {
  type: ResourceType;
  name: string;
}

/** `deploy/web`, `pod/web-1` or a bare name, which is of `bareType` (a pod for logs, exec, stop, rm). */
export async function parseRef(session: { discovery: KindResolver }, arg: string, bareType: ResourceType = POD_TYPE): Promise<ObjectRef> {
  if (!arg.includes('/')) return { type: bareType, name: arg };
  const [target] = await parseTargets([arg], session.discovery);
  return { type: target.type, name: target.names[0] };
}

/** kubectl's two forms, `TYPE/NAME...` or `TYPE NAME...`, as one reference per name. */
export async function parseRefs(session: { discovery: KindResolver }, args: string[]): Promise<ObjectRef[]> {
  const refs = (await parseTargets(args, session.discovery)).flatMap(({ type, names }) => names.map((name) => ({ type, name })));
  if (refs.length === 0) throw new BerthError('BadRequest', 'resource(s) were provided, but no name was specified');
  return refs;
}

/** Refuses types a verb cannot act on, in kubectl's words. */
export function expectTypes(ref: ObjectRef, allowed: ResourceType[], verb: string): void {
  if (!allowed.some((type) => sameType(type, ref.type))) {
    const kind = ref.type.group ? `${ref.type.kind}.${ref.type.group}` : ref.type.kind;
    throw new BerthError('BadRequest', `${verb} is not supported for ${kind} "${ref.name}": use ${allowed.map((t) => t.plural).join(' or ')}`);
  }
}

/** `--replicas`, `--tail` and similar counts: a whole number, at least `min`. */
export function parseCount(flag: string, min = 0): (value: string) => number {
  return (value: string) => {
    const count = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || count < min) throw new BerthError('BadRequest', `invalid value ${JSON.stringify(value)} for ${flag}: it must be a whole number >= ${min}`);
    return count;
  };
}

/**
 * `--since`, `--timeout` and other kubectl duration flags: a Go duration (`90s`, `1h30m`, `0`), in
 * milliseconds, refused as pflag words it (`invalid argument "10" for "since" flag: time: missing unit ...`).
 */
export function parseDurationFlag(text: string, flag = 'duration'): number {
  try {
    return parseGoDuration(text);
  } catch (err) {
    throw new BerthError('BadRequest', `invalid argument ${JSON.stringify(text)} for "${flag}" flag: ${(err as Error).message}`);
  }
}

/** `K=V` flags (`--env`, `--label`) as a map, in the order given; `what` names the flag in errors. */
export function parseKeyValues(pairs: string[], what: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BerthError('BadRequest', `invalid ${what}: ${JSON.stringify(pair)}: expected KEY=VALUE`);
    map[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return map;
}

export async function getDeployment(session: Session, name: string): Promise<Deployment> {
  return session.client.get<Deployment>(DEPLOYMENT_TYPE, name, { namespace: session.namespace });
}

/**
 * The label selector of the pods a workload runs: a Deployment's, ReplicaSet's, Job's, DaemonSet's or
 * StatefulSet's `spec.selector`, a Service's plain map; undefined for an object without one.
 */
export function podSelectorOf(object: KubeObject): string | undefined {
  const selector = (object as { spec?: { selector?: unknown } }).spec?.selector;
  if (typeof selector !== 'object' || selector === null) return undefined;
  const isLabelSelector = object.kind !== 'Service';
  return formatSelector(isLabelSelector ? selector : { matchLabels: selector }) || undefined;
}

/** The pods a workload (Deployment, ReplicaSet, Job, Service...) selects, in the session's namespace. */
export async function podsSelectedBy(session: Session, workload: KubeObject): Promise<Pod[]> {
  const labelSelector = podSelectorOf(workload);
  if (!labelSelector) return [];
  const list = await session.client.list<Pod>(POD_TYPE, { namespace: session.namespace, labelSelector });
  return list.items;
}

const PHASE_RANK: Record<string, number> = { Running: 0, Unknown: 1, Pending: 2 };

function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function restarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
}

/**
 * The pods in the order kubectl's podutils.ByLogging picks from: live before terminating, scheduled before
 * not, Running before Unknown before Pending, ready first, more restarts first (the interesting logs), older first.
 */
export function byLogging(pods: Pod[]): Pod[] {
  const keys = (pod: Pod): number[] => [
    pod.metadata.deletionTimestamp ? 1 : 0,
    pod.spec?.nodeName ? 0 : 1,
    PHASE_RANK[pod.status?.phase ?? ''] ?? 3,
    isReady(pod) ? 0 : 1,
    -restarts(pod),
    Date.parse(pod.metadata.creationTimestamp ?? '') || Number.MAX_SAFE_INTEGER,
  ];
  return [...pods].sort((a, b) => {
    const [ka, kb] = [keys(a), keys(b)];
    const differs = ka.findIndex((value, i) => value !== kb[i]);
    return differs < 0 ? 0 : ka[differs] - kb[differs];
  });
}

/**
 * The pod a `logs` or `exec` target means: the pod itself, or the one kubectl would pick of a workload's
 * (any object with a pod selector: deploy, rs, job, ds, sts, svc; `logs` says which, as kubectl does, when
 * there were several).
 */
export async function resolvePod(session: Session, arg: string, opts: { sayWhich?: boolean } = {}): Promise<Pod> {
  const ref = await parseRef(session, arg);
  if (sameType(ref.type, POD_TYPE)) return session.client.get<Pod>(POD_TYPE, ref.name, { namespace: session.namespace });
  const workload = await session.client.get(ref.type, ref.name, { namespace: session.namespace });
  if (!podSelectorOf(workload)) throw new BerthError('BadRequest', `cannot find the pods of ${ref.type.singular} "${ref.name}": it has no pod selector`);
  const pods = byLogging(await podsSelectedBy(session, workload));
  if (pods.length === 0) throw new BerthError('NotFound', `no pods found for ${ref.type.singular} "${ref.name}" in namespace ${session.namespace}`);
  if (opts.sayWhich && pods.length > 1) session.notice(`Found ${pods.length} pods, using pod/${pods[0].metadata.name}`);
  return pods[0];
}

/** The annotation kubectl reads to pick a pod's container when none is named. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/**
 * `-c NAME`, checked against the pod; otherwise, as kubectl 1.32: the default-container annotation's, else
 * the first container, told through `say` (`Defaulted container "a" out of: a, b, init (init)`) when the
 * pod has others.
 */
export function chooseContainer(pod: Pod, requested: string | undefined, say: (line: string) => void): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  const initNames = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const ephemeralNames = ((pod.spec as { ephemeralContainers?: { name: string }[] } | undefined)?.ephemeralContainers ?? []).map((c) => c.name);
  const podName = pod.metadata.name ?? '';
  if (requested) {
    if (!names.includes(requested) && !initNames.includes(requested) && !ephemeralNames.includes(requested)) {
      throw new BerthError('BadRequest', `container ${requested} is not valid for pod ${podName}`);
    }
    return requested;
  }
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (annotated && names.includes(annotated)) return annotated;
  if (names.length === 0) throw new BerthError('BadRequest', `pod ${podName} has no containers`);
  if (names.length > 1 || initNames.length > 0 || ephemeralNames.length > 0) {
    const all = [...names, ...initNames.map((n) => `${n} (init)`), ...ephemeralNames.map((n) => `${n} (ephem)`)];
    say(`Defaulted container ${JSON.stringify(names[0])} out of: ${all.join(', ')}`);
  }
  return names[0];
}

/** Whether an error is the server's NotFound (the object went away), as opposed to any other failure. */
export function isNotFound(err: unknown): boolean {
  return err instanceof StatusError && err.reason === 'NotFound';
}

export interface WatchQuery {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Lists the objects a query selects and follows them (watching again when the server ends a stream,
 * relisting after compaction) until `decide` answers something other than undefined for the current set.
 * `timeoutMs` (0: none) ends the wait with kubectl's `timed out waiting for the condition`.
 */
export async function watchUntil<T extends KubeObject, R>(
  session: Session,
  type: ResourceType,
  query: WatchQuery,
  decide: (objects: T[]) => R | undefined,
  timeoutMs = 0,
): Promise<R> {
  let timedOut = false;
  let watch: Watch<T> | undefined;
  const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), watch?.close()), timeoutMs) : undefined;
  const keyOf = (object: T) => object.metadata.uid ?? `${object.metadata.namespace}/${object.metadata.name}`;
  const timeout = () => new BerthError('Timeout', 'timed out waiting for the condition');
  try {
    for (;;) {
      const list = await session.client.list<T>(type, query);
      const objects = new Map(list.items.map((object) => [keyOf(object), object]));
      let decided = decide([...objects.values()]);
      if (decided !== undefined) return decided;
      let resourceVersion = list.metadata.resourceVersion;
      let compacted = false;
      while (!compacted) {
        if (timedOut) throw timeout();
        watch = await session.client.watch<T>(type, { ...query, resourceVersion, allowWatchBookmarks: true });
        if (timedOut) throw timeout();
        try {
          for await (const event of watch) {
            resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
            if (event.type === 'BOOKMARK') continue;
            if (event.type === 'DELETED') objects.delete(keyOf(event.object));
            else objects.set(keyOf(event.object), event.object);
            decided = decide([...objects.values()]);
            if (decided !== undefined) return decided;
          }
        } catch (err) {
          // A stream that broke or went silent (its server cut off): watch again from where it was, through
          // the server the client moved on to (after a pause, so a stream that keeps breaking does not spin);
          // opening that watch fails outright if no server answers.
          if (isBerthError(err, 'ServiceUnavailable')) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            continue;
          }
          if (!isBerthError(err, 'Compacted') && !isBerthError(err, 'Gone')) throw err;
          compacted = true;
        }
      }
    }
  } finally {
    clearTimeout(timer);
    watch?.close();
  }
}
