/**
 * The etcd-shaped store every backend implements. One monotonic revision covers the whole store:
 * each successful create/update/delete gets the next revision, and a key's modRevision is the
 * revision of its last write. Errors use @berth/errors: AlreadyExists, NotFound, Conflict
 * (a CAS mismatch), Compacted.
 */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision at which the key was created (resets when a key is deleted and created again). */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The store revision the list was read at. */
  revision: number;
}

export type WatchEventType = 'put' | 'delete';

export interface WatchEvent {
  type: WatchEventType;
  /** For 'put' the new value; for 'delete' the key with the value it had and modRevision = the delete's revision. */
  kv: KeyValue;
  /** The value before this event, when there was one. */
  prevKv?: KeyValue;
  /** Revision of this event. */
  revision: number;
}

export interface Watcher {
  /** Stops delivery; no callback runs after close resolves. */
  close(): void;
}

export interface WatchCallbacks {
  onEvent(event: WatchEvent): void;
  /** The watch can't continue (e.g. Compacted, store closed); no events follow. */
  onError(err: Error): void;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys starting with prefix, ascending by key. */
  list(prefix: string): Promise<ListResult>;
  /** Fails with AlreadyExists if the key exists. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Replaces the value. With expectedModRevision, fails with Conflict unless the key's modRevision
   * equals it. Fails with NotFound if the key does not exist.
   */
  update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue>;
  /** Removes the key and returns what it held; NotFound / Conflict as for update. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Delivers, in revision order, every change under prefix with revision > afterRevision, then live
   * changes. afterRevision older than the compacted revision fails at once with Compacted (thrown).
   */
  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Promise<Watcher>;
  /** Forgets history at or below revision; later watches from there fail with Compacted. */
  compact(revision: number): Promise<void>;
  /** The newest revision written. */
  currentRevision(): Promise<number>;
  /** The oldest revision a watch can start after. */
  compactedRevision(): Promise<number>;
  close(): Promise<void>;
}
