/**
 * A rate-limited work queue of keys, in the shape of client-go's: a key is processed by one worker at a
 * time, a key added while it is being processed is processed again afterwards, and failures retry with
 * exponential backoff.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<'done' | 'requeue'>,
    private readonly onError: (key: string, err: unknown) => void,
    private readonly opts = { workers: 1, baseDelayMs: 100, maxDelayMs: 30_000 },
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds the key after a backoff that grows with each consecutive retry of it. */
  addRateLimited(key: string): void {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.opts.baseDelayMs * 2 ** failures, this.opts.maxDelayMs);
    if (this.delayed.has(key) || this.stopped) return;
    this.delayed.set(
      key,
      setTimeout(() => {
        this.delayed.delete(key);
        this.add(key);
      }, delay),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.workers && this.queue.length) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.work(key);
    }
  }

  private async work(key: string): Promise<void> {
    try {
      const outcome = await this.reconcile(key);
      if (outcome === 'requeue') this.addRateLimited(key);
      else this.failures.delete(key);
    } catch (err) {
      this.onError(key, err);
      this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
