import { errors } from '@berth/errors';
import { byKey, WatchFanout } from './fanout';
import type { KeyValue, ListResult, Store, WatchCallbacks, WatchEvent, Watcher } from './store';

/** A Store held in memory, with full history until compaction: for tests and throwaway clusters. */
export class MemoryStore implements Store {
  private readonly data = new Map<string, KeyValue>();
  private history: WatchEvent[] = [];
  private revision = 0;
  private compacted = 0;
  private readonly fanout = new WatchFanout();
  private closed = false;

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    const kv = this.data.get(key);
    return kv && { ...kv };
  }

  async list(prefix: string): Promise<ListResult> {
    this.assertOpen();
    const items = [...this.data.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort(byKey)
      .map((kv) => ({ ...kv }));
    return { items, revision: this.revision };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.assertOpen();
    if (this.data.has(key)) throw errors.alreadyExists('keys', key);
    const revision = ++this.revision;
    const kv: KeyValue = { key, value, createRevision: revision, modRevision: revision };
    this.data.set(key, kv);
    this.publish({ type: 'put', kv: { ...kv }, revision });
    return { ...kv };
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    this.assertOpen();
    const prev = this.current(key, expectedModRevision);
    const revision = ++this.revision;
    const kv: KeyValue = { key, value, createRevision: prev.createRevision, modRevision: revision };
    this.data.set(key, kv);
    this.publish({ type: 'put', kv: { ...kv }, prevKv: { ...prev }, revision });
    return { ...kv };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.assertOpen();
    const prev = this.current(key, expectedModRevision);
    const revision = ++this.revision;
    this.data.delete(key);
    this.publish({ type: 'delete', kv: { ...prev, modRevision: revision }, prevKv: { ...prev }, revision });
    return { ...prev };
  }

  async watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Promise<Watcher> {
    this.assertOpen();
    if (afterRevision < this.compacted) throw errors.compacted(afterRevision, this.compacted);
    const subscription = this.fanout.subscribe(prefix, callbacks);
    // Backlog and activation in one synchronous step: no write can slip between them.
    for (const event of this.history) {
      if (event.revision > afterRevision && subscription.matches(event)) subscription.deliver(event);
    }
    this.fanout.activate(subscription);
    return subscription;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision <= this.compacted) return;
    const upTo = Math.min(revision, this.revision);
    this.history = this.history.filter((e) => e.revision > upTo);
    this.compacted = upTo;
  }

  async currentRevision(): Promise<number> {
    return this.revision;
  }

  async compactedRevision(): Promise<number> {
    return this.compacted;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fanout.failAll(errors.unavailable('store closed'));
  }

  private current(key: string, expectedModRevision: number | undefined): KeyValue {
    const prev = this.data.get(key);
    if (!prev) throw errors.notFound('keys', key);
    if (expectedModRevision !== undefined && prev.modRevision !== expectedModRevision) {
      throw errors.conflict('keys', key, `the object has been modified (revision ${prev.modRevision}, expected ${expectedModRevision})`);
    }
    return prev;
  }

  private publish(event: WatchEvent): void {
    this.history.push(event);
    this.fanout.publish(event);
  }

  private assertOpen(): void {
    if (this.closed) throw errors.unavailable('store closed');
  }
}
