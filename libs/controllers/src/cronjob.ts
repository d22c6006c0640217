import {
  type CronJob,
  CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION,
  formatInZone,
  isJobFinished,
  type Job,
  localTimeZone,
  mostRecentCronTime,
  nextCronTime,
  type ObjectReference,
  parseCronSchedule,
  timeZoneErrors,
  trueJobCondition,
} from '@berth/api';
import { controllerOf, enqueueObject, enqueueOwner, type EventRecorder, type Informer, runController, type RunningController, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { controllerReference } from './claim';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { canonicalJson } from '@berth/api';
import { clone, CRON_JOBS, JOBS } from './types';

export interface CronJobControllerOptions {
  /** The clock (ms since the epoch); tests move it. */
  now?: () => number;
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`: one name per scheduled time, so a retry never makes a second Job. */
export function cronJobJobName(cronJob: CronJob, scheduledMs: number): string {
  return `${cronJob.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
}

/** The Job a CronJob creates for a scheduled time (Kubernetes' getJobFromTemplate2). */
export function jobForCronJob(cronJob: CronJob, scheduledMs: number, zone: string): Job {
  const template = cronJob.spec!.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: cronJobJobName(cronJob, scheduledMs),
      namespace: cronJob.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: { ...(template.metadata?.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: formatInZone(scheduledMs, zone) },
      ownerReferences: [controllerReference(cronJob)],
    },
    spec: clone(template.spec!),
  };
}

function jobReference(job: Job): ObjectReference {
  return { kind: 'Job', namespace: job.metadata.namespace, name: job.metadata.name, uid: job.metadata.uid, apiVersion: 'batch/v1', resourceVersion: job.metadata.resourceVersion };
}

/** Whether the CronJob's status lists the Job as active. */
const listedActive = (cronJob: CronJob, job: Job) => (cronJob.status?.active ?? []).some((r) => r.uid === job.metadata.uid);

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const timeOf = (value: string | undefined) => (value ? Date.parse(value) : NaN);

/**
 * Kubernetes' CronJob controller (v2): creates a Job at each scheduled time of spec.schedule in
 * spec.timeZone, honouring concurrencyPolicy, startingDeadlineSeconds and suspend; keeps status.active,
 * lastScheduleTime and lastSuccessfulTime; deletes finished Jobs beyond the history limits; and sleeps
 * until the next scheduled time.
 */
export class CronJobController {
  readonly queue = new WorkQueue<string>();
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly ctx: ControllerContext, options: CronJobControllerOptions = {}) {
    this.cronJobs = ctx.informers.informerFor<CronJob>({ resource: CRON_JOBS });
    this.jobs = ctx.informers.informerFor<Job>({ resource: JOBS });
    this.events = ctx.recorder('cronjob-controller');
    this.logger = ctx.logger.child({ controller: 'cronjob' });
    this.now = options.now ?? Date.now;
    this.cronJobs.addEventHandler(enqueueObject(this.queue));
    this.jobs.addEventHandler(enqueueOwner(this.queue, { kind: 'CronJob', apiVersion: 'batch/v1' }));
  }

  start(): RunningController {
    return runController({
      name: 'cronjob',
      queue: this.queue,
      logger: this.logger,
      waitFor: [this.cronJobs, this.jobs],
      reconcile: this.ctx.metrics.instrument('cronjob', this.queue, (key) => this.reconcile(key)),
    });
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const cached = this.cronJobs.get(key);
    if (!cached) return;
    let cronJob = clone(cached);
    const children = inNamespace(this.jobs, cronJob.metadata.namespace).filter((job) => controllerOf(job)?.uid === cronJob.metadata.uid);
    if (children.some((job) => !isJobFinished(job) && !listedActive(cronJob, job))) {
      // The Job cache may be ahead of the CronJob cache (a Job just created, the status that lists it not
      // yet seen): as Kubernetes does, the server's CronJob decides before a Job is called unexpected.
      const live = await ignoreNotFound(this.ctx.client.get<CronJob>(CRON_JOBS, cronJob.metadata.name!, { namespace: cronJob.metadata.namespace }));
      if (!live || live.metadata.uid !== cronJob.metadata.uid) return;
      cronJob = live;
    }
    const before = canonicalJson(cronJob.status ?? {});
    const status = (cronJob.status ??= {});
    await this.trackChildren(cronJob, children);
    const write = async () => {
      if (canonicalJson(status) !== before) await ignoreNotFound(this.ctx.client.updateStatus<CronJob>(CRON_JOBS, cronJob));
    };
    if (cronJob.metadata.deletionTimestamp) return write();
    await this.removeOldJobs(cronJob, children);
    const spec = cronJob.spec!;
    if (spec.suspend) return write();

    const zone = spec.timeZone ?? localTimeZone();
    if (timeZoneErrors(zone).length) {
      this.events.record(cronJob, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${zone}": unknown time zone ${zone}`);
      return write();
    }
    let schedule;
    try {
      schedule = parseCronSchedule(spec.schedule);
    } catch (err) {
      this.events.record(cronJob, 'Warning', 'InvalidSchedule', `invalid schedule: ${spec.schedule} : ${(err as Error).message}`);
      return write();
    }
    const now = this.now();
    const deadlineMs = spec.startingDeadlineSeconds === undefined || spec.startingDeadlineSeconds === null ? undefined : spec.startingDeadlineSeconds * 1000;
    let earliest = timeOf(status.lastScheduleTime ?? cronJob.metadata.creationTimestamp);
    if (Number.isNaN(earliest)) earliest = now;
    if (deadlineMs !== undefined) earliest = Math.max(earliest, now - deadlineMs);
    const { mostRecent, tooMany } = mostRecentCronTime(schedule, earliest, now, zone);
    if (tooMany) {
      this.events.record(cronJob, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    }
    const next = nextCronTime(schedule, now, zone);
    const requeue = next === undefined ? undefined : { requeueAfter: next - now + 100 };
    if (mostRecent === undefined) {
      await write();
      return requeue;
    }
    if (spec.concurrencyPolicy === 'Forbid' && (status.active ?? []).length > 0) {
      // Kubernetes waits for the running Job and does not record the time as scheduled.
      await write();
      return requeue;
    }
    if (spec.concurrencyPolicy === 'Replace') {
      for (const ref of [...(status.active ?? [])]) {
        await ignoreNotFound(this.ctx.client.delete(JOBS, ref.name!, { namespace: cronJob.metadata.namespace, propagationPolicy: 'Background' }));
        this.events.record(cronJob, 'Normal', 'SuccessfulDelete', `Deleted job ${ref.name}`);
        status.active = (status.active ?? []).filter((r) => r.uid !== ref.uid);
      }
    }
    const wanted = jobForCronJob(cronJob, mostRecent, zone);
    let job: Job | undefined;
    try {
      job = await this.ctx.client.create<Job>(JOBS, wanted);
      this.events.record(cronJob, 'Normal', 'SuccessfulCreate', `Created job ${job.metadata.name}`);
    } catch (err) {
      if (!isBerthError(err, 'AlreadyExists')) {
        this.events.record(cronJob, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
        await write();
        throw err;
      }
      // Created before, and the status write that said so was lost: the Job is ours if it says so.
      const existing = await ignoreNotFound(this.ctx.client.get<Job>(JOBS, wanted.metadata.name!, { namespace: cronJob.metadata.namespace }));
      if (existing && controllerOf(existing)?.uid === cronJob.metadata.uid) job = isJobFinished(existing) ? undefined : existing;
      else {
        this.events.record(cronJob, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
        await write();
        return requeue;
      }
    }
    if (job && !(status.active ?? []).some((r) => r.uid === job!.metadata.uid)) status.active = [...(status.active ?? []), jobReference(job)];
    status.lastScheduleTime = iso(mostRecent);
    await write();
    return requeue;
  }

  /** Brings status.active in line with the Jobs that exist, and notes the latest success. */
  private async trackChildren(cronJob: CronJob, children: Job[]): Promise<void> {
    const status = cronJob.status!;
    const byUid = new Map(children.map((job) => [job.metadata.uid!, job]));
    for (const job of children) {
      const listed = listedActive(cronJob, job);
      if (!listed && !isJobFinished(job)) {
        this.events.record(cronJob, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${job.metadata.name}`);
      } else if (listed && isJobFinished(job)) {
        const condition = trueJobCondition(job, 'Complete') ? 'Complete' : 'Failed';
        status.active = (status.active ?? []).filter((r) => r.uid !== job.metadata.uid);
        this.events.record(cronJob, 'Normal', 'SawCompletedJob', `Saw completed job: ${job.metadata.name}, condition: ${condition}`);
      }
      const completion = timeOf(job.status?.completionTime);
      if (trueJobCondition(job, 'Complete') && !Number.isNaN(completion)) {
        const last = timeOf(status.lastSuccessfulTime);
        if (Number.isNaN(last) || completion > last) status.lastSuccessfulTime = job.status!.completionTime;
      }
    }
    for (const ref of [...(status.active ?? [])]) {
      if (ref.uid && byUid.has(ref.uid)) continue;
      // Not in the cache: gone, or the cache is behind; the server decides.
      const live = await ignoreNotFound(this.ctx.client.get<Job>(JOBS, ref.name ?? '', { namespace: cronJob.metadata.namespace }));
      if (live && live.metadata.uid === ref.uid) continue;
      this.events.record(cronJob, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
      status.active = (status.active ?? []).filter((r) => r.uid !== ref.uid);
    }
    if (status.active?.length === 0) delete status.active;
  }

  /** Deletes the oldest finished Jobs beyond successfulJobsHistoryLimit and failedJobsHistoryLimit. */
  private async removeOldJobs(cronJob: CronJob, children: Job[]): Promise<void> {
    const spec = cronJob.spec!;
    const started = (job: Job) => {
      const t = timeOf(job.status?.startTime ?? job.metadata.creationTimestamp);
      return Number.isNaN(t) ? 0 : t;
    };
    const finished = children.filter((job) => isJobFinished(job) && !job.metadata.deletionTimestamp).sort((a, b) => started(a) - started(b));
    const groups: Array<[Job[], number | undefined]> = [
      [finished.filter((job) => !!trueJobCondition(job, 'Complete')), spec.successfulJobsHistoryLimit],
      [finished.filter((job) => !!trueJobCondition(job, 'Failed')), spec.failedJobsHistoryLimit],
    ];
    for (const [jobs, limit] of groups) {
      if (limit === undefined || limit === null) continue;
      for (const job of jobs.slice(0, Math.max(0, jobs.length - limit))) {
        await ignoreNotFound(
          this.ctx.client.delete(JOBS, job.metadata.name!, { namespace: job.metadata.namespace, propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid } }),
        );
        this.events.record(cronJob, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`);
      }
    }
  }
}
