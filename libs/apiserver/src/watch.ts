import { apiVersionOf, KubeObject, ResourceType } from '@berth/api';
import { errors, isBerthError } from '@berth/errors';
import type { Store, WatchCallbacks, WatchEvent, Watcher } from '@berth/store';
import { ObjectFilter } from './filter';
import { statusFor } from './http-errors';
import { listPrefix } from './keys';
import { decodeObject } from './objects';
import { CacheWatcher, decodeShared, deletedObject, indexedField, WatchCache, WatchCacheOptions } from './watch-cache';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchRequest {
  type: ResourceType;
  namespace: string | undefined;
  filter: ObjectFilter;
  /** `resourceVersion` query value: absent or "0" starts with the current objects as ADDED events. */
  resourceVersion: string | null;
  allowBookmarks: boolean;
  /** How often to send bookmarks (a berth client's BOOKMARK_INTERVAL_HEADER); Kubernetes' interval when absent. */
  bookmarkIntervalMs?: number;
  timeoutSeconds: number | undefined;
}

export interface WatchSink {
  event(type: WatchEventType, object: KubeObject): void;
  /** The stream is over (timeout, store closed, server stopping). */
  end(): void;
}

const BOOKMARK_INTERVAL_MS = 30_000;
/** The most often a client may ask for bookmarks (BOOKMARK_INTERVAL_HEADER), in seconds, and the least often that still means something. */
export const BOOKMARK_INTERVAL_RANGE_S = { min: 1, max: BOOKMARK_INTERVAL_MS / 1000 };

/** Kubernetes ends watches without timeoutSeconds after a random 30-60 minutes, so clients spread out their relists. */
const DEFAULT_TIMEOUT_MIN_S = 1800;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One open watch: store events translated to Kubernetes watch events for one type, namespace and selector.
 * The events come from the watch cache, or straight from the store when they are older than its window.
 */
export class ObjectWatch {
  private watcher?: Watcher;
  /** Set when served by the cache, which knows how far this watch is up to date beyond its own events. */
  private cached?: CacheWatcher;
  private readonly timers: NodeJS.Timeout[] = [];
  private sink?: WatchSink;
  private pending: WatchEvent[] = [];
  private lastRevision = 0;
  private ended = false;
  /** Why the store ended this watch when the client must relist (Compacted): sent as an ERROR event, as Kubernetes does. */
  private expired?: Error;
  onEnd?: () => void;

  private constructor(private readonly req: WatchRequest) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Reads the initial state and subscribes. Throws (before anything is streamed) for a bad or compacted
   * resourceVersion, so the caller can still answer with a Status.
   */
  static async open(store: Store, cache: WatchCache, req: WatchRequest): Promise<{ watch: ObjectWatch; initial: KubeObject[] }> {
    const watch = new ObjectWatch(req);
    const prefix = listPrefix(req.type, req.namespace);
    let initial: KubeObject[] = [];
    let from: number;
    if (req.resourceVersion === null || req.resourceVersion === '' || req.resourceVersion === '0') {
      // The cache's store watch starts before the list, so its window reaches the list's revision.
      await cache.ready(req.type);
      const list = await store.list(prefix);
      initial = list.items.map((kv) => decodeObject(kv)).filter((obj) => req.filter.matches(obj));
      from = list.revision;
    } else {
      if (!/^\d+$/.test(req.resourceVersion)) throw errors.badRequest(`invalid resource version: ${req.resourceVersion}`);
      from = Number(req.resourceVersion);
    }
    watch.lastRevision = from;
    const callbacks: WatchCallbacks = { onEvent: (event) => watch.receive(event), onError: (err) => watch.fail(err) };
    const field = indexedField(req.type);
    const scope = { namespace: (req.type.namespaced && req.namespace) || undefined, indexValue: field && req.filter.requiredValue(field) };
    watch.cached = await cache.watch(req.type, scope, from, callbacks);
    // Older than the cache's window: the store replays it, or refuses (Compacted, a 410 Expired for the
    // client) a start older than its history.
    watch.watcher = watch.cached ?? (await store.watch(prefix, from, callbacks));
    return { watch, initial };
  }

  /** Starts delivery to the sink: the initial objects as ADDED, then every change. */
  start(sink: WatchSink, initial: KubeObject[]): void {
    if (this.ended) {
      if (this.expired) sink.event('ERROR', statusFor(this.expired) as unknown as KubeObject);
      return sink.end();
    }
    this.sink = sink;
    for (const obj of initial) sink.event('ADDED', obj);
    const backlog = this.pending;
    this.pending = [];
    for (const event of backlog) this.translate(event);
    if (this.req.allowBookmarks) {
      this.bookmark();
      this.timers.push(setInterval(() => this.bookmark(), this.req.bookmarkIntervalMs ?? BOOKMARK_INTERVAL_MS));
    }
    const timeoutSeconds = this.req.timeoutSeconds ?? DEFAULT_TIMEOUT_MIN_S * (1 + Math.random());
    // A timer longer than 2^31-1 ms would fire at once: a watch asked to last longer lasts that (24.8 days).
    this.timers.push(setTimeout(() => this.end(), Math.min(timeoutSeconds * 1000, MAX_TIMER_MS)));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    this.watcher?.close();
    this.sink?.end();
    this.onEnd?.();
  }

  /**
   * The store can't continue this watch. When history the client still needed was compacted away, the
   * client gets the ERROR event with a 410 Expired Status (client-go then relists); otherwise the stream just ends.
   */
  private fail(err: Error): void {
    if (this.ended) return;
    if (isBerthError(err, 'Compacted')) {
      this.expired = err;
      this.sink?.event('ERROR', statusFor(err) as unknown as KubeObject);
    }
    this.end();
  }

  private receive(event: WatchEvent): void {
    if (this.ended) return;
    if (!this.sink) this.pending.push(event);
    else this.translate(event);
  }

  private translate(event: WatchEvent): void {
    this.lastRevision = Math.max(this.lastRevision, event.revision);
    try {
      const out = this.eventFor(event);
      if (out) this.sink!.event(out[0], out[1]);
    } catch {
      // A value that cannot be decoded ends this stream; the client relists and watches again.
      this.end();
    }
  }

  private eventFor(event: WatchEvent): [WatchEventType, KubeObject] | undefined {
    const { filter } = this.req;
    if (event.type === 'delete') {
      const obj = deletedObject(event);
      return obj && filter.matches(obj) ? ['DELETED', obj] : undefined;
    }
    const obj = decodeShared(event.kv);
    const now = filter.matches(obj);
    let before: boolean;
    if (event.prevKv) before = filter.matches(decodeShared(event.prevKv));
    else if (event.kv.createRevision === event.kv.modRevision) before = false;
    // An update whose previous value the store no longer has: a spurious DELETED beats a missed one.
    else before = true;
    // An object that moves in or out of the selector appears or disappears for this watcher.
    if (now && before) return ['MODIFIED', obj];
    if (now) return ['ADDED', obj];
    if (before) return ['DELETED', obj];
    return undefined;
  }

  private bookmark(): void {
    if (this.ended || !this.sink) return;
    this.sink.event('BOOKMARK', {
      kind: this.req.type.kind,
      apiVersion: apiVersionOf(this.req.type),
      metadata: { resourceVersion: String(Math.max(this.lastRevision, this.cached?.revision ?? 0)) },
    });
  }
}

/**
 * Opens watches through one watch cache, and keeps every open watch so shutdown can end them and
 * /metrics can count them.
 */
export class WatchRegistry {
  private readonly open = new Set<ObjectWatch>();
  private readonly cache: WatchCache;

  constructor(
    private readonly store: Store,
    cacheOptions: WatchCacheOptions = {},
  ) {
    this.cache = new WatchCache(store, cacheOptions);
  }

  /** See ObjectWatch.open; the watch counts as open until it ends. */
  async watch(req: WatchRequest): Promise<{ watch: ObjectWatch; initial: KubeObject[] }> {
    const opened = await ObjectWatch.open(this.store, this.cache, req);
    const { watch } = opened;
    if (!watch.isEnded) {
      this.open.add(watch);
      watch.onEnd = () => this.open.delete(watch);
    }
    return opened;
  }

  get count(): number {
    return this.open.size;
  }

  /** Ends every watch and stops the cache's store watches (a later watch starts them again). */
  closeAll(): void {
    for (const watch of [...this.open]) watch.end();
    this.cache.close();
  }
}
