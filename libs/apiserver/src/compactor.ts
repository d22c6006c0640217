import { isBerthError } from '@berth/errors';
import type { Store } from '@berth/store';
import type { Logger } from 'pino';

/**
 * The store key the servers of one store take turns on, as Kubernetes' apiservers do on etcd's
 * `compact_rev_key`. Outside `/registry/`, so no list or watch of objects sees it.
 */
export const COMPACT_REV_KEY = '/compact_rev_key';

/**
 * Keeps store history bounded: every interval it compacts to the revision it saw `retainIntervals`
 * intervals ago, so watches can resume from anything newer than that window.
 *
 * Several servers on one store each run one; only one of them compacts per interval, as Kubernetes'
 * compactor does: each tick is a compare-and-swap of COMPACT_REV_KEY from the modRevision this server saw
 * last. The first server to tick in an interval wins it and compacts; the others' swaps fail, they learn the
 * key's new modRevision and try again next interval (so when the winner dies, another takes over one
 * interval later). Compacting twice would be harmless (the store's compacted revision only moves forward),
 * but it is store work every server would repeat.
 */
export class Compactor {
  private readonly seen: number[] = [];
  /** COMPACT_REV_KEY's modRevision when this server last looked (0: no key seen): what its next swap expects. */
  private turnSeen = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
    private readonly retainIntervals = 5,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One interval: answers whether this server compacted (it won the interval and had a revision to compact to). */
  async tick(): Promise<boolean> {
    try {
      const current = await this.store.currentRevision();
      this.seen.push(current);
      const target = this.seen.length > this.retainIntervals ? this.seen.shift()! : undefined;
      if (!(await this.takeTurn(current))) return false;
      if (target === undefined || target <= (await this.store.compactedRevision())) return false;
      await this.store.compact(target);
      this.logger.debug({ revision: target }, 'store compacted');
      return true;
    } catch (err) {
      this.logger.warn({ err }, 'store compaction failed');
      return false;
    }
  }

  /** The swap of COMPACT_REV_KEY from the modRevision seen last: true when this server won the interval. */
  private async takeTurn(current: number): Promise<boolean> {
    const value = String(current);
    try {
      const written = this.turnSeen === 0 ? await this.store.create(COMPACT_REV_KEY, value) : await this.store.update(COMPACT_REV_KEY, value, this.turnSeen);
      this.turnSeen = written.modRevision;
      return true;
    } catch (err) {
      if (!isBerthError(err, 'Conflict') && !isBerthError(err, 'AlreadyExists') && !isBerthError(err, 'NotFound')) throw err;
      // Another server took this interval: expect what it wrote next time.
      this.turnSeen = (await this.store.get(COMPACT_REV_KEY))?.modRevision ?? 0;
      return false;
    }
  }
}
