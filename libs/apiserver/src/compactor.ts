import type { Store } from '@berth/store';
import type { Logger } from 'pino';

/**
 * Keeps store history bounded: every interval it compacts to the revision it saw `retainIntervals`
 * intervals ago, so watches can resume from anything newer than that window.
 */
export class Compactor {
  private readonly seen: number[] = [];
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

  async tick(): Promise<void> {
    try {
      this.seen.push(await this.store.currentRevision());
      if (this.seen.length <= this.retainIntervals) return;
      const target = this.seen.shift()!;
      if (target > (await this.store.compactedRevision())) {
        await this.store.compact(target);
        this.logger.debug({ revision: target }, 'store compacted');
      }
    } catch (err) {
      this.logger.warn({ err }, 'store compaction failed');
    }
  }
}
