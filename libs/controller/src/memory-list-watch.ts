import { type KubeObject, matchesLabels, parseLabelSelector } from '@berth/api';
import type { KeyValue, Store, Watcher } from '@berth/store';
import type { ListWatch, ListWatchHandler } from './list-watch';

export interface MemoryListWatchOptions<T> {
  /** Store keys the objects live under (JSON values). */
  prefix: string;
  /** Only objects whose labels match, as `?labelSelector=` does. */
  labelSelector?: string;
  /** Any further restriction (a field selector, say). */
  filter?: (obj: T) => boolean;
}

/**
 * A ListWatch over a Store (usually MemoryStore) holding JSON objects, with resourceVersion = the store's
 * revision, so controller tests run without an apiserver. Like the apiserver's watch with a selector, an
 * object that stops matching arrives as DELETED and one that starts matching as ADDED. The extra methods
 * let tests act as the server: end or fail the open watches, send bookmarks, hold new watches back.
 */
export class MemoryListWatch<T extends KubeObject = KubeObject> implements ListWatch<T> {
  private readonly open = new Map<Watcher, ListWatchHandler<T>>();
  private readonly matches: (obj: T) => boolean;
  private gate?: Promise<void>;
  /** How many watches have been opened (for tests that wait for a re-watch). */
  watchCount = 0;

  constructor(
    private readonly store: Store,
    private readonly options: MemoryListWatchOptions<T>,
  ) {
    const labels = options.labelSelector ? parseLabelSelector(options.labelSelector) : [];
    this.matches = (obj) => matchesLabels(labels, obj.metadata.labels) && (options.filter?.(obj) ?? true);
  }

  async list(): Promise<{ items: T[]; resourceVersion: string }> {
    const { items, revision } = await this.store.list(this.options.prefix);
    return { items: items.map(decode<T>).filter(this.matches), resourceVersion: String(revision) };
  }

  async watch(resourceVersion: string, handler: ListWatchHandler<T>): Promise<{ close(): void }> {
    await this.gate;
    const watcher = await this.store.watch(this.options.prefix, Number(resourceVersion || 0), {
      onEvent: (event) => {
        const before = event.prevKv && decode<T>(event.prevKv);
        const matchedBefore = before !== undefined && this.matches(before);
        if (event.type === 'delete') {
          if (matchedBefore) handler.onEvent({ type: 'DELETED', object: decode<T>(event.kv) });
          return;
        }
        const after = decode<T>(event.kv);
        if (this.matches(after)) handler.onEvent({ type: matchedBefore ? 'MODIFIED' : 'ADDED', object: after });
        else if (matchedBefore) handler.onEvent({ type: 'DELETED', object: after });
      },
      onError: (err) => {
        this.open.delete(watcher);
        handler.onError(err);
      },
    });
    this.watchCount++;
    this.open.set(watcher, handler);
    return {
      close: () => {
        watcher.close();
        this.open.delete(watcher);
      },
    };
  }

  /** Watches currently open: a test ends them only after the informer has opened one. */
  get openWatches(): number {
    return this.open.size;
  }

  /** Ends every open watch normally, as a server timeout does. */
  endWatches(): void {
    for (const handler of this.drain()) handler.onClose();
  }

  failWatches(err: Error): void {
    for (const handler of this.drain()) handler.onError(err);
  }

  /** Sends every open watch a BOOKMARK at the store's current revision. */
  async bookmark(): Promise<string> {
    const resourceVersion = String(await this.store.currentRevision());
    const object = { metadata: { resourceVersion } } as T;
    for (const handler of this.open.values()) handler.onEvent({ type: 'BOOKMARK', object });
    return resourceVersion;
  }

  /** Until the returned function is called, new watches wait before they start (the "watch is down" window). */
  holdWatches(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  private drain(): ListWatchHandler<T>[] {
    const handlers = [...this.open];
    this.open.clear();
    for (const [watcher] of handlers) watcher.close();
    return handlers.map(([, handler]) => handler);
  }
}

export function memoryListWatch<T extends KubeObject = KubeObject>(store: Store, options: MemoryListWatchOptions<T>): MemoryListWatch<T> {
  return new MemoryListWatch<T>(store, options);
}

function decode<T extends KubeObject>(kv: KeyValue): T {
  const obj = JSON.parse(kv.value) as T;
  obj.metadata = { ...obj.metadata, resourceVersion: String(kv.modRevision) };
  return obj;
}
