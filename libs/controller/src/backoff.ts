/** Doubling delays from initialMs, capped at maxMs: the shape every retry in this lib uses. */
export function exponentialDelay(initialMs: number, maxMs: number, failures: number): number {
  // Past ~2^52 the multiplication stops being exact; the cap has long applied by then.
  const exponent = Math.min(failures, 52);
  return Math.min(initialMs * 2 ** exponent, maxMs);
}

/** Counts consecutive failures and says how long to wait before the next attempt. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** The delay for this failure; each call doubles the next one. */
  next(): number {
    return exponentialDelay(this.initialMs, this.maxMs, this.failures++);
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Resolves after ms, or at once when signal aborts; the timer never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}
