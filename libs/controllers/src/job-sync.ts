/**
 * What the Job controller decides for one Job, as a pure function of the Job, its pods and the time
 * (Kubernetes' syncJob, as 1.32 runs it): which finished pods to count, which pods to create or delete,
 * the status to write and the conditions it carries. The controller (job.ts) carries the plan out.
 *
 * Counting follows Kubernetes' tracking with finalizers: every pod is created with
 * `batch.kubernetes.io/job-tracking`; a finished pod's uid is first recorded in
 * status.uncountedTerminatedPods, then its finalizer is removed, and only then is it moved into
 * status.succeeded/failed. A pod is therefore counted exactly once, even if it is deleted right after it
 * finished or the controller restarts between the steps.
 *
 * Terminal conditions are delayed as in 1.32: FailureTarget (or SuccessCriteriaMet) is set when the
 * outcome is decided, the remaining pods are deleted, and Failed (or Complete) follows once none is left
 * running or terminating.
 */
import {
  type Job,
  type JobCondition,
  JOB_COMPLETION_INDEX_ANNOTATION,
  JOB_COMPLETION_INDEX_ENV,
  JOB_TRACKING_FINALIZER,
  type JobStatus,
  type Pod,
  type PodFailurePolicyRule,
  trueJobCondition,
} from '@berth/api';
import { controllerReference } from './claim';
import { isPodReady } from './pods';
import { clone } from './types';

/** Kubernetes' DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const JOB_BACKOFF_INITIAL_MS = 10_000;
export const JOB_BACKOFF_MAX_MS = 6 * 60_000;

/** Failures since the last success and when the last one happened (Kubernetes' backoffRecord). */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/** The back-off before the next pod: 10 s doubling per failure since the last success, at most 6 min, minus the time passed. */
export function remainingBackoffMs(record: BackoffRecord, now: number): number {
  if (record.failuresAfterLastSuccess === 0 || record.lastFailureTime === undefined) return 0;
  let delay = JOB_BACKOFF_INITIAL_MS;
  for (let i = 1; i < record.failuresAfterLastSuccess && delay < JOB_BACKOFF_MAX_MS; i++) delay *= 2;
  delay = Math.min(delay, JOB_BACKOFF_MAX_MS);
  return Math.max(0, delay - (now - record.lastFailureTime));
}

// ---- Completion indexes ------------------------------------------------------------------------------

/** `1,3-5,7` → {1,3,4,5,7}; malformed parts and indexes outside [0, completions) are dropped. */
export function parseIndexes(text: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const match = /^([0-9]{1,6})(?:-([0-9]{1,6}))?$/.exec(part.trim());
    if (!match) continue;
    const first = Number(match[1]);
    const last = Math.min(match[2] === undefined ? first : Number(match[2]), completions - 1);
    for (let i = first; i <= last; i++) out.add(i);
  }
  return out;
}

/** {1,3,4,5,7} → `1,3-5,7`, as status.completedIndexes is written. */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The pod's completion index, when it has a valid one for this Job. */
export function completionIndexOf(pod: Pod, completions: number): number | undefined {
  const text = pod.metadata.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION] ?? pod.metadata.labels?.[JOB_COMPLETION_INDEX_ANNOTATION];
  if (text === undefined || !/^(0|[1-9][0-9]{0,5})$/.test(text)) return undefined;
  const index = Number(text);
  return index < completions ? index : undefined;
}

const isIndexed = (job: Job) => job.spec?.completionMode === 'Indexed';

// ---- Pods ---------------------------------------------------------------------------------------------

/** The pod the Job creates (for an Indexed Job, the pod of `index`). */
export function podForJob(job: Job, index?: number): Pod {
  const template = clone(job.spec!.template);
  const name = job.metadata.name!;
  const labels = { ...(template.metadata?.labels ?? {}) };
  const annotations = { ...(template.metadata?.annotations ?? {}) };
  const spec = template.spec!;
  if (index !== undefined) {
    labels[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    annotations[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    const indexEnv = { name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX_ANNOTATION}']` } } };
    for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      if (!(container.env ?? []).some((e) => e.name === JOB_COMPLETION_INDEX_ENV)) container.env = [...(container.env ?? []), indexEnv];
    }
    if (!spec.hostname) spec.hostname = `${name}-${index}`;
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
      namespace: job.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [controllerReference(job)],
      finalizers: [JOB_TRACKING_FINALIZER],
    },
    spec,
  };
}

const isFinishedPhase = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
export const hasTrackingFinalizer = (pod: Pod) => pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;

/** Running or about to: not finished and not being deleted. */
const isActive = (pod: Pod) => !isFinishedPhase(pod) && !pod.metadata.deletionTimestamp;
const isTerminating = (pod: Pod) => !isFinishedPhase(pod) && !!pod.metadata.deletionTimestamp;

/**
 * Kubernetes' isPodFailed: a Failed pod; and, unless the Job replaces only Failed pods, one being deleted
 * before it succeeded (it will never finish on its own). With `podReplacementPolicy: Failed`, a deleted pod
 * counts once its node has stopped it (deleted without grace).
 */
function isPodFailed(pod: Pod, job: Job): boolean {
  if (pod.status?.phase === 'Failed') return true;
  if (pod.status?.phase === 'Succeeded' || !pod.metadata.deletionTimestamp) return false;
  return job.spec?.podReplacementPolicy !== 'Failed' || pod.metadata.deletionGracePeriodSeconds === 0;
}

/** When the pod finished: its containers' last finishedAt, else `now`. */
function finishTime(pod: Pod, now: number): number {
  const times = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .map((s) => (s.state?.terminated?.finishedAt ? Date.parse(s.state.terminated.finishedAt) : NaN))
    .filter((t) => !Number.isNaN(t));
  return times.length ? Math.max(...times) : now;
}

// ---- Pod failure policy -------------------------------------------------------------------------------

export interface PolicyMatch {
  action: PodFailurePolicyRule['action'];
  /** The FailJob message Kubernetes writes into the FailureTarget condition. */
  message: string;
}

/** The first rule of spec.podFailurePolicy that matches the failed pod (Kubernetes' matchPodFailurePolicy). */
export function matchPodFailurePolicy(job: Job, pod: Pod): PolicyMatch | undefined {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  const podName = `${pod.metadata.namespace}/${pod.metadata.name}`;
  for (const [i, rule] of rules.entries()) {
    if (rule.onExitCodes) {
      const requirement = rule.onExitCodes;
      const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
      const matching = statuses.find((s) => {
        const code = s.state?.terminated?.exitCode;
        if (code === undefined || code === 0) return false;
        if (requirement.containerName && requirement.containerName !== s.name) return false;
        return requirement.operator === 'In' ? requirement.values.includes(code) : !requirement.values.includes(code);
      });
      if (matching) {
        return {
          action: rule.action,
          message: `Container ${matching.name} for pod ${podName} failed with exit code ${matching.state!.terminated!.exitCode} matching ${rule.action} rule at index ${i}`,
        };
      }
    } else if (rule.onPodConditions) {
      const condition = rule.onPodConditions.find((pattern) =>
        (pod.status?.conditions ?? []).some((c) => c.type === pattern.type && c.status === (pattern.status ?? 'True')),
      );
      if (condition) return { action: rule.action, message: `Pod ${podName} has condition ${condition.type} matching ${rule.action} rule at index ${i}` };
    }
  }
  return undefined;
}

// ---- The plan -----------------------------------------------------------------------------------------

export type JobEvent = [type: 'Normal' | 'Warning', reason: string, message: string];

export interface JobPlan {
  /** Written before any finalizer is removed when finished pods were newly recorded (else undefined). */
  recordUncounted?: JobStatus;
  /** Pods whose tracking finalizer goes now. */
  removeFinalizers: Pod[];
  /** Pods to delete (active pods beyond what is wanted, or all of them when the Job ends or is suspended). */
  delete: Pod[];
  /** Pods to create: one entry each, the completion index for an Indexed Job. */
  create: Array<number | undefined>;
  /** The status once the finalizers are gone and the pods created and deleted (active is adjusted by the controller). */
  status: JobStatus;
  events: JobEvent[];
  backoff: BackoffRecord;
  /** Reconcile again after this long (back-off, active deadline) even if nothing changes. */
  requeueAfterMs?: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function setCondition(conditions: JobCondition[], type: string, status: 'True' | 'False', reason: string, message: string, now: number): JobCondition[] {
  const existing = conditions.find((c) => c.type === type);
  if (existing && existing.status === status && existing.reason === reason && existing.message === message) return conditions;
  const at = iso(now);
  const next: JobCondition = {
    type,
    status,
    lastProbeTime: at,
    lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime ?? at : at,
    reason,
    message,
  };
  return existing ? conditions.map((c) => (c === existing ? next : c)) : [...conditions, next];
}

const FAILURE_EVENTS: Record<string, string> = {
  BackoffLimitExceeded: 'Job has reached the specified backoff limit',
  DeadlineExceeded: 'Job was active longer than specified deadline',
};

/**
 * Plans the next step for `job`, given the pods it controls (finished ones included) and the time.
 * `backoff` is the controller's memory of failures since the last success.
 */
export function planJob(job: Job, pods: Pod[], now: number, backoff: BackoffRecord, wantCreate = true): JobPlan {
  const spec = job.spec!;
  const old = job.status ?? {};
  const status: JobStatus = clone(old);
  const events: JobEvent[] = [];
  let conditions = [...(status.conditions ?? [])];
  const indexed = isIndexed(job);
  const completions = spec.completions ?? undefined;
  const suspended = spec.suspend === true;
  const uncounted = {
    succeeded: [...(old.uncountedTerminatedPods?.succeeded ?? [])],
    failed: [...(old.uncountedTerminatedPods?.failed ?? [])],
  };
  const inUncounted = new Set([...uncounted.succeeded, ...uncounted.failed]);
  const completed = indexed ? parseIndexes(old.completedIndexes, completions ?? 0) : new Set<number>();
  let failureTarget = trueJobCondition(job, 'FailureTarget');
  let successMet = trueJobCondition(job, 'SuccessCriteriaMet');
  let policyFailure: PolicyMatch | undefined;
  let record = { ...backoff };

  // 1. Finished pods not yet recorded: record them (or, for Ignore rules and pods cut short by the Job's
  //    own ending or suspension, just let them go).
  const finishing = pods
    .filter((pod) => hasTrackingFinalizer(pod) && !inUncounted.has(pod.metadata.uid!))
    .filter((pod) => pod.status?.phase === 'Succeeded' || isPodFailed(pod, job))
    .sort((a, b) => finishTime(a, now) - finishTime(b, now));
  const removeFinalizers: Pod[] = [];
  let recorded = false;
  for (const pod of finishing) {
    removeFinalizers.push(pod);
    const cutShort = !isFinishedPhase(pod) && (suspended || !!failureTarget || !!successMet);
    if (cutShort) continue;
    if (pod.status?.phase === 'Succeeded') {
      if (indexed) {
        const index = completionIndexOf(pod, completions ?? 0);
        if (index === undefined || completed.has(index)) continue;
        completed.add(index);
      }
      uncounted.succeeded.push(pod.metadata.uid!);
      record = { failuresAfterLastSuccess: 0 };
      recorded = true;
      continue;
    }
    const match = matchPodFailurePolicy(job, pod);
    if (match?.action === 'Ignore') continue;
    if (match?.action === 'FailJob' && !policyFailure) policyFailure = match;
    uncounted.failed.push(pod.metadata.uid!);
    record = { failuresAfterLastSuccess: record.failuresAfterLastSuccess + 1, lastFailureTime: finishTime(pod, now) };
    recorded = true;
  }
  // Pods recorded before (the controller stopped between the steps) still holding their finalizer.
  for (const pod of pods) if (hasTrackingFinalizer(pod) && inUncounted.has(pod.metadata.uid!)) removeFinalizers.push(pod);

  const withUncounted = (): JobStatus => ({
    ...status,
    ...(indexed ? { completedIndexes: formatIndexes(completed) } : {}),
    uncountedTerminatedPods: {
      ...(uncounted.succeeded.length ? { succeeded: uncounted.succeeded } : {}),
      ...(uncounted.failed.length ? { failed: uncounted.failed } : {}),
    },
  });
  const recordUncounted = recorded ? withUncounted() : undefined;

  // 2. Once the finalizers are gone, the recorded pods move into the counts.
  const succeeded = indexed ? completed.size : (old.succeeded ?? 0) + uncounted.succeeded.length;
  const failed = (old.failed ?? 0) + uncounted.failed.length;
  status.succeeded = succeeded;
  status.failed = failed;
  if (indexed) status.completedIndexes = formatIndexes(completed);
  status.uncountedTerminatedPods = {};

  const active = pods.filter(isActive);
  const terminating = pods.filter(isTerminating);
  status.terminating = terminating.length;
  status.ready = active.filter(isPodReady).length;

  // 3. Suspension and resumption.
  const wasSuspended = trueJobCondition(job, 'Suspended');
  if (suspended && !failureTarget && !successMet) {
    // The active deadline counts from the start after the last resumption.
    delete status.startTime;
    if (!wasSuspended) {
      conditions = setCondition(conditions, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
      events.push(['Normal', 'Suspended', 'Job suspended']);
    }
  } else if (wasSuspended) {
    conditions = setCondition(conditions, 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
    events.push(['Normal', 'Resumed', 'Job resumed']);
    status.startTime = iso(now);
  }
  if (!suspended && !status.startTime) status.startTime = iso(now);

  // 4. The outcome, once decided, is kept.
  let requeueAfterMs: number | undefined;
  const deadline = spec.activeDeadlineSeconds;
  const started = status.startTime ? Date.parse(status.startTime) : NaN;
  if (!failureTarget && !successMet) {
    let reason: string | undefined;
    let message = '';
    if (policyFailure) [reason, message] = ['PodFailurePolicy', policyFailure.message];
    else if (failed > (spec.backoffLimit ?? 6)) reason = 'BackoffLimitExceeded';
    else if (deadline !== undefined && !suspended && !Number.isNaN(started)) {
      const left = started + deadline * 1000 - now;
      if (left <= 0) reason = 'DeadlineExceeded';
      else requeueAfterMs = left;
    }
    if (reason) {
      message ||= FAILURE_EVENTS[reason];
      conditions = setCondition(conditions, 'FailureTarget', 'True', reason, message, now);
      failureTarget = conditions.find((c) => c.type === 'FailureTarget');
      events.push(['Warning', reason, message]);
    } else {
      const done = indexed || completions !== undefined ? succeeded >= (completions ?? 0) : succeeded > 0 && active.length === 0;
      if (done) {
        conditions = setCondition(conditions, 'SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
        successMet = conditions.find((c) => c.type === 'SuccessCriteriaMet');
      }
    }
  }

  // 5. Pods to delete and create.
  let toDelete: Pod[] = [];
  const create: Array<number | undefined> = [];
  if (failureTarget || successMet || suspended) {
    toDelete = active;
  } else {
    const remaining = remainingBackoffMs(record, now);
    const parallelism = spec.parallelism ?? 1;
    // Pods still terminating hold their place when only Failed pods are replaced.
    const busy = active.length + (spec.podReplacementPolicy === 'Failed' ? terminating.length : 0);
    if (indexed) {
      const seen = new Set<number>();
      const extra: Pod[] = [];
      for (const pod of active) {
        const index = completionIndexOf(pod, completions ?? 0);
        if (index === undefined || completed.has(index) || seen.has(index)) extra.push(pod);
        else seen.add(index);
      }
      toDelete = extra;
      const pending: number[] = [];
      for (let i = 0; i < (completions ?? 0) && pending.length < parallelism; i++) if (!completed.has(i) && !seen.has(i)) pending.push(i);
      const room = Math.max(0, parallelism - (busy - extra.length));
      if (wantCreate && room > 0 && pending.length > 0) {
        if (remaining > 0) requeueAfterMs = Math.min(requeueAfterMs ?? remaining, remaining);
        else create.push(...pending.slice(0, room));
      }
    } else {
      const want =
        completions === undefined ? (succeeded > 0 ? Math.min(active.length, parallelism) : parallelism) : Math.min(parallelism, Math.max(0, completions - succeeded));
      if (busy > want) toDelete = [...active].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b))).slice(0, Math.min(active.length, busy - want));
      else if (wantCreate && busy < want) {
        if (remaining > 0) requeueAfterMs = Math.min(requeueAfterMs ?? remaining, remaining);
        else for (let i = busy; i < want; i++) create.push(undefined);
      }
    }
  }

  // 6. The terminal condition once no pod is left running or terminating.
  const settled = active.length === 0 && terminating.length === 0;
  if (failureTarget && settled && !trueJobCondition(job, 'Failed')) {
    conditions = setCondition(conditions, 'Failed', 'True', failureTarget.reason ?? '', failureTarget.message ?? '', now);
  } else if (successMet && settled && !trueJobCondition(job, 'Complete')) {
    conditions = setCondition(conditions, 'Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
    status.completionTime = iso(now);
    events.push(['Normal', 'Completed', 'Job completed']);
  }
  status.active = active.length;
  if (conditions.length) status.conditions = conditions;
  return { recordUncounted, removeFinalizers, delete: toDelete, create, status, events, backoff: record, requeueAfterMs };
}
