import { applyDefaults, type Job, type Pod, resourceForKind } from '@berth/api';
import { formatIndexes, parseIndexes, planJob, podForJob, remainingBackoffMs, type BackoffRecord } from './job-sync';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;
const FRESH: BackoffRecord = { failuresAfterLastSuccess: 0 };

function job(spec: Record<string, unknown> = {}, status?: Job['status']): Job {
  const j: Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: 'job-uid', creationTimestamp: new Date(T0).toISOString() },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] } }, ...spec },
    ...(status ? { status } : {}),
  } as Job;
  // What the apiserver does to a new Job: the create strategy (the generated selector), then defaulting.
  const type = resourceForKind('batch/v1', 'Job')!;
  type.strategy.prepareForCreate?.(j);
  if (status) j.status = status;
  applyDefaults(type, j);
  return j;
}

let serial = 0;
type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';
function pod(j: Job, phase: Phase, opts: { index?: number; exitCode?: number; finishedAt?: number; deleting?: boolean; tracked?: boolean; conditions?: Array<{ type: string; status: 'True' }> } = {}): Pod {
  const p = podForJob(j, opts.index);
  const name = `${p.metadata.generateName}${serial++}`;
  const terminated = phase === 'Succeeded' || phase === 'Failed';
  return {
    ...p,
    metadata: {
      ...p.metadata,
      name,
      uid: `uid-${name}`,
      ...(opts.tracked === false ? { finalizers: undefined } : {}),
      ...(opts.deleting ? { deletionTimestamp: new Date(T0).toISOString(), deletionGracePeriodSeconds: 30 } : {}),
    },
    status: {
      phase,
      conditions: [...(phase === 'Running' ? [{ type: 'Ready', status: 'True' as const }] : []), ...(opts.conditions ?? [])],
      containerStatuses: [
        {
          name: 'c',
          ready: phase === 'Running',
          restartCount: 0,
          image: 'busybox:1.36',
          imageID: '',
          state: terminated
            ? { terminated: { exitCode: opts.exitCode ?? (phase === 'Failed' ? 1 : 0), finishedAt: new Date(opts.finishedAt ?? T0).toISOString() } }
            : { running: {} },
        },
      ],
    },
  };
}

const conditionTypes = (status: Job['status']) => (status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);

describe('planJob', () => {
  it('starts parallelism pods of a new Job, each tracked, owned and named after it', () => {
    const j = job({ completions: 5, parallelism: 2 });
    const plan = planJob(j, [], s(0), FRESH);
    expect(plan.create).toEqual([undefined, undefined]);
    expect(plan.status).toMatchObject({ startTime: '2026-03-01T10:00:00Z', active: 0, succeeded: 0, failed: 0 });
    const p = podForJob(j);
    expect(p.metadata).toMatchObject({
      generateName: 'pi-',
      finalizers: ['batch.kubernetes.io/job-tracking'],
      ownerReferences: [expect.objectContaining({ kind: 'Job', name: 'pi', uid: 'job-uid', controller: true })],
    });
    expect(p.metadata.labels?.['batch.kubernetes.io/job-name']).toBe('pi');
  });

  it('records a finished pod as uncounted before counting it, and completes once the completions are reached', () => {
    let j = job({ completions: 2, parallelism: 2 }, { startTime: '2026-03-01T10:00:00Z' });
    const done = pod(j, 'Succeeded');
    const running = pod(j, 'Running');
    let plan = planJob(j, [done, running], s(5), FRESH);
    expect(plan.recordUncounted?.uncountedTerminatedPods).toEqual({ succeeded: [done.metadata.uid] });
    expect(plan.removeFinalizers).toEqual([done]);
    expect(plan.status).toMatchObject({ succeeded: 1, active: 1, ready: 1, uncountedTerminatedPods: {} });
    expect(plan.create).toEqual([]);

    // The finalizer went; the second pod succeeds.
    j = { ...j, status: plan.status };
    const second = { ...pod(j, 'Succeeded'), metadata: { ...running.metadata } };
    plan = planJob(j, [{ ...done, metadata: { ...done.metadata, finalizers: undefined } }, second], s(9), FRESH);
    expect(plan.status.succeeded).toBe(2);
    // No pod left running: SuccessCriteriaMet and Complete at once.
    expect(conditionTypes(plan.status)).toEqual(['SuccessCriteriaMet', 'Complete']);
    expect(plan.status.completionTime).toBe('2026-03-01T10:00:09Z');
    expect(plan.events).toContainEqual(['Normal', 'Completed', 'Job completed']);
  });

  it('counts a pod recorded before a restart once its finalizer is gone, even if the pod is gone too', () => {
    const j = job({ completions: 3 }, { startTime: '2026-03-01T10:00:00Z', succeeded: 1, uncountedTerminatedPods: { succeeded: ['uid-gone'] } });
    const plan = planJob(j, [], s(5), FRESH);
    expect(plan.recordUncounted).toBeUndefined();
    expect(plan.status).toMatchObject({ succeeded: 2, uncountedTerminatedPods: {} });
    expect(plan.create).toEqual([undefined]);
  });

  it('backs off 10 s doubling per failure, capped at 6 minutes, and waits before replacing a failed pod', () => {
    expect(remainingBackoffMs({ failuresAfterLastSuccess: 1, lastFailureTime: s(0) }, s(4))).toBe(6_000);
    expect(remainingBackoffMs({ failuresAfterLastSuccess: 3, lastFailureTime: s(0) }, s(0))).toBe(40_000);
    expect(remainingBackoffMs({ failuresAfterLastSuccess: 12, lastFailureTime: s(0) }, s(0))).toBe(360_000);
    expect(remainingBackoffMs({ failuresAfterLastSuccess: 2, lastFailureTime: s(0) }, s(25))).toBe(0);

    const j = job({ backoffLimit: 3 }, { startTime: '2026-03-01T10:00:00Z' });
    const failed = pod(j, 'Failed', { finishedAt: s(2) });
    const plan = planJob(j, [failed], s(3), FRESH);
    expect(plan.backoff).toEqual({ failuresAfterLastSuccess: 1, lastFailureTime: s(2) });
    expect(plan.status.failed).toBe(1);
    expect(plan.create).toEqual([]);
    expect(plan.requeueAfterMs).toBe(9_000);
    const later = planJob({ ...j, status: plan.status }, [{ ...failed, metadata: { ...failed.metadata, finalizers: undefined } }], s(12), plan.backoff);
    expect(later.create).toEqual([undefined]);
  });

  it('fails the Job past backoffLimit: FailureTarget, the active pods deleted, then Failed', () => {
    const j = job({ backoffLimit: 1, parallelism: 2, completions: 4 }, { startTime: '2026-03-01T10:00:00Z', failed: 1 });
    const running = pod(j, 'Running');
    const plan = planJob(j, [pod(j, 'Failed'), running], s(5), FRESH);
    expect(conditionTypes(plan.status)).toEqual(['FailureTarget']);
    expect(plan.status.conditions?.[0]).toMatchObject({ reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    expect(plan.delete).toEqual([running]);
    expect(plan.create).toEqual([]);
    const after = planJob({ ...j, status: plan.status }, [], s(8), plan.backoff);
    expect(conditionTypes(after.status)).toEqual(['FailureTarget', 'Failed']);
    expect(after.status.conditions?.[1]).toMatchObject({ reason: 'BackoffLimitExceeded' });
    expect(after.status.completionTime).toBeUndefined();
  });

  it('fails the Job past activeDeadlineSeconds and wakes up when the deadline comes', () => {
    const j = job({ activeDeadlineSeconds: 30 }, { startTime: '2026-03-01T10:00:00Z' });
    const running = pod(j, 'Running');
    expect(planJob(j, [running], s(10), FRESH).requeueAfterMs).toBe(20_000);
    const plan = planJob(j, [running], s(30), FRESH);
    expect(plan.status.conditions?.[0]).toMatchObject({ type: 'FailureTarget', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    expect(plan.delete).toEqual([running]);
  });

  it('runs an Indexed Job one pod per index, with JOB_COMPLETION_INDEX and the hostname <job>-<index>', () => {
    const j = job({ completionMode: 'Indexed', completions: 5, parallelism: 2 }, { startTime: '2026-03-01T10:00:00Z', completedIndexes: '0' });
    const p = podForJob(j, 3);
    expect(p.metadata.generateName).toBe('pi-3-');
    expect(p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']).toBe('3');
    expect(p.metadata.labels?.['batch.kubernetes.io/job-completion-index']).toBe('3');
    expect(p.spec?.hostname).toBe('pi-3');
    expect(p.spec?.containers[0].env).toEqual([
      { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
    ]);
    const plan = planJob(j, [pod(j, 'Running', { index: 1 }), pod(j, 'Succeeded', { index: 2 })], s(5), FRESH);
    expect(plan.status.completedIndexes).toBe('0,2');
    expect(plan.status.succeeded).toBe(2);
    expect(plan.create).toEqual([3]);
  });

  it('applies the pod failure policy: FailJob on an exit code, Ignore for a disruption', () => {
    const policy = {
      rules: [
        { action: 'FailJob', onExitCodes: { containerName: 'c', operator: 'In', values: [42] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
      ],
    };
    const j = job({ podFailurePolicy: policy, backoffLimit: 6 }, { startTime: '2026-03-01T10:00:00Z' });
    const disrupted = pod(j, 'Failed', { exitCode: 137, conditions: [{ type: 'DisruptionTarget', status: 'True' }] });
    const ignored = planJob(j, [disrupted], s(5), FRESH);
    expect(ignored.recordUncounted).toBeUndefined();
    expect(ignored.removeFinalizers).toEqual([disrupted]);
    expect(ignored.status.failed).toBe(0);
    expect(ignored.create).toEqual([undefined]);

    const fatal = pod(j, 'Failed', { exitCode: 42 });
    const plan = planJob(j, [fatal], s(5), FRESH);
    expect(plan.status.failed).toBe(1);
    expect(plan.status.conditions?.find((c) => c.type === 'FailureTarget')).toMatchObject({
      reason: 'PodFailurePolicy',
      message: `Container c for pod default/${fatal.metadata.name} failed with exit code 42 matching FailJob rule at index 0`,
    });
    expect(conditionTypes(plan.status)).toEqual(['FailureTarget', 'Failed']);
  });

  it('suspends (deleting active pods, not counting them) and resumes with a new start time', () => {
    const j = job({ suspend: true, parallelism: 2, completions: 2 }, { startTime: '2026-03-01T10:00:00Z' });
    const running = pod(j, 'Running');
    const plan = planJob(j, [running], s(5), FRESH);
    expect(plan.delete).toEqual([running]);
    expect(plan.status.conditions?.[0]).toMatchObject({ type: 'Suspended', status: 'True', reason: 'JobSuspended' });
    expect(plan.status.startTime).toBeUndefined();
    const cut = planJob({ ...j, status: plan.status }, [{ ...running, metadata: { ...running.metadata, deletionTimestamp: new Date(s(5)).toISOString() } }], s(6), FRESH);
    expect(cut.status.failed).toBe(0);
    expect(cut.removeFinalizers).toHaveLength(1);

    const resumed = job({ suspend: false, parallelism: 2, completions: 2 }, cut.status);
    const again = planJob(resumed, [], s(60), FRESH);
    expect(again.status.conditions?.[0]).toMatchObject({ type: 'Suspended', status: 'False', reason: 'JobResumed' });
    expect(again.status.startTime).toBe('2026-03-01T10:01:00Z');
    expect(again.create).toHaveLength(2);
  });

  it('writes completed indexes as intervals', () => {
    expect(formatIndexes([7, 1, 3, 4, 5])).toBe('1,3-5,7');
    expect([...parseIndexes('1,3-5,7,x,9-99', 10)]).toEqual([1, 3, 4, 5, 7, 9]);
    expect(formatIndexes([])).toBe('');
  });
});
