import { type KubeObject, resourceForKind, type ResourceType } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { clientListWatch, ExponentialFailureRateLimiter, type Informer, runController, SharedInformerFactory, WorkQueue } from '@berth/controller';
import { BerthError, errors } from '@berth/errors';
import pino, { type Logger } from 'pino';

/** What the node's network loops need of an API client: list and watch, for their informers. */
export type NodeNetworkClient = Pick<KubeClient, 'list' | 'watch'>;

/** The one key of a loop that always renders everything it owns. */
const EVERYTHING = 'all';

export interface SyncLoopOptions {
  name: string;
  informers: SharedInformerFactory;
  /**
   * The informers whose changes call for a sync; workers start once they have synced. With a view, an
   * update triggers only when the view of the object changed (adds and deletes always do).
   */
  watch: ReadonlyArray<WatchedInformer>;
  logger: Logger;
  /** A burst of events within this window is one sync. */
  debounceMs: number;
  /** Syncs again after this long without events, to repair what was changed behind the loop's back. */
  resyncMs: number;
  /** Makes the node match the informers' state; idempotent; a throw retries with back-off. */
  sync(): Promise<void>;
}

export interface WatchedInformer {
  informer: Informer<KubeObject>;
  /** What about an object matters to the loop (a method, so a view of a narrower kind fits). */
  view?(obj: KubeObject): string;
}

export interface SyncLoop {
  /** Schedules a sync (debounced). */
  trigger(): void;
  /** Resolves after the first successful sync; rejects if the loop stops before one. */
  readonly synced: Promise<void>;
  /** Stops the loop and its informers; what it set up on the node stays. */
  stop(): Promise<void>;
}

/**
 * A controller with a single key: every event schedules one sync of the whole state, so the node never
 * holds a mix of old and new rules for related objects, and a burst of events costs one sync.
 */
export function startSyncLoop(options: SyncLoopOptions): SyncLoop {
  // Failures back off, but never past the resync period: a gateway or the kernel may come back any time.
  const queue = new WorkQueue<string>({ rateLimiter: new ExponentialFailureRateLimiter<string>(50, options.resyncMs) });
  let markSynced!: () => void;
  let failSync!: (err: Error) => void;
  const synced = new Promise<void>((resolve, reject) => {
    markSynced = resolve;
    failSync = reject;
  });
  // Callers that never await it must not see an unhandled rejection when they stop early.
  synced.catch(() => undefined);
  const trigger = () => queue.addAfter(EVERYTHING, options.debounceMs);
  for (const { informer, view } of options.watch) {
    informer.addEventHandler({
      onAdd: trigger,
      onUpdate: (before: KubeObject, after: KubeObject) => {
        if (!view || view(before) !== view(after)) trigger();
      },
      onDelete: trigger,
    });
  }
  const controller = runController({
    name: options.name,
    queue,
    logger: options.logger,
    waitFor: options.watch.map((w) => w.informer),
    reconcile: async () => {
      await options.sync();
      markSynced();
      return { requeueAfter: options.resyncMs };
    },
  });
  options.informers.start();
  queue.add(EVERYTHING);
  return {
    trigger,
    synced,
    async stop() {
      await controller.stop();
      await options.informers.stop();
      failSync(new BerthError('ServiceUnavailable', `${options.name} stopped before its first sync`));
    },
  };
}

export function informerFactory(client: NodeNetworkClient, logger: Logger): SharedInformerFactory {
  return new SharedInformerFactory({ listWatchFor: clientListWatch(client), logger });
}

export function componentLogger(logger: Logger | undefined, component: string): Logger {
  return (logger ?? pino(pino.destination(2))).child({ component });
}

/** A core (v1) resource type, as the informers need it. */
export function coreResource(kind: string): ResourceType {
  const type = resourceForKind('v1', kind);
  if (!type) throw errors.internal(`resource v1 ${kind} is not registered`);
  return type;
}
