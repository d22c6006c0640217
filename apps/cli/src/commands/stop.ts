import { formatSelector, type Deployment, type Pod, type ReplicaSet } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { objectName, sameType } from '../kinds';
import type { Session } from '../session';
import { scaleTo } from './scale';
import { DEPLOYMENT_TYPE, expectTypes, isNotFound, ObjectRef, parseDurationFlag, parseRef, POD_TYPE, REPLICASET_TYPE, watchUntil, WatchQuery } from './workloads';

export interface StopOptions {
  /** `--no-wait` sets this false: return once the API has the change, before the pods are gone. */
  wait: boolean;
  timeout?: string;
}

export interface RmOptions extends StopOptions {
  force?: boolean;
}

type Workload = Deployment | ReplicaSet;

/** Pods that must be gone before a stop or rm has finished: a workload's (by selector) or one pod (by uid). */
interface PodsToGo {
  query: WatchQuery;
  uid?: string;
}

async function refOf(session: Session, arg: string): Promise<ObjectRef> {
  const ref = await parseRef(session, arg);
  expectTypes(ref, [POD_TYPE, DEPLOYMENT_TYPE, REPLICASET_TYPE], 'stop and rm');
  return ref;
}

function podsOfWorkload(session: Session, workload: Workload): PodsToGo {
  return { query: { namespace: session.namespace, labelSelector: formatSelector(workload.spec?.selector) } };
}

function thePod(session: Session, pod: Pod): PodsToGo {
  return { query: { namespace: session.namespace, fieldSelector: `metadata.name=${pod.metadata.name}` }, uid: pod.metadata.uid };
}

/** Waits, as `docker stop` and `docker rm` do, until the pods are gone from the cluster. */
async function waitForPodsGone(session: Session, waits: PodsToGo[], options: StopOptions): Promise<void> {
  if (!options.wait) return;
  const timeoutMs = options.timeout ? parseDurationFlag(options.timeout, 'timeout') : 0;
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0;
  for (const { query, uid } of waits) {
    const remaining = deadline ? Math.max(1, deadline - Date.now()) : 0;
    const gone = (pods: Pod[]) => (uid === undefined ? pods.length === 0 : !pods.some((pod) => pod.metadata.uid === uid));
    await watchUntil<Pod, true>(session, POD_TYPE, query, (pods) => gone(pods) || undefined, remaining);
  }
}

/** A pod owned by a controller comes back when deleted: say so, and what to stop instead. */
function warnIfReplaced(session: Session, pod: Pod): void {
  const owner = (pod.metadata.ownerReferences ?? []).find((ref) => ref.controller);
  if (owner) session.notice(`warning: pod/${pod.metadata.name} is managed by ${owner.kind} ${owner.name}, which will start a new pod in its place`);
}

/** Runs `each` for every argument, reporting a missing or refused one and going on with the others; then waits for all. */
async function forEachRef(session: Session, args: string[], options: StopOptions, each: (ref: ObjectRef) => Promise<PodsToGo | undefined>): Promise<void> {
  const refs: ObjectRef[] = [];
  for (const arg of args) refs.push(await refOf(session, arg));
  const waits: PodsToGo[] = [];
  for (const ref of refs) {
    try {
      const wait = await each(ref);
      if (wait) waits.push(wait);
    } catch (err) {
      if (!isNotFound(err) && !isBerthError(err, 'Conflict')) throw err;
      session.fail(err);
    }
  }
  await waitForPodsGone(session, waits, options);
}

/**
 * `berth stop`: a deployment (or ReplicaSet) is scaled to 0 and kept, so `berth scale` starts it again; a
 * pod is deleted (its containers stopped with their grace period). Waits until the pods are gone.
 */
export async function stop(session: Session, args: string[], options: StopOptions): Promise<void> {
  await forEachRef(session, args, options, async (ref) => {
    const namespace = session.namespace;
    if (sameType(ref.type, POD_TYPE)) {
      const pod = await session.client.get<Pod>(POD_TYPE, ref.name, { namespace });
      warnIfReplaced(session, pod);
      await session.client.delete(POD_TYPE, ref.name, { namespace, preconditions: { uid: pod.metadata.uid } });
      session.out(`${objectName(ref.type, ref.name)} stopped`);
      return thePod(session, pod);
    }
    const workload = await session.client.get<Workload>(ref.type, ref.name, { namespace });
    await scaleTo(session, ref, 0);
    session.out(`${objectName(ref.type, ref.name)} stopped`);
    return podsOfWorkload(session, workload);
  });
}

function isFinished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * `berth rm`, docker's semantics: what still runs (a deployment with replicas, a pod that has not
 * finished) is refused unless `-f`, which removes it anyway (a pod without a grace period). A deployment
 * goes with its ReplicaSets and pods. Waits until the pods are gone.
 */
export async function rm(session: Session, args: string[], options: RmOptions): Promise<void> {
  await forEachRef(session, args, options, async (ref) => {
    const namespace = session.namespace;
    const name = objectName(ref.type, ref.name);
    if (sameType(ref.type, POD_TYPE)) {
      const pod = await session.client.get<Pod>(POD_TYPE, ref.name, { namespace });
      if (!options.force && !isFinished(pod) && !pod.metadata.deletionTimestamp) {
        throw new BerthError('Conflict', `cannot remove ${name}: it is ${(pod.status?.phase ?? 'pending').toLowerCase()}: stop it first (berth stop ${ref.name}) or force the removal (-f)`);
      }
      warnIfReplaced(session, pod);
      await session.client.delete(POD_TYPE, ref.name, { namespace, gracePeriodSeconds: options.force ? 0 : undefined, preconditions: { uid: pod.metadata.uid } });
      session.out(`${name} removed`);
      return thePod(session, pod);
    }
    const workload = await session.client.get<Workload>(ref.type, ref.name, { namespace });
    const replicas = Math.max(workload.spec?.replicas ?? 1, workload.status?.replicas ?? 0);
    if (!options.force && replicas > 0) {
      throw new BerthError('Conflict', `cannot remove ${name}: it has ${replicas} replica${replicas === 1 ? '' : 's'}: stop it first (berth stop ${ref.type.singular}/${ref.name}) or force the removal (-f)`);
    }
    await session.client.delete(ref.type, ref.name, { namespace, propagationPolicy: 'Background', preconditions: { uid: workload.metadata.uid } });
    session.out(`${name} removed`);
    return podsOfWorkload(session, workload);
  });
}
