/**
 * The narrow view of an API client that informers need. The REST client, an in-memory store and
 * test doubles all adapt to it, so controllers never depend on how objects are fetched.
 */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface ListWatchEvent<T> {
  type: WatchEventType;
  /** For BOOKMARK only metadata.resourceVersion is meaningful. */
  object: T;
}

export interface ListWatchHandler<T> {
  onEvent(event: ListWatchEvent<T>): void;
  /** The watch failed; nothing follows. A Gone/Compacted error means the resourceVersion is too old. */
  onError(err: Error): void;
  /** The server ended the watch normally (e.g. its timeout); the client re-watches. */
  onClose(): void;
}

export interface ListWatch<T> {
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  /** Delivers changes after resourceVersion. May reject (e.g. Compacted) instead of calling onError. */
  watch(resourceVersion: string, handler: ListWatchHandler<T>): Promise<{ close(): void }>;
}
