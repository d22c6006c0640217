import { definitionOf, fieldValue, KubeObject, ResourceType } from '@berth/api';
import { errors, isBerthError } from '@berth/errors';
import type { KeyValue, Store, WatchCallbacks, WatchEvent, Watcher } from '@berth/store';
import { typePrefix } from './keys';
import { decodeObject } from './objects';

/**
 * The store hands one event object to every watcher; with a watch per node agent, decoding it once per
 * watcher made each pod write cost O(watchers) JSON parses. The decoded objects are shared by every watch
 * that receives them, so watch sinks must treat them as read-only.
 */
const decodedValues = new WeakMap<KeyValue, Map<number, KubeObject>>();

export function decodeShared(kv: KeyValue, resourceVersion = kv.modRevision): KubeObject {
  let byVersion = decodedValues.get(kv);
  if (!byVersion) decodedValues.set(kv, (byVersion = new Map()));
  let obj = byVersion.get(resourceVersion);
  if (!obj) byVersion.set(resourceVersion, (obj = decodeObject(kv, resourceVersion)));
  return obj;
}

/** The object a delete event removed, as watches report it (at the delete's revision). */
export function deletedObject(event: WatchEvent): KubeObject | undefined {
  const previous = event.prevKv ?? event.kv;
  return previous.value ? decodeShared(previous, event.revision) : undefined;
}

/**
 * The field whose equality selector indexes a kind's watchers (its definition's watchIndexField), as
 * Kubernetes' cacher indexes pods by spec.nodeName: each node's agent watches only its own pods, so a pod
 * event goes to one agent, not all.
 */
export function indexedField(type: ResourceType): string | undefined {
  return definitionOf(type).watchIndexField;
}

/** Events kept per resource for watches that start from a recent resourceVersion. */
export const DEFAULT_WINDOW_EVENTS = 4096;
/**
 * What all resources' windows may keep together, counted by the length of the values their events
 * hold. 4096 events of objects near the 3 MiB body limit (with their previous values) would be 24 GiB
 * per resource: the count alone bounds nothing.
 */
export const DEFAULT_WINDOW_BYTES = 64 * 1024 * 1024;

export interface WatchCacheOptions {
  /** How many recent events of each resource are kept for replay. */
  windowEvents?: number;
  /** How many bytes of event values all resources keep together. */
  windowBytes?: number;
}

/** Roughly what keeping an event costs: its key and values. */
function sizeOf(event: WatchEvent): number {
  return event.kv.key.length + event.kv.value.length + (event.prevKv ? event.prevKv.value.length : 0);
}

/** The bytes every resource's window keeps, against one cap: over it, the largest window forgets its oldest events. */
class WindowBudget {
  private used = 0;

  constructor(
    private readonly max: number,
    private readonly caches: () => Iterable<ResourceCache>,
  ) {}

  add(bytes: number): void {
    this.used += bytes;
    while (this.used > this.max) {
      let largest: ResourceCache | undefined;
      for (const cache of this.caches()) if (!largest || cache.bytes > largest.bytes) largest = cache;
      const freed = largest?.forgetOldest() ?? 0;
      if (freed === 0) break;
    }
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}

/** What a watcher of the cache asks for: one namespace (or all) and, for an indexed kind, one value of its field. */
export interface CacheWatchScope {
  namespace: string | undefined;
  indexValue: string | undefined;
}

/** A watch served by the cache. */
export interface CacheWatcher extends Watcher {
  /** Every event of the resource up to this revision has been delivered, or did not concern this watcher. */
  readonly revision: number;
}

/** An event with what routes it: its namespace and the indexed field's values before and after (undefined: unknown, so every value). */
interface RoutedEvent {
  event: WatchEvent;
  namespace: string | undefined;
  indexValues: string[] | undefined;
}

class CacheSubscription implements CacheWatcher {
  private closed = false;

  constructor(
    readonly scope: CacheWatchScope,
    /** The revision of the last event handed over (or the start): nothing at or below it is delivered again. */
    private position: number,
    private readonly callbacks: WatchCallbacks,
    private readonly cache: ResourceCache,
  ) {}

  get revision(): number {
    return Math.max(this.position, this.cache.revision);
  }

  deliver(event: WatchEvent): void {
    if (this.closed || event.revision <= this.position) return;
    this.position = event.revision;
    try {
      this.callbacks.onEvent(event);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.close();
    this.callbacks.onError(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.remove(this);
  }
}

/** The watchers of one namespace (or of all, under the undefined key): those with an index value apart. */
class Bucket {
  readonly unindexed = new Set<CacheSubscription>();
  readonly byValue = new Map<string, Set<CacheSubscription>>();

  add(s: CacheSubscription): void {
    const value = s.scope.indexValue;
    if (value === undefined) return void this.unindexed.add(s);
    let set = this.byValue.get(value);
    if (!set) this.byValue.set(value, (set = new Set()));
    set.add(s);
  }

  remove(s: CacheSubscription): void {
    const value = s.scope.indexValue;
    if (value === undefined) return void this.unindexed.delete(s);
    const set = this.byValue.get(value);
    set?.delete(s);
    if (set?.size === 0) this.byValue.delete(value);
  }

  get empty(): boolean {
    return this.unindexed.size === 0 && this.byValue.size === 0;
  }

  /** The watchers an event can concern, each once. */
  *candidates(routed: RoutedEvent): Iterable<CacheSubscription> {
    yield* this.unindexed;
    if (routed.indexValues === undefined) {
      for (const set of this.byValue.values()) yield* set;
      return;
    }
    const [before, after] = routed.indexValues;
    const first = this.byValue.get(before);
    if (first) yield* first;
    if (after !== undefined && after !== before) {
      const second = this.byValue.get(after);
      if (second) yield* second;
    }
  }
}

/**
 * One resource's cache: a single store watch on its prefix, the last `windowEvents` events, and its
 * watchers indexed by namespace and indexed field value.
 */
class ResourceCache {
  /** Ascending by revision; from `head` on are the kept events. */
  private window: RoutedEvent[] = [];
  private head = 0;
  /** Every event of the resource after this revision is in the window (or still on its way from the store). */
  private windowStart = 0;
  /** The newest revision received from the store. */
  private lastRevision = 0;
  /** What the kept events hold (see sizeOf). */
  bytes = 0;
  private storeWatcher: Watcher | undefined;
  private starting: Promise<void> | undefined;
  /** Whether the window continues a store watch that ended, so a restart resumes after lastRevision. */
  private resumable = false;
  private readonly buckets = new Map<string | undefined, Bucket>();
  private readonly prefix: string;
  private readonly field: string | undefined;

  constructor(
    private readonly store: Store,
    private readonly type: ResourceType,
    private readonly windowEvents: number,
    private readonly budget: WindowBudget,
  ) {
    this.prefix = typePrefix(type);
    this.field = indexedField(type);
  }

  get revision(): number {
    return this.lastRevision;
  }

  /** Starts the store watch if it is not running; resolves once it is. */
  ready(): Promise<void> {
    if (this.storeWatcher) return Promise.resolve();
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /**
   * A watch of the events after `after`, replayed from the window then live; undefined when the window
   * does not reach back that far (the caller watches the store directly).
   */
  async watch(scope: CacheWatchScope, after: number, callbacks: WatchCallbacks): Promise<CacheWatcher | undefined> {
    // The store watch may fail between ready() and here: then it is started again.
    do await this.ready();
    while (!this.storeWatcher);
    if (after < this.windowStart) return undefined;
    const subscription = new CacheSubscription(scope, after, callbacks, this);
    // Replay and registration in one synchronous step: no event can come between them.
    for (let i = this.firstAfter(after); i < this.window.length; i++) {
      const routed = this.window[i];
      if (this.concerns(subscription, routed)) subscription.deliver(routed.event);
    }
    this.bucket(scope.namespace).add(subscription);
    return subscription;
  }

  remove(s: CacheSubscription): void {
    const bucket = this.buckets.get(s.scope.namespace);
    bucket?.remove(s);
    if (bucket?.empty) this.buckets.delete(s.scope.namespace);
  }

  /** Stops the store watch and ends every watcher; a later watch starts it again. */
  close(): void {
    this.stopStoreWatch(errors.unavailable('watch cache closed'));
  }

  private async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let from: number;
      if (this.resumable) from = this.lastRevision;
      else {
        // Reaching back a window's worth of store revisions lets the watches of clients that listed just
        // before the cache started (an apiserver restart, a relist storm) be served from it too.
        const [current, compacted] = await Promise.all([this.store.currentRevision(), this.store.compactedRevision()]);
        from = Math.max(compacted, current - this.windowEvents, 0);
        this.window = [];
        this.head = 0;
        this.budget.release(this.bytes);
        this.bytes = 0;
        this.windowStart = from;
        this.lastRevision = from;
      }
      try {
        let running = false;
        let failedEarly: Error | undefined;
        const watcher = await this.store.watch(this.prefix, from, {
          onEvent: (event) => this.receive(event),
          onError: (err) => {
            if (running) this.stopStoreWatch(err);
            else failedEarly = err;
          },
        });
        if (failedEarly) throw failedEarly;
        running = true;
        this.storeWatcher = watcher;
        this.resumable = true;
        return;
      } catch (err) {
        // History went away under us (a compaction): start over from what the store still has.
        if (!isBerthError(err, 'Compacted') || attempt >= 2) throw err;
        this.resumable = false;
      }
    }
  }

  /** The store watch failed or is closed: watchers end (their clients relist), the window is kept to resume. */
  private stopStoreWatch(err: Error): void {
    const watcher = this.storeWatcher;
    this.storeWatcher = undefined;
    watcher?.close();
    const subscriptions = [...this.buckets.values()].flatMap((b) => [...b.unindexed, ...[...b.byValue.values()].flatMap((set) => [...set])]);
    this.buckets.clear();
    for (const s of subscriptions) s.fail(err);
  }

  private receive(event: WatchEvent): void {
    // A store watch that reconnects may hand over an event again.
    if (event.revision <= this.lastRevision) return;
    this.lastRevision = event.revision;
    const routed = this.route(event);
    this.remember(routed);
    const all = this.buckets.get(undefined);
    if (all) for (const s of all.candidates(routed)) s.deliver(event);
    if (routed.namespace !== undefined) {
      const own = this.buckets.get(routed.namespace);
      if (own) for (const s of own.candidates(routed)) s.deliver(event);
    }
  }

  /** Keeps a copy of the event whose KeyValues are its own: decoded values shared while live are not held by the window. */
  private remember(routed: RoutedEvent): void {
    const { event } = routed;
    const copy: WatchEvent = { ...event, kv: { ...event.kv } };
    if (event.prevKv) copy.prevKv = { ...event.prevKv };
    this.window.push({ ...routed, event: copy });
    if (this.window.length - this.head > this.windowEvents) this.forgetOldest();
    const size = sizeOf(copy);
    this.bytes += size;
    this.budget.add(size);
  }

  /** Drops the oldest kept event (watches from before it go to the store); the bytes freed, 0 when none is kept. */
  forgetOldest(): number {
    if (this.head >= this.window.length) return 0;
    const oldest = this.window[this.head];
    this.windowStart = oldest.event.revision;
    this.head++;
    // Dropping the forgotten part now and then keeps eviction O(1) on average, and lets it be collected.
    if (this.head >= 1024 || this.head * 2 >= this.window.length) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    const size = sizeOf(oldest.event);
    this.bytes -= size;
    this.budget.release(size);
    return size;
  }

  /** Index of the first kept event with a revision above `after`. */
  private firstAfter(after: number): number {
    let low = this.head;
    let high = this.window.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.window[mid].event.revision <= after) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private concerns(s: CacheSubscription, routed: RoutedEvent): boolean {
    const { namespace, indexValue } = s.scope;
    if (namespace !== undefined && routed.namespace !== namespace) return false;
    return indexValue === undefined || routed.indexValues === undefined || routed.indexValues.includes(indexValue);
  }

  private route(event: WatchEvent): RoutedEvent {
    const rest = event.kv.key.slice(this.prefix.length);
    const slash = rest.indexOf('/');
    const namespace = this.type.namespaced && slash > 0 ? rest.slice(0, slash) : undefined;
    return { event, namespace, indexValues: this.field === undefined ? [] : this.indexValues(event, this.field) };
  }

  /** The indexed field's value before and after the event; undefined when one cannot be known. */
  private indexValues(event: WatchEvent, field: string): string[] | undefined {
    try {
      if (event.type === 'delete') {
        const obj = deletedObject(event);
        return obj ? [fieldValue(obj, field)] : [];
      }
      const now = fieldValue(decodeShared(event.kv), field);
      if (event.prevKv) return [fieldValue(decodeShared(event.prevKv), field), now];
      // An update whose previous value the store no longer has could have moved the object from any value.
      return event.kv.createRevision === event.kv.modRevision ? [now] : undefined;
    } catch {
      // A value that cannot be decoded goes to every watcher, whose own decoding ends its stream as before.
      return undefined;
    }
  }

  private bucket(namespace: string | undefined): Bucket {
    let bucket = this.buckets.get(namespace);
    if (!bucket) this.buckets.set(namespace, (bucket = new Bucket()));
    return bucket;
  }
}

/**
 * The apiserver's watch cache (Kubernetes' cacher): per resource one store watch, started on first use,
 * a window of its recent events for watches that start from a recent resourceVersion, and watchers indexed
 * so that an event reaches only those whose namespace and indexed field value it can match.
 */
export class WatchCache {
  private readonly resources = new Map<string, ResourceCache>();
  private readonly windowEvents: number;
  private readonly budget: WindowBudget;

  constructor(
    private readonly store: Store,
    options: WatchCacheOptions = {},
  ) {
    this.windowEvents = options.windowEvents ?? DEFAULT_WINDOW_EVENTS;
    this.budget = new WindowBudget(options.windowBytes ?? DEFAULT_WINDOW_BYTES, () => this.resources.values());
  }

  /** Starts the type's store watch if needed: a list read after this can be continued from the cache. */
  ready(type: ResourceType): Promise<void> {
    return this.resource(type).ready();
  }

  /** See ResourceCache.watch: undefined means the window does not reach back to `after`. */
  watch(type: ResourceType, scope: CacheWatchScope, after: number, callbacks: WatchCallbacks): Promise<CacheWatcher | undefined> {
    return this.resource(type).watch(scope, after, callbacks);
  }

  close(): void {
    for (const cache of this.resources.values()) cache.close();
  }

  private resource(type: ResourceType): ResourceCache {
    const prefix = typePrefix(type);
    let cache = this.resources.get(prefix);
    if (!cache) this.resources.set(prefix, (cache = new ResourceCache(this.store, type, this.windowEvents, this.budget)));
    return cache;
  }
}
