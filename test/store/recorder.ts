import type { Store, WatchEvent, Watcher } from '@berth/store';

/** Collects one watch's events and lets a test wait for a number of them, or for its error. */
export class WatchRecorder {
  readonly events: WatchEvent[] = [];
  error: Error | undefined;
  watcher!: Watcher;
  private waiters: Array<() => boolean> = [];

  static async start(store: Store, prefix: string, afterRevision: number): Promise<WatchRecorder> {
    const recorder = new WatchRecorder();
    recorder.watcher = await store.watch(prefix, afterRevision, {
      onEvent: (event) => {
        recorder.events.push(event);
        recorder.wake();
      },
      onError: (err) => {
        recorder.error = err;
        recorder.wake();
      },
    });
    return recorder;
  }

  /** Resolves once `count` events arrived; rejects if the watch fails first or nothing comes for a while. */
  waitForEvents(count: number, timeoutMs = 15_000): Promise<WatchEvent[]> {
    return this.waitUntil(() => this.events.length >= count, `${count} events (have ${this.events.length})`, timeoutMs).then(() => this.events);
  }

  waitForError(timeoutMs = 15_000): Promise<Error> {
    return this.waitUntil(() => this.error !== undefined, 'a watch error', timeoutMs, true).then(() => this.error!);
  }

  private waitUntil(done: () => boolean, what: string, timeoutMs: number, errorIsTheGoal = false): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve();
          return true;
        }
        if (this.error && !errorIsTheGoal) {
          clearTimeout(timer);
          reject(this.error);
          return true;
        }
        return false;
      };
      if (!check()) this.waiters.push(check);
    });
  }

  private wake(): void {
    this.waiters = this.waiters.filter((check) => !check());
  }
}
