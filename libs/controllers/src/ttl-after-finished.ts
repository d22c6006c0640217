import { isJobFinished, type Job, trueJobCondition } from '@berth/api';
import { enqueueObject, type Informer, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound } from './context';
import { JOBS } from './types';

export interface TtlAfterFinishedOptions {
  /** The clock (ms since the epoch); tests move it. */
  now?: () => number;
}

/** When a finished Job with ttlSecondsAfterFinished is due for deletion (ms since the epoch); undefined when never. */
export function jobExpiry(job: Job): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || !isJobFinished(job)) return undefined;
  const finished = trueJobCondition(job, 'Complete') ?? trueJobCondition(job, 'Failed');
  const at = Date.parse(finished?.lastTransitionTime ?? '');
  return Number.isNaN(at) ? undefined : at + ttl * 1000;
}

/**
 * Kubernetes' TTL-after-finished controller: deletes a finished Job (and, in the foreground, its pods)
 * ttlSecondsAfterFinished after it completed or failed.
 */
export class TtlAfterFinishedController {
  readonly queue = new WorkQueue<string>();
  private readonly jobs: Informer<Job>;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly ctx: ControllerContext, options: TtlAfterFinishedOptions = {}) {
    this.jobs = ctx.informers.informerFor<Job>({ resource: JOBS });
    this.logger = ctx.logger.child({ controller: 'ttl-after-finished' });
    this.now = options.now ?? Date.now;
    this.jobs.addEventHandler(enqueueObject(this.queue));
  }

  start(): RunningController {
    return runController({
      name: 'ttl-after-finished',
      queue: this.queue,
      logger: this.logger,
      waitFor: [this.jobs],
      reconcile: this.ctx.metrics.instrument('ttl-after-finished', this.queue, (key) => this.reconcile(key)),
    });
  }

  async reconcile(key: string): Promise<void | { requeueAfter: number }> {
    const job = this.jobs.get(key);
    if (!job || job.metadata.deletionTimestamp) return;
    const expiry = jobExpiry(job);
    if (expiry === undefined) return;
    const left = expiry - this.now();
    if (left > 0) return { requeueAfter: left + 10 };
    // The cache may be behind a change of the TTL: decide on the live Job, as Kubernetes does.
    const live = await ignoreNotFound(this.ctx.client.get<Job>(JOBS, job.metadata.name!, { namespace: job.metadata.namespace }));
    if (!live || live.metadata.uid !== job.metadata.uid || live.metadata.deletionTimestamp) return;
    const liveExpiry = jobExpiry(live);
    if (liveExpiry === undefined) return;
    if (liveExpiry > this.now()) return { requeueAfter: liveExpiry - this.now() + 10 };
    this.logger.info({ job: objectKey(live) }, 'deleting finished Job after its TTL');
    await ignoreNotFound(
      this.ctx.client.delete(JOBS, live.metadata.name!, {
        namespace: live.metadata.namespace,
        propagationPolicy: 'Foreground',
        preconditions: { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion },
      }),
    );
  }
}
