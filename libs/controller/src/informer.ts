import type { KubeObject } from '@berth/api';
import { errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { Backoff, sleep } from './backoff';
import { IndexedCache, type IndexFunction } from './cache';
import { objectKey } from './keys';
import type { ListWatch, ListWatchEvent } from './list-watch';
import { defaultLogger } from './logger';

/** Callbacks run synchronously as the cache changes: keep them short (enqueue a key) and never mutate the objects. */
export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T> {
  /** Names the informer in logs (e.g. `pods`). */
  name?: string;
  indexers?: Record<string, IndexFunction<T>>;
  /** Every period, handlers get onUpdate(obj, obj) for every cached object, so level-triggered work is redone. */
  resyncPeriodMs?: number;
  logger?: Logger;
  /** Delays between failed lists/watches (doubling); defaults 800 ms up to 30 s, as client-go's reflector. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/** A watch that ran at least this long ended normally and is re-opened at once; shorter ones back off first. */
const MIN_HEALTHY_WATCH_MS = 1000;

/** True for errors that mean "that resourceVersion is too old": the informer must list again. */
export function isResourceExpired(err: unknown): boolean {
  if (isBerthError(err, 'Compacted') || isBerthError(err, 'Gone')) return true;
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; statusCode?: unknown; status?: unknown; reason?: unknown; body?: { code?: unknown; reason?: unknown } };
  return [e.code, e.statusCode, e.status, e.body?.code].includes(410) || [e.reason, e.body?.reason].some((r) => r === 'Expired' || r === 'Gone');
}

/**
 * Lists, then watches from the list's resourceVersion, keeping an indexed cache of the objects and telling
 * handlers what changed. Watches that end are re-opened from the last resourceVersion seen; one that
 * is too old (Gone/Compacted) leads to a relist whose differences reach the handlers as adds, updates and
 * deletes, so they converge on the server's state whatever was missed.
 */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache: IndexedCache<T>;
  private readonly handlers = new Set<EventHandler<T>>();
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly stopSignal = new AbortController();
  private readonly syncWaiters = new Set<{ resolve(): void; reject(err: Error): void }>();
  private readonly watchListeners = new Set<(watching: boolean) => void>();
  private watching = false;
  private lastResourceVersion = '';
  private synced = false;
  private loop?: Promise<void>;
  private currentWatch?: { close(): void };
  private resyncTimer?: NodeJS.Timeout;

  constructor(
    private readonly listWatch: ListWatch<T>,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.cache = new IndexedCache<T>(options.indexers);
    this.logger = (options.logger ?? defaultLogger('informer')).child({ informer: options.name ?? 'objects' });
    this.backoff = new Backoff(options.retryInitialMs ?? 800, options.retryMaxMs ?? 30_000);
  }

  /** Begins listing and watching in the background; calling it again does nothing. */
  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
    if (this.options.resyncPeriodMs) {
      this.resyncTimer = setInterval(() => this.resync(), this.options.resyncPeriodMs);
      this.resyncTimer.unref();
    }
  }

  /** Ends the watch and the retry loop; resolves once no handler will be called again. */
  async stop(): Promise<void> {
    if (this.stopped) return this.loop;
    this.stopSignal.abort();
    clearInterval(this.resyncTimer);
    this.currentWatch?.close();
    for (const waiter of this.syncWaiters) waiter.reject(errors.unavailable(`informer ${this.options.name ?? ''} stopped before it synced`));
    this.syncWaiters.clear();
    await this.loop;
  }

  /** True once the first list is in the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.stopped) return Promise.reject(errors.unavailable('informer stopped'));
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.syncWaiters.delete(waiter);
        reject(errors.timeout(`informer ${this.options.name ?? ''} did not sync within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (err: Error) => (clearTimeout(timer), reject(err)),
      };
      this.syncWaiters.add(waiter);
    });
  }

  /**
   * Registers handlers; when the cache already holds objects, the new handler gets onAdd for each so it
   * starts from the same state as the others. Returns a function that removes it.
   */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.handlers.add(handler);
    for (const obj of this.cache.list()) this.call('onAdd', () => handler.onAdd?.(obj));
    return () => this.handlers.delete(handler);
  }

  /**
   * Tells listener whether a watch is open now (at once), then each time one opens or ends: while none is,
   * changes on the server go unseen (they arrive when the next watch replays them or a relist finds them).
   * Returns a function that removes it.
   */
  addWatchListener(listener: (watching: boolean) => void): () => void {
    this.watchListeners.add(listener);
    this.call('watch listener', () => listener(this.watching));
    return () => this.watchListeners.delete(listener);
  }

  private setWatching(watching: boolean): void {
    if (watching === this.watching) return;
    this.watching = watching;
    for (const listener of this.watchListeners) this.call('watch listener', () => listener(watching));
  }

  addIndexers(indexers: Record<string, IndexFunction<T>>): void {
    this.cache.addIndexers(indexers);
  }

  hasIndexer(name: string): boolean {
    return this.cache.hasIndexer(name);
  }

  /** By `namespace/name` (or `name` for cluster-scoped objects). Cached objects are shared: copy before changing. */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return this.cache.list();
  }

  /** Objects in one namespace, by owner uid, by `label=value` or by a custom index. */
  byIndex(indexName: string, value: string): T[] {
    return this.cache.byIndex(indexName, value);
  }

  /** The resourceVersion of the newest change the cache reflects. */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async run(): Promise<void> {
    let needList = true;
    /** A relist forced by Gone that no event has followed yet: another Gone now must not spin. */
    let relistedForGone = false;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          // After a Gone-forced relist the back-off stands until an event shows the watch works again.
          if (!relistedForGone) this.backoff.reset();
        }
        if (this.stopped) break;
        const healthy = await this.watchUntilEnd(() => (relistedForGone = false));
        if (!healthy) await sleep(this.backoff.next(), this.stopSignal.signal);
      } catch (err) {
        if (this.stopped) break;
        if (isResourceExpired(err)) {
          this.logger.info({ resourceVersion: this.lastResourceVersion }, 'resource version too old; relisting');
          needList = true;
          if (relistedForGone) await sleep(this.backoff.next(), this.stopSignal.signal);
          relistedForGone = true;
        } else {
          const delayMs = this.backoff.next();
          this.logger.warn({ err, delayMs }, needList ? 'list failed; retrying' : 'watch failed; retrying');
          await sleep(delayMs, this.stopSignal.signal);
        }
      }
    }
  }

  /** Resolves when the watch ends normally, with whether it was healthy (delivered events or lasted); throws its error. */
  private async watchUntilEnd(onProgress: () => void): Promise<boolean> {
    const startedAt = Date.now();
    let sawEvent = false;
    let finished = false;
    let settle!: (error?: Error) => void;
    const ended = new Promise<Error | undefined>((resolve) => (settle = resolve));
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      settle(error);
    };
    const handle = await this.listWatch.watch(this.lastResourceVersion, {
      onEvent: (event) => {
        if (finished || this.stopped) return;
        if (!sawEvent) {
          sawEvent = true;
          this.backoff.reset();
          onProgress();
        }
        this.apply(event);
      },
      onError: (err) => finish(err),
      onClose: () => finish(),
    });
    this.currentWatch = { close: () => finish() };
    if (this.stopped) finish();
    if (!finished) this.setWatching(true);
    const error = await ended;
    this.setWatching(false);
    this.currentWatch = undefined;
    handle.close();
    if (error) throw error;
    return sawEvent || Date.now() - startedAt >= MIN_HEALTHY_WATCH_MS;
  }

  private apply(event: ListWatchEvent<T>): void {
    const resourceVersion = event.object?.metadata?.resourceVersion;
    if (event.type !== 'BOOKMARK') {
      if (!event.object?.metadata?.name) {
        this.logger.warn({ type: event.type }, 'watch event without an object name ignored');
      } else if (event.type === 'DELETED') {
        this.remove(objectKey(event.object), event.object);
      } else {
        this.upsert(objectKey(event.object), event.object);
      }
    }
    if (resourceVersion) this.lastResourceVersion = resourceVersion;
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.listWatch.list();
    if (this.stopped) return;
    const listed = new Set(items.map((obj) => objectKey(obj)));
    for (const key of this.cache.keys()) if (!listed.has(key)) this.remove(key);
    for (const obj of items) this.upsert(objectKey(obj), obj);
    this.lastResourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const waiter of this.syncWaiters) waiter.resolve();
      this.syncWaiters.clear();
    }
  }

  private upsert(key: string, obj: T): void {
    const old = this.cache.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.cache.set(key, obj);
    for (const h of this.handlers) {
      if (old) this.call('onUpdate', () => h.onUpdate?.(old, obj));
      else this.call('onAdd', () => h.onAdd?.(obj));
    }
  }

  /** Handlers get the last state the cache knew: for a watched delete that is the object as it was deleted. */
  private remove(key: string, deleted?: T): void {
    const old = this.cache.delete(key);
    if (!old) return;
    const last = deleted ?? old;
    for (const h of this.handlers) this.call('onDelete', () => h.onDelete?.(last));
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.cache.list()) {
      for (const h of this.handlers) this.call('onUpdate', () => h.onUpdate?.(obj, obj));
    }
  }

  /** One handler's failure must not keep the cache or the other handlers from advancing. */
  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, handler: what }, 'event handler threw');
    }
  }
}
