import { isJobFinished, type Job, type JobStatus, JOB_TRACKING_FINALIZER, type LabelRequirement, type Pod, requirementsOfSelector } from '@berth/api';
import { controllerOf, enqueueObject, type EventRecorder, type Informer, keyOf, objectKey, runController, type RunningController, splitKey, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { claimObjects } from './claim';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { Expectations } from './expectations';
import { type BackoffRecord, hasTrackingFinalizer, planJob, podForJob } from './job-sync';
import { slowStartBatch } from './replicaset';
import { canonicalJson } from '@berth/api';
import { clone, JOBS, PODS } from './types';

export interface JobControllerOptions {
  workers?: number;
  /** The clock (ms since the epoch); tests move it. */
  now?: () => number;
  /** The most pods one reconcile creates (Kubernetes' burst of 500). */
  burstPods?: number;
}

/**
 * Runs each Job's pods to completion (Kubernetes' job controller): creates pods from the template up to
 * parallelism (one per completion index for Indexed Jobs), counts finished pods through the
 * `batch.kubernetes.io/job-tracking` finalizer, backs off after failures, and ends the Job as Complete or
 * Failed (backoffLimit, activeDeadlineSeconds, podFailurePolicy). The decisions are job-sync.ts's planJob.
 */
export class JobController {
  readonly queue = new WorkQueue<string>();
  private readonly expectations = new Expectations();
  /** Failures since the last success per Job, as Kubernetes keeps them: in memory. */
  private readonly backoffs = new Map<string, BackoffRecord>();
  /**
   * The Job as this controller last wrote it, and the resourceVersions that write chain replaced: a pod
   * event can start the next reconcile before the Job's own watch event arrives, and a status write from
   * the cached (replaced) Job would only conflict and wait for a retry.
   */
  private readonly written = new Map<string, { job: Job; replaced: Set<string> }>();
  /**
   * Pods (by uid) whose tracking finalizer this controller removed and whose update the pod cache has not
   * brought yet (Kubernetes' finalizer expectations): they were counted, and must not be counted again
   * from a cache that still shows the finalizer.
   */
  private readonly releasing = new Map<string, Set<string>>();
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly ctx: ControllerContext, private readonly options: JobControllerOptions = {}) {
    this.jobs = ctx.informers.informerFor<Job>({ resource: JOBS });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.events = ctx.recorder('job-controller');
    this.logger = ctx.logger.child({ controller: 'job' });
    this.now = options.now ?? Date.now;
    this.jobs.addEventHandler(enqueueObject(this.queue));
    this.pods.addEventHandler({
      onAdd: (pod) => this.podChanged(undefined, pod),
      onUpdate: (oldPod, pod) => this.podChanged(oldPod, pod),
      onDelete: (pod) => this.podDeleted(pod),
    });
  }

  start(): RunningController {
    return runController({
      name: 'job',
      queue: this.queue,
      workers: this.options.workers ?? 2,
      logger: this.logger,
      waitFor: [this.jobs, this.pods],
      reconcile: this.ctx.metrics.instrument('job', this.queue, (key) => this.reconcile(key)),
    });
  }

  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerOf(pod);
    return ref?.kind === 'Job' && ref.apiVersion === 'batch/v1' ? keyOf(pod.metadata.namespace, ref.name) : undefined;
  }

  private podChanged(oldPod: Pod | undefined, pod: Pod): void {
    const owner = this.ownerKey(pod);
    if (!owner) return;
    if (!hasTrackingFinalizer(pod)) this.finalizerGone(owner, pod);
    if (!oldPod) this.expectations.creationObserved(owner);
    if (pod.metadata.deletionTimestamp && !oldPod?.metadata.deletionTimestamp) this.expectations.deletionObserved(owner, objectKey(pod));
    this.queue.add(owner);
  }

  private podDeleted(pod: Pod): void {
    const owner = this.ownerKey(pod);
    if (!owner) return;
    this.finalizerGone(owner, pod);
    this.expectations.deletionObserved(owner, objectKey(pod));
    this.queue.add(owner);
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const cached = this.jobs.get(key);
    if (!cached || cached.metadata.deletionTimestamp || isJobFinished(cached)) {
      if (!cached) {
        this.expectations.forget(key);
        this.backoffs.delete(key);
        this.written.delete(key);
        this.releasing.delete(key);
      }
      // Nothing will count these pods any more: let them go (and the garbage collector delete them).
      await this.releasePods(key, cached?.metadata.uid);
      return;
    }
    const job = clone(this.newest(key, cached));
    if (!job.spec?.template?.spec) return;
    let selector: LabelRequirement[];
    try {
      selector = requirementsOfSelector(job.spec.selector);
    } catch (err) {
      this.logger.warn({ err, key }, 'Job has an invalid selector; ignoring it');
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    const pods = await claimObjects({
      client: this.ctx.client,
      logger: this.logger,
      owner: job,
      ownerType: JOBS,
      dependentType: PODS,
      selector,
      candidates: inNamespace(this.pods, job.metadata.namespace),
    });
    const plan = planJob(job, pods.map((pod) => this.asReleased(key, pod)), this.now(), this.backoffs.get(key) ?? { failuresAfterLastSuccess: 0 }, needsSync);
    this.backoffs.set(key, plan.backoff);

    let current = job;
    if (plan.recordUncounted) {
      const written = await this.writeStatus(key, current, plan.recordUncounted);
      if (!written) return;
      current = written;
    }
    await Promise.all(plan.removeFinalizers.map((pod) => this.release(key, pod)));

    let active = plan.status.active ?? 0;
    let createError: unknown;
    if (plan.delete.length) {
      this.expectations.expectDeletions(key, plan.delete.map(objectKey));
      await Promise.all(
        plan.delete.map(async (pod) => {
          const gone = await ignoreNotFound(this.ctx.client.delete(PODS, pod.metadata.name!, { namespace: pod.metadata.namespace }));
          if (!gone) this.expectations.deletionObserved(key, objectKey(pod));
          this.events.record(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
          active--;
        }),
      );
    }
    if (plan.create.length) {
      const wanted = plan.create.slice(0, this.options.burstPods ?? 500);
      this.expectations.expectCreations(key, wanted.length);
      let next = 0;
      const { created, error } = await slowStartBatch(wanted.length, async () => {
        const pod = await this.ctx.client.create<Pod>(PODS, podForJob(job, wanted[next++]));
        this.events.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      });
      for (let i = created; i < wanted.length; i++) this.expectations.creationObserved(key);
      active += created;
      if (error) {
        this.events.record(job, 'Warning', 'FailedCreate', `Error creating: ${(error as Error).message}`);
        createError = error;
      }
    }
    const status = { ...plan.status, active };
    if (canonicalJson(status) !== canonicalJson(current.status ?? {})) {
      if (!(await this.writeStatus(key, current, status))) return;
    }
    // The plan's events tell of the conditions just written: a reconcile from a stale cache, whose write
    // conflicts, must not tell them twice.
    for (const [type, reason, message] of plan.events) this.events.record(job, type, reason, message);
    if (createError) throw createError;
    if (plan.requeueAfterMs !== undefined) return { requeueAfter: plan.requeueAfterMs + 10 };
  }

  /** The cached Job, or the one this controller wrote over it when the cache has not seen that write yet. */
  private newest(key: string, cached: Job): Job {
    const written = this.written.get(key);
    if (written?.replaced.has(cached.metadata.resourceVersion ?? '')) return written.job;
    this.written.delete(key);
    return cached;
  }

  /** Writes the Job's status (undefined when the Job is gone) and remembers the Job written. */
  private async writeStatus(key: string, job: Job, status: JobStatus): Promise<Job | undefined> {
    const written = await ignoreNotFound(this.ctx.client.updateStatus<Job>(JOBS, { ...job, status }));
    if (!written) return undefined;
    const replaced = this.written.get(key)?.replaced ?? new Set<string>();
    replaced.add(job.metadata.resourceVersion ?? '');
    this.written.set(key, { job: written, replaced });
    return written;
  }

  private finalizerGone(owner: string, pod: Pod): void {
    const uids = this.releasing.get(owner);
    if (!uids?.delete(pod.metadata.uid ?? '')) return;
    if (uids.size === 0) this.releasing.delete(owner);
  }

  /** The pod as it is once the finalizer this controller removed is gone, which the cache may not show yet. */
  private asReleased(key: string, pod: Pod): Pod {
    if (!this.releasing.get(key)?.has(pod.metadata.uid ?? '') || !hasTrackingFinalizer(pod)) return pod;
    const released = clone(pod);
    released.metadata.finalizers = released.metadata.finalizers!.filter((f) => f !== JOB_TRACKING_FINALIZER);
    return released;
  }

  /** Removes a counted pod's tracking finalizer, expecting to see it gone. */
  private async release(key: string, pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    let uids = this.releasing.get(key);
    if (!uids) this.releasing.set(key, (uids = new Set()));
    uids.add(uid);
    try {
      await this.removeFinalizer(pod);
    } catch (err) {
      this.finalizerGone(key, pod);
      throw err;
    }
  }

  /** Removes the tracking finalizer, only if it is still where it was (a JSON patch with a test). */
  private async removeFinalizer(pod: Pod): Promise<void> {
    const index = pod.metadata.finalizers?.indexOf(JOB_TRACKING_FINALIZER) ?? -1;
    if (index < 0) return;
    const path = `/metadata/finalizers/${index}`;
    try {
      await this.ctx.client.patch(PODS, pod.metadata.name!, [{ op: 'test', path, value: JOB_TRACKING_FINALIZER }, { op: 'remove', path }], {
        type: 'json',
        namespace: pod.metadata.namespace,
      });
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return;
      throw err;
    }
  }

  /** The tracking finalizers of pods whose Job is gone, being deleted or finished (or is another Job of that name). */
  private async releasePods(key: string, uid: string | undefined): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pods = inNamespace(this.pods, namespace).filter((pod) => {
      const ref = controllerOf(pod);
      return ref?.kind === 'Job' && ref.name === name && hasTrackingFinalizer(pod) && (ref.uid !== uid || !!pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed');
    });
    await Promise.all(pods.map((pod) => this.removeFinalizer(pod)));
  }
}
