import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { defaultLogger } from './logger';
import type { WorkQueue } from './workqueue';

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (e.g. to notice a timeout), even if nothing changes. */
  requeueAfter?: number;
}

export interface ControllerSpec<K> {
  name: string;
  queue: WorkQueue<K>;
  /** How many keys are reconciled at once (never the same key twice at once); default 1. */
  workers?: number;
  /** Makes the world match the desired state for key. Idempotent; a throw retries the key with back-off. */
  reconcile(key: K): Promise<void | ReconcileResult>;
  logger?: Logger;
  /** Workers start once all of these have synced, so reconcile never reads a half-filled cache. */
  waitFor?: ReadonlyArray<{ waitForSync(): Promise<void> }>;
}

export interface RunningController {
  readonly name: string;
  /** Shuts the queue down, lets the workers finish the keys already queued, and resolves when they have. */
  stop(): Promise<void>;
}

export function runController<K>(spec: ControllerSpec<K>): RunningController {
  const { name, queue } = spec;
  const logger = (spec.logger ?? defaultLogger('controller')).child({ controller: name });
  const stopped = new AbortController();

  async function processOne(key: K): Promise<void> {
    try {
      const result = await spec.reconcile(key);
      queue.forget(key);
      if (result && result.requeueAfter !== undefined) queue.addAfter(key, result.requeueAfter);
    } catch (err) {
      queue.addRateLimited(key);
      // A conflict only means the cache was behind the server: routine, and the retry fixes it.
      const level = isBerthError(err, 'Conflict') ? 'info' : 'error';
      logger[level]({ err, key, requeues: queue.numRequeues(key) }, 'reconcile failed; will retry');
    } finally {
      queue.done(key);
    }
  }

  async function work(): Promise<void> {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) await processOne(key);
  }

  async function run(): Promise<void> {
    const synced = Promise.all((spec.waitFor ?? []).map((source) => source.waitForSync()));
    // A stop before the sync leaves this promise unawaited; its rejection is then expected.
    synced.catch(() => undefined);
    const stopRequested = new Promise<'stopped'>((resolve) => stopped.signal.addEventListener('abort', () => resolve('stopped')));
    try {
      if ((await Promise.race([synced, stopRequested])) === 'stopped') return;
    } catch (err) {
      logger.error({ err }, 'caches did not sync; controller not started');
      return;
    }
    logger.debug({ workers: spec.workers ?? 1 }, 'controller started');
    await Promise.all(Array.from({ length: spec.workers ?? 1 }, work));
  }

  const running = run();
  return {
    name,
    async stop() {
      stopped.abort();
      queue.shutDown();
      await running;
    },
  };
}
