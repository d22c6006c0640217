import type { OwnerReference, Pod } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { formatGoDuration } from '@berth/flags';
import type { Session } from '../session';
import { setSchedulable, type NodeVerbOptions } from './nodes';
import { parseDryRun, type DryRun } from './select';
import { isNotFound, parseDurationFlag, POD_TYPE } from './workloads';

export interface DrainOptions extends NodeVerbOptions {
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  gracePeriod?: number;
  timeout?: string;
  podSelector?: string;
  disableEviction?: boolean;
  skipWaitForDeleteTimeout?: number;
}

/** What kubectl's drain filters decide for one pod (the last filter that ran speaks, as in kubectl). */
export interface PodVerdict {
  pod: Pod;
  remove: boolean;
  warning?: string;
  error?: string;
}

const DAEMONSET_FATAL = 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)';
const DAEMONSET_WARNING = 'ignoring DaemonSet-managed Pods';
const LOCAL_STORAGE_FATAL = 'Pods with local storage (use --delete-emptydir-data to override)';
const LOCAL_STORAGE_WARNING = 'deleting Pods with local storage';
// kubectl's own words, its doubled "cannot delete" too.
const UNMANAGED_FATAL = 'cannot delete Pods that declare no controller (use --force to override)';
const UNMANAGED_WARNING = 'deleting Pods that declare no controller';
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
/** kubectl waits this long between a refused (429) eviction and the next try. */
const EVICTION_RETRY_MS = 5000;
/** How often kubectl looks whether an evicted pod is gone. */
const DELETE_POLL_MS = 1000;

const controllerOf = (pod: Pod): OwnerReference | undefined => (pod.metadata.ownerReferences ?? []).find((o) => o.controller);
const finished = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const podKey = (pod: Pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;

type Filter = (pod: Pod) => Omit<PodVerdict, 'pod'>;
const okay = { remove: true };

/**
 * kubectl drain's filters, in its order: pods deleted longer ago than --skip-wait-for-delete-timeout, DaemonSet
 * pods (kept; an error unless --ignore-daemonsets), mirror pods (kept), pods with emptyDir volumes, pods
 * no controller owns. The first filter that keeps a pod decides; otherwise the last one speaks (its warning
 * replaces an earlier one's, as in kubectl). `daemonSetExists` says whether a DaemonSet owner is still there.
 */
export function judgePod(pod: Pod, options: DrainOptions, daemonSetExists: boolean | undefined, now = Date.now()): PodVerdict {
  const controller = controllerOf(pod);
  const filters: Filter[] = [
    (p) => {
      const skipAfter = options.skipWaitForDeleteTimeout ?? 0;
      const deleted = p.metadata.deletionTimestamp ? Date.parse(p.metadata.deletionTimestamp) : NaN;
      return skipAfter > 0 && now - deleted > skipAfter * 1000 ? { remove: false } : okay;
    },
    (p) => {
      if (controller?.kind !== 'DaemonSet' || finished(p)) return okay;
      if (daemonSetExists === false) {
        const missing = `daemonsets.apps "${controller.name}" not found`;
        return options.force ? { remove: true, warning: missing } : { remove: false, error: missing };
      }
      return options.ignoreDaemonsets ? { remove: false, warning: DAEMONSET_WARNING } : { remove: false, error: DAEMONSET_FATAL };
    },
    (p) => (p.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined ? { remove: false } : okay),
    (p) => {
      if (!(p.spec?.volumes ?? []).some((v) => v.emptyDir) || finished(p)) return okay;
      return options.deleteEmptydirData ? { remove: true, warning: LOCAL_STORAGE_WARNING } : { remove: false, error: LOCAL_STORAGE_FATAL };
    },
    (p) => {
      if (finished(p) || controller) return okay;
      return options.force ? { remove: true, warning: UNMANAGED_WARNING } : { remove: false, error: UNMANAGED_FATAL };
    },
  ];
  let verdict: Omit<PodVerdict, 'pod'> = okay;
  for (const filter of filters) {
    verdict = filter(pod);
    if (!verdict.remove) break;
  }
  return { pod, ...verdict };
}

/** `message: ns/a, ns/b` per message, in the order first seen (kubectl's map order is random). */
function grouped(verdicts: PodVerdict[], field: 'warning' | 'error'): string[] {
  const byMessage = new Map<string, string[]>();
  for (const verdict of verdicts) {
    const message = verdict[field];
    if (message === undefined) continue;
    byMessage.set(message, [...(byMessage.get(message) ?? []), podKey(verdict.pod)]);
  }
  return [...byMessage].map(([message, pods]) => `${field === 'error' ? 'cannot delete ' : ''}${message}: ${pods.join(', ')}`);
}

/** kubectl's aggregate of errors: one alone, several in brackets. */
function aggregate(messages: string[]): string {
  return messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
}

/** What stopped a node's drain; kubectl prints its messages one a line at the end. */
class DrainError extends Error {
  constructor(readonly messages: string[]) {
    super(aggregate(messages));
  }
}

/** The pods on the node, judged; throws kubectl's aggregate when any may not go. */
async function podsForDeletion(session: Session, node: string, options: DrainOptions): Promise<PodVerdict[]> {
  const pods = (await session.client.list<Pod>(POD_TYPE, { fieldSelector: `spec.nodeName=${node}`, labelSelector: options.podSelector })).items;
  const daemonSets = new Map<string, boolean>();
  const verdicts: PodVerdict[] = [];
  for (const pod of pods) {
    const controller = controllerOf(pod);
    let exists: boolean | undefined;
    if (controller?.kind === 'DaemonSet' && !finished(pod)) {
      const key = `${pod.metadata.namespace}/${controller.name}`;
      if (!daemonSets.has(key)) {
        const type = await session.discovery.resolve('daemonsets.apps');
        daemonSets.set(key, await session.client.get(type, controller.name, { namespace: pod.metadata.namespace }).then(() => true, (err) => (isNotFound(err) ? false : Promise.reject(err))));
      }
      exists = daemonSets.get(key);
    }
    verdicts.push(judgePod(pod, options, exists));
  }
  const errors = grouped(verdicts, 'error');
  if (errors.length > 0) throw new DrainError(errors);
  return verdicts;
}

interface Deadline {
  at: number;
  text: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the pod is gone (or replaced by one with another uid), as kubectl's waitForDelete does. */
async function waitForDelete(session: Session, pod: Pod, deadline: Deadline): Promise<void> {
  for (;;) {
    try {
      const now = await session.client.get<Pod>(POD_TYPE, pod.metadata.name!, { namespace: pod.metadata.namespace });
      if (now.metadata.uid !== pod.metadata.uid) return;
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (Date.now() >= deadline.at) {
      throw new DrainError([`error when waiting for pod "${pod.metadata.name}" in namespace "${pod.metadata.namespace}" to terminate: timed out waiting for the condition`]);
    }
    await sleep(Math.min(DELETE_POLL_MS, Math.max(deadline.at - Date.now(), 0)));
  }
}

/** Evicts one pod (retrying while a budget refuses, every 5 s) or deletes it, then waits for it to go. */
async function removePod(session: Session, pod: Pod, evict: boolean, options: DrainOptions, dryRun: DryRun, deadline: Deadline): Promise<void> {
  const [name, namespace] = [pod.metadata.name!, pod.metadata.namespace!];
  const grace = options.gracePeriod !== undefined && options.gracePeriod >= 0 ? { gracePeriodSeconds: options.gracePeriod } : {};
  const suffix = dryRun === 'server' ? ' (server dry run)' : '';
  if (!evict) {
    session.out(`deleting pod ${namespace}/${name}${suffix}`);
    try {
      await session.client.delete(POD_TYPE, name, { namespace, ...grace, dryRun: dryRun === 'server' });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  } else {
    for (;;) {
      session.out(`evicting pod ${namespace}/${name}${suffix}`);
      if (Date.now() >= deadline.at) throw new DrainError([`error when evicting pods/"${name}" -n "${namespace}": global timeout reached: ${deadline.text}`]);
      try {
        await session.client.request({
          method: 'POST',
          path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/eviction${dryRun === 'server' ? '?dryRun=All' : ''}`,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, deleteOptions: { ...grace, ...(dryRun === 'server' ? { dryRun: ['All'] } : {}) } },
        });
        break;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!(err instanceof StatusError) || err.reason !== 'TooManyRequests') {
          throw new DrainError([`error when evicting pods/"${name}" -n "${namespace}": ${err instanceof Error ? err.message : String(err)}`]);
        }
        session.notice(`error when evicting pods/"${name}" -n "${namespace}" (will retry after 5s): ${err.message}`);
        await sleep(Math.min(EVICTION_RETRY_MS, Math.max(deadline.at - Date.now(), 0)));
      }
    }
  }
  if (dryRun === 'server') return;
  await waitForDelete(session, pod, deadline);
  session.out(`pod/${name} ${evict ? 'evicted' : 'deleted'}`);
}

/** Removes the pods of one node, all at once as kubectl does; the errors of all, aggregated. */
async function drainNode(session: Session, node: string, options: DrainOptions, dryRun: DryRun, evict: boolean, deadline: Deadline): Promise<void> {
  const verdicts = await podsForDeletion(session, node, options);
  const warnings = grouped(verdicts, 'warning');
  if (warnings.length > 0) session.notice(`Warning: ${warnings.join('; ')}`);
  const pods = verdicts.filter((v) => v.remove).map((v) => v.pod);
  if (dryRun === 'client') {
    for (const pod of pods) session.out(`evicting pod ${podKey(pod)} (dry run)`);
    return;
  }
  const results = await Promise.allSettled(pods.map((pod) => removePod(session, pod, evict, options, dryRun, deadline)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0) return;
  const messages = failures.map((err) => {
    if (err instanceof DrainError || err instanceof StatusError) return err.message;
    throw err;
  });
  const pending = await podsForDeletion(session, node, options).then(
    (list) => list.filter((v) => v.remove).map((v) => v.pod),
    () => [],
  );
  if (pending.length > 0) {
    session.notice(`There are pending pods in node "${node}" when an error occurred: ${aggregate(messages)}`);
    for (const pod of pending) session.notice(`pod/${pod.metadata.name}`);
  }
  throw new DrainError(messages);
}

/**
 * `berth drain NODE`: cordons the node, then evicts its pods through pods/eviction (so PodDisruptionBudgets
 * hold; a refused eviction is tried again every 5 s until --timeout) or, when the server has no eviction or
 * with --disable-eviction, deletes them; waits until they are gone. DaemonSet pods stay (--ignore-daemonsets
 * says that is fine), as do mirror pods; pods with emptyDir data or without a controller need
 * --delete-emptydir-data or --force. kubectl's lines, on the same streams.
 */
export async function drain(session: Session, args: string[], options: DrainOptions): Promise<void> {
  const dryRun = parseDryRun(options.dryRun);
  const timeoutMs = parseDurationFlag(options.timeout ?? '0s', 'timeout');
  const deadline: Deadline = { at: timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY, text: formatGoDuration(timeoutMs) };
  if (args.length === 0 && options.selector === undefined) throw new BerthError('BadRequest', 'USAGE: drain NODE [flags]');
  const nodes = await setSchedulable(session, args, false, options);
  if (session.hasFailed) return;
  const catalog = await session.discovery.resources();
  const evict = !options.disableEviction && catalog.hasSubresource(POD_TYPE, 'eviction');
  for (const [index, node] of nodes.entries()) {
    try {
      await drainNode(session, node, options, dryRun, evict, deadline);
      session.out(`node/${node} drained${dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : ''}`);
    } catch (err) {
      if (!(err instanceof DrainError) && !(err instanceof StatusError)) throw err;
      session.notice(`error: unable to drain node "${node}" due to error: ${err.message}, continuing command...`);
      session.notice('There are pending nodes to be drained:');
      for (const pending of nodes.slice(index)) session.notice(` ${pending}`);
      // kubectl ends with the bare errors, one a line, without its `error: `.
      for (const message of err instanceof DrainError ? err.messages : [err.message]) session.failWith(message);
      return;
    }
  }
}

