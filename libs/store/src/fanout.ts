import type { WatchCallbacks, WatchEvent, Watcher } from './store';

/**
 * One watcher inside a process: events are handed to callbacks on microtasks, so a write never runs
 * watcher code on its own stack, and the FIFO microtask queue keeps them in the order they were queued.
 */
export class Subscription implements Watcher {
  private closed = false;

  constructor(
    readonly prefix: string,
    private readonly callbacks: WatchCallbacks,
    private readonly onClose: (s: Subscription) => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  matches(event: WatchEvent): boolean {
    return event.kv.key.startsWith(this.prefix);
  }

  deliver(event: WatchEvent): void {
    queueMicrotask(() => {
      if (!this.closed) this.callbacks.onEvent(event);
    });
  }

  /** Ends the watch with an error; no event is delivered after it. */
  fail(err: Error): void {
    if (this.closed) return;
    this.close();
    queueMicrotask(() => this.callbacks.onError(err));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
}

/** Fans live events out to the subscriptions of one store (for backends with a single writer process). */
export class WatchFanout {
  private readonly live = new Set<Subscription>();

  /** A subscription that gets no live events until activate(): the caller replays history first. */
  subscribe(prefix: string, callbacks: WatchCallbacks): Subscription {
    return new Subscription(prefix, callbacks, (s) => this.live.delete(s));
  }

  activate(subscription: Subscription): void {
    if (!subscription.isClosed) this.live.add(subscription);
  }

  publish(event: WatchEvent): void {
    for (const s of this.live) if (s.matches(event)) s.deliver(event);
  }

  failAll(err: Error): void {
    for (const s of [...this.live]) s.fail(err);
  }
}

/** Keys of a list, ascending by JavaScript string order, the same on every backend. */
export function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
