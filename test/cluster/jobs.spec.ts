/**
 * batch/v1 Jobs and CronJobs on a real single-node cluster, driven by the real kubectl: Jobs that run
 * to completion (in parallel, and Indexed), one that fails past its backoffLimit, a CronJob that fires at
 * a minute boundary, and a Job made by hand from it. The CronJob is made first, so that the wait for its
 * minute passes while the Jobs run, and it fires once an hour, so that it fires once in the suite.
 */
import { type CronJob, type Job, type Pod, resourceForKind } from '@berth/api';
import { kubectlFor, kubectlTable, waitFor, type Kubectl } from '@berth/testing';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'jobs-e2e';
const JOBS = resourceForKind('batch/v1', 'Job')!;
const CRON_JOBS = resourceForKind('batch/v1', 'CronJob')!;

function jobManifest(name: string, spec: string, command: string): string {
  return `
apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  namespace: ${NS}
spec:
${spec}
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", ${JSON.stringify(command)}]
`;
}

function cronJobManifest(schedule: string): string {
  return `
apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
  namespace: ${NS}
spec:
  schedule: "${schedule}"
  timeZone: Etc/UTC
  jobTemplate:
    metadata:
      labels: {app: tick}
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: busybox:1.36
            command: ["sh", "-c", "echo tick"]
`;
}

describe('Jobs and CronJobs on real containers, with kubectl', () => {
  let cluster: NodeCluster;
  let kubectl: Kubectl;

  /** What `kubectl apply` said of the CronJob, and its schedule: made in beforeAll, looked at by the last test. */
  let cronApplied: string;
  let cronSchedule: string;

  beforeAll(async () => {
    cluster = await startNodeCluster();
    kubectl = kubectlFor(cluster.server);
    await createNamespace(cluster.client, NS);
    // The minute after the next one that is at least 10 s away: its time comes after the CronJob's creation
    // whatever the clocks' skew between here and the server.
    cronSchedule = `${(new Date(Date.now() + 10_000).getUTCMinutes() + 1) % 60} * * * *`;
    cronApplied = await ok(['apply', '-f', '-'], cronJobManifest(cronSchedule));
  }, 120_000);

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  }, 60_000);

  function ok(args: string[], input?: string, timeoutMs = 30_000): Promise<string> {
    return kubectl.ok(['-n', NS, ...args], { timeoutMs, input });
  }
  const getJob = (name: string) => cluster.client.get<Job>(JOBS, name, { namespace: NS });
  const podsOf = async (name: string) => (await cluster.client.list<Pod>(types.pods, { namespace: NS, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;

  it('runs a Job of 4 completions 2 at a time to Complete; `kubectl wait`, `get` and `logs job/x` see it', async () => {
    const applied = await ok(['apply', '-f', '-'], jobManifest('count', '  completions: 4\n  parallelism: 2', 'echo done-$HOSTNAME'));
    expect(applied).toBe('job.batch/count created\n');
    expect(await ok(['wait', '--for=condition=complete', 'job/count', '--timeout=120s'], undefined, 130_000)).toBe('job.batch/count condition met\n');
    const job = await getJob('count');
    expect(job.status).toMatchObject({ succeeded: 4, failed: 0, active: 0, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
    expect(job.status?.conditions?.filter((c) => c.status === 'True').map((c) => [c.type, c.reason])).toEqual([
      ['SuccessCriteriaMet', 'CompletionsReached'],
      ['Complete', 'CompletionsReached'],
    ]);
    expect(job.status?.completionTime).toBeDefined();
    const pods = await podsOf('count');
    expect(pods).toHaveLength(4);
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Succeeded');
      // Counted: the tracking finalizer is gone, so the pod can be deleted.
      expect(pod.metadata.finalizers ?? []).toEqual([]);
    }
    const [row] = kubectlTable(await ok(['get', 'job', 'count']));
    expect(row).toMatchObject({ NAME: 'count', STATUS: 'Complete', COMPLETIONS: '4/4' });
    expect(await ok(['logs', 'job/count'])).toMatch(/^done-count-[a-z0-9]{5}\n$/);
    const described = await ok(['describe', 'job', 'count']);
    expect(described).toMatch(/\nCompletions:\s+4\n/);
    expect(described).toMatch(/\nPods Statuses:\s+0 Active \(0 Ready\) \/ 4 Succeeded \/ 0 Failed\n/);
    expect(described).toMatch(/\n  Normal  Completed\s+\S+\s+job-controller\s+Job completed\n/);
  }, 180_000);

  it('fails a Job whose pods exit 3 once backoffLimit is passed, waiting 10 s before the retry', async () => {
    await ok(['apply', '-f', '-'], jobManifest('crash', '  backoffLimit: 1', 'exit 3'));
    expect(await ok(['wait', '--for=condition=failed', 'job/crash', '--timeout=120s'], undefined, 130_000)).toBe('job.batch/crash condition met\n');
    const job = await getJob('crash');
    expect(job.status).toMatchObject({ failed: 2, succeeded: 0, active: 0 });
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    const starts = (await podsOf('crash')).map((p) => Date.parse(p.metadata.creationTimestamp!)).sort();
    expect(starts).toHaveLength(2);
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(10_000);
    const [row] = kubectlTable(await ok(['get', 'job', 'crash']));
    expect(row).toMatchObject({ STATUS: 'Failed', COMPLETIONS: '0/1' });
  }, 180_000);

  it('runs an Indexed Job: each pod sees its JOB_COMPLETION_INDEX and is named <job>-<index>', async () => {
    await ok(['apply', '-f', '-'], jobManifest('indexed', '  completions: 3\n  parallelism: 3\n  completionMode: Indexed', 'echo index=$JOB_COMPLETION_INDEX host=$(hostname)'));
    await ok(['wait', '--for=condition=complete', 'job/indexed', '--timeout=120s'], undefined, 130_000);
    expect((await getJob('indexed')).status).toMatchObject({ succeeded: 3, completedIndexes: '0-2' });
    const lines = [];
    for (const pod of await podsOf('indexed')) lines.push((await ok(['logs', pod.metadata.name!])).trim());
    expect(lines.sort()).toEqual(['index=0 host=indexed-0', 'index=1 host=indexed-1', 'index=2 host=indexed-2']);
  }, 180_000);

  it('deletes a Job with its pods', async () => {
    await ok(['delete', 'job', 'count', '--timeout=60s'], undefined, 70_000);
    await waitFor(async () => (await podsOf('count')).length === 0, 60_000, 'the pods of job count to be deleted');
  }, 90_000);

  it('deletes a finished Job and its pods ttlSecondsAfterFinished after it completed', async () => {
    await ok(['apply', '-f', '-'], jobManifest('short', '  ttlSecondsAfterFinished: 5', 'true'));
    await ok(['wait', '--for=condition=complete', 'job/short', '--timeout=120s'], undefined, 130_000);
    const completed = await getJob('short');
    await ok(['wait', '--for=delete', 'job/short', '--timeout=60s'], undefined, 70_000);
    const finishedAt = Date.parse(completed.status!.conditions!.find((c) => c.type === 'Complete')!.lastTransitionTime!);
    expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(5_000);
    await waitFor(async () => (await podsOf('short')).length === 0, 60_000, 'the pods of job short to be deleted');
  }, 200_000);

  it('fires a CronJob at its minute, and makes a Job from it with `kubectl create job --from`', async () => {
    expect(cronApplied).toBe('cronjob.batch/tick created\n');
    const scheduled = await waitFor(
      async () => {
        const jobs = (await cluster.client.list<Job>(JOBS, { namespace: NS, labelSelector: 'app=tick' })).items;
        return jobs.find((j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
      },
      100_000,
      'the CronJob to fire and its Job to complete',
    );
    const minutes = Math.floor(Date.parse(scheduled.metadata.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp']) / 60_000);
    expect(scheduled.metadata.name).toBe(`tick-${minutes}`);
    expect(`${minutes % 60} * * * *`).toBe(cronSchedule);
    expect(scheduled.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CronJob', name: 'tick', controller: true })]);
    const cronJob = await waitFor(
      async () => {
        const c = await cluster.client.get<CronJob>(CRON_JOBS, 'tick', { namespace: NS });
        return c.status?.lastSuccessfulTime ? c : undefined;
      },
      30_000,
      'lastSuccessfulTime',
    );
    expect(Date.parse(cronJob.status!.lastScheduleTime!)).toBe(minutes * 60_000);
    const [row] = kubectlTable(await ok(['get', 'cronjob', 'tick']));
    expect(row).toMatchObject({ NAME: 'tick', SCHEDULE: cronSchedule, TIMEZONE: 'Etc/UTC', SUSPEND: 'False' });
    const described = await ok(['describe', 'cronjob', 'tick']);
    expect(described).toMatch(new RegExp(`\\nSchedule:\\s+${cronSchedule.replace(/\*/g, '\\*')}\\n`));
    expect(described).toMatch(new RegExp(`\\n  Normal\\s+SuccessfulCreate\\s+\\S+\\s+cronjob-controller\\s+Created job ${scheduled.metadata.name}\\n`));
    // The Job the controller created is its own, however soon the Job cache saw it.
    expect(described).not.toContain('UnexpectedJob');

    // Suspended, it fires no more; the manual Job is kubectl's own object (protobuf), with the instantiate annotation.
    await ok(['patch', 'cronjob', 'tick', '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    expect(await ok(['create', 'job', 'by-hand', '--from=cronjob/tick'])).toBe('job.batch/by-hand created\n');
    await ok(['wait', '--for=condition=complete', 'job/by-hand', '--timeout=120s'], undefined, 130_000);
    const manual = await getJob('by-hand');
    expect(manual.metadata.annotations?.['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(manual.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CronJob', name: 'tick', uid: cronJob.metadata.uid })]);
    expect(await ok(['logs', 'job/by-hand'])).toBe('tick\n');
  }, 240_000);
});
