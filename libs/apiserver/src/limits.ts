import { errors } from '@berth/errors';

/**
 * How much of the server one request, one watch and one client may hold. The in-flight limits are
 * Kubernetes' (--max-requests-inflight 400, --max-mutating-requests-inflight 200; long-running requests,
 * watches, logs and streams, are not counted). Kubernetes has no watch count limit, but an HTTP/1.1 watch
 * is a TLS connection and buffers here, so their number is bounded too, in all and per client.
 */
export interface ServerLimits {
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  maxWatches: number;
  maxWatchesPerClient: number;
  /**
   * Watch output a client has not read yet. One watch may hold up to 64 MiB (a large initial list to a
   * client on a slow link), one client twice that, all watches together 256 MiB: a watch that would go
   * over is ended, and its client relists and watches again, as after any ended watch.
   */
  maxUnsentBytesPerWatch: number;
  maxUnsentBytesPerClient: number;
  maxUnsentBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  maxWatches: 4096,
  maxWatchesPerClient: 1000,
  maxUnsentBytesPerWatch: 64 * 1024 * 1024,
  maxUnsentBytesPerClient: 128 * 1024 * 1024,
  maxUnsentBytes: 256 * 1024 * 1024,
};

/** Requests being served at once, of one kind (read-only or mutating); over the limit is a 429. */
export class InflightLimit {
  private current = 0;

  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {}

  /** Counts one request in, or throws TooManyRequests; the returned function counts it out. */
  admit(): () => void {
    if (this.current >= this.max) {
      throw errors.tooManyRequests(`Too many requests, please try again later (${this.max} ${this.what} requests in flight)`);
    }
    this.current++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.current--;
    };
  }
}

interface ClientUse {
  watches: number;
  unsent: number;
}

/** Open watches and their unsent output, in all and per client. */
export class WatchBudget {
  private watches = 0;
  private unsent = 0;
  private readonly clients = new Map<string, ClientUse>();

  constructor(private readonly limits: ServerLimits = DEFAULT_LIMITS) {}

  /** An account for one more watch of `client`, or TooManyRequests when it would be one too many. */
  open(client: string): WatchAccount {
    const use = this.clients.get(client) ?? { watches: 0, unsent: 0 };
    if (this.watches >= this.limits.maxWatches) {
      throw errors.tooManyRequests(`Too many watches: the server has ${this.limits.maxWatches} open (--max-watches)`);
    }
    if (use.watches >= this.limits.maxWatchesPerClient) {
      throw errors.tooManyRequests(`Too many watches: ${client} has ${this.limits.maxWatchesPerClient} open (--max-watches-per-client)`);
    }
    use.watches++;
    this.watches++;
    this.clients.set(client, use);
    return new WatchAccount(this, use, () => {
      use.watches--;
      this.watches--;
      if (use.watches === 0) this.clients.delete(client);
    });
  }

  /** Moves the unsent total by `delta`; whether every budget still holds. */
  change(use: ClientUse, delta: number, watchUnsent: number): boolean {
    use.unsent += delta;
    this.unsent += delta;
    const { maxUnsentBytesPerWatch, maxUnsentBytesPerClient, maxUnsentBytes } = this.limits;
    return watchUnsent <= maxUnsentBytesPerWatch && use.unsent <= maxUnsentBytesPerClient && this.unsent <= maxUnsentBytes;
  }
}

/** One watch's share of the budget. */
export class WatchAccount {
  private counted = 0;
  private closed = false;

  constructor(
    private readonly budget: WatchBudget,
    private readonly use: ClientUse,
    private readonly release: () => void,
  ) {}

  /** Records the bytes this watch has written and not sent yet; false when that breaks a budget, and the watch must end. */
  holds(unsent: number): boolean {
    if (this.closed) return true;
    const delta = unsent - this.counted;
    this.counted = unsent;
    return this.budget.change(this.use, delta, unsent);
  }

  close(): void {
    if (this.closed) return;
    this.budget.change(this.use, -this.counted, 0);
    this.counted = 0;
    this.closed = true;
    this.release();
  }
}
