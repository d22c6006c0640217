import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter';

export interface WorkQueueOptions<K> {
  rateLimiter?: RateLimiter<K>;
}

/**
 * client-go's rate-limited work queue. A key is held at most once while it waits (adding it again is a
 * no-op), and never handed to two workers at once: a key added while being processed is queued again
 * when done() is called for it. get() hands keys out in FIFO order.
 */
export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  /** Keys that need processing: waiting in queue, or re-added while processing. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiting = new Map<K, { readyAt: number; timer: NodeJS.Timeout }>();
  private readonly getters: Array<(key: K | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private readonly rateLimiter: RateLimiter<K>;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>();
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds key once ms have passed; of several pending delays for one key the earliest wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const readyAt = Date.now() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.waiting.set(key, { readyAt, timer });
  }

  /** Adds key after the back-off its rate limiter assigns; each call counts as one more failure. */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears key's failure history (call after it was processed successfully). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys ready to be handed out. */
  get length(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * The next key, waiting for one if needed; the caller must call done(key) when it is finished.
   * After shutDown it still hands out the keys already queued, then resolves undefined.
   */
  get(): Promise<K | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.enqueue(key);
    else this.notifyIfIdle();
  }

  /** Stops taking new keys and drops delayed ones; queued keys are still handed out. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    if (this.queue.length === 0) for (const resolve of this.getters.splice(0)) resolve(undefined);
    this.notifyIfIdle();
  }

  /** shutDown, then wait until every queued key has been handed out and reported done. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(key: K): void {
    this.queue.push(key);
    const getter = this.getters.shift();
    if (getter) getter(this.take());
  }

  private take(): K {
    const key = this.queue.shift()!;
    this.processing.add(key);
    this.dirty.delete(key);
    if (this.shuttingDown && this.queue.length === 0) {
      // Nothing more will be queued: getters still waiting would wait forever.
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
    return key;
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  private notifyIfIdle(): void {
    if (this.shuttingDown && this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
