import { resourceForKind } from '@berth/api';
import { isBerthError } from '@berth/errors';
import type { KeyValue, Store, Watcher } from '@berth/store';
import type { Logger } from 'pino';
import { typePrefix } from './keys';

/** Kubernetes' --event-ttl default. */
export const DEFAULT_EVENT_TTL_MS = 60 * 60 * 1000;
/** How long a failed store watch waits before it lists and watches again. */
const RESTART_DELAY_MS = 1000;

const EVENTS_PREFIX = typePrefix(resourceForKind('v1', 'Event')!);

interface Lease {
  /** When the Event expires, ms since the epoch. */
  expires: number;
  /** The write the lease belongs to: a later write of the Event renews it. */
  revision: number;
}

/** The newest time an Event records about itself, for Events found in the store when the server starts. */
function lastRecorded(value: string): number | undefined {
  try {
    const event = JSON.parse(value) as {
      lastTimestamp?: unknown;
      eventTime?: unknown;
      series?: { lastObservedTime?: unknown };
      metadata?: { creationTimestamp?: unknown };
    };
    const times = [event.lastTimestamp, event.eventTime, event.series?.lastObservedTime, event.metadata?.creationTimestamp]
      .map((t) => (typeof t === 'string' ? Date.parse(t) : NaN))
      .filter((t) => Number.isFinite(t));
    return times.length ? Math.max(...times) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Events expire `ttl` after their last write (kube-apiserver's --event-ttl), so a chatty cluster's Events
 * cannot fill the store. Kubernetes attaches an etcd lease to every Event write and etcd deletes the key
 * when the lease runs out. berth's stores have no leases, and only the apiserver touches the store, so the
 * apiserver keeps them: it watches the Events, gives each write a lease of `ttl` from when it saw it, and
 * deletes an Event whose lease ran out unless it was written again since (the delete names the revision
 * the lease belongs to). Events already stored when it starts get leases from their own last timestamp.
 * With several servers on one store each one does this; the second delete of an Event finds it gone.
 */
export class EventExpiry {
  /** By key; kept in order of expiry (a renewed lease moves to the end), so a sweep reads only the expired front. */
  private leases = new Map<string, Lease>();
  private watcher: Watcher | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private restart: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.follow();
    // Sweeping once a second is precise enough for a TTL of an hour, and for a test's TTL of a few seconds.
    this.sweeper = setInterval(() => void this.sweep(), Math.min(1000, this.ttlMs));
    this.sweeper.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    clearTimeout(this.restart);
    this.watcher?.close();
  }

  /** Events whose lease is running, for tests and metrics. */
  get count(): number {
    return this.leases.size;
  }

  /** Lists the Events, keeping the leases of those not written since, and watches from the list on. */
  private async follow(): Promise<void> {
    const { items, revision } = await this.store.list(EVENTS_PREFIX);
    const now = this.now();
    const leases = items.map((kv) => {
      const known = this.leases.get(kv.key);
      if (known?.revision === kv.modRevision) return [kv.key, known] as const;
      const recorded = lastRecorded(kv.value);
      return [kv.key, { expires: Math.min(recorded ?? now, now) + this.ttlMs, revision: kv.modRevision }] as const;
    });
    this.leases = new Map([...leases].sort(([, a], [, b]) => a.expires - b.expires));
    this.watcher = await this.store.watch(EVENTS_PREFIX, revision, {
      onEvent: (event) => {
        this.leases.delete(event.kv.key);
        if (event.type === 'put') this.lease(event.kv);
      },
      onError: (err) => {
        if (this.stopped) return;
        this.logger.warn({ err }, 'event expiry lost its store watch; listing again');
        this.restart = setTimeout(() => this.follow().catch((e: unknown) => this.logger.warn({ err: e }, 'event expiry could not list events')), RESTART_DELAY_MS);
      },
    });
  }

  private lease(kv: KeyValue): void {
    this.leases.set(kv.key, { expires: this.now() + this.ttlMs, revision: kv.modRevision });
  }

  /** Deletes the Events whose lease ran out; resolves when every delete answered. */
  async sweep(): Promise<void> {
    const now = this.now();
    const expired: Array<[string, Lease]> = [];
    for (const entry of this.leases) {
      if (entry[1].expires > now) break;
      expired.push(entry);
    }
    await Promise.all(
      expired.map(async ([key, lease]) => {
        try {
          await this.store.delete(key, lease.revision);
          if (this.leases.get(key) === lease) this.leases.delete(key);
        } catch (err) {
          // Written again (the watch renews its lease) or already gone: nothing left to do.
          if (isBerthError(err, 'Conflict') || isBerthError(err, 'NotFound')) {
            if (this.leases.get(key) === lease) this.leases.delete(key);
            return;
          }
          // The store failed: the lease stays expired and the next sweep tries again.
          this.logger.warn({ err, key }, 'an expired event could not be deleted');
        }
      }),
    );
  }
}
