import type { IncomingMessage } from 'node:http';
import { BerthError } from '@berth/errors';
import { errorFromStatus, isStatus } from './status';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

/**
 * The request header with which berth's clients ask a server for a bookmark at least every N seconds on a
 * watch with allowWatchBookmarks, and the response header with which a server says it will send them. A
 * header rather than a query parameter, so kubectl's and client-go's requests and answers stay as they were.
 */
export const BOOKMARK_INTERVAL_HEADER = 'x-berth-bookmark-interval';
/** The interval berth's clients ask for, in seconds; Kubernetes' own bookmarks come about once a minute. */
export const REQUESTED_BOOKMARK_INTERVAL_S = 5;
/** Bookmark intervals a server may be silent before the client takes the connection for dead. */
export const MISSED_BOOKMARKS = 3;

export interface WatchLiveness {
  /** No byte from the server in this long: the connection is dead (cut off, not closed). */
  silenceMs: number;
  /** Told once when silence ended the watch (before its error surfaces), to mark the server suspect. */
  onSilence?: () => void;
}

interface Waiter<T> {
  resolve: (result: IteratorResult<WatchEvent<T>>) => void;
  reject: (err: Error) => void;
}

/**
 * One open watch stream: newline-delimited JSON events decoded as they arrive. Iterate it with
 * `for await`; the loop ends when the server closes the stream or close() is called, and throws the
 * BerthError of an ERROR event (a 410 from a compacted start arrives as Compacted or Gone: relist).
 */
export class Watch<T> implements AsyncIterable<WatchEvent<T>> {
  private readonly buffered: WatchEvent<T>[] = [];
  private waiter: Waiter<T> | undefined;
  private finished = false;
  private failure: Error | undefined;
  private partialLine = '';
  private closedByUs = false;
  private silence: NodeJS.Timeout | undefined;

  /**
   * With `liveness`, a stream that stays silent longer than its bound (the server promised bookmarks more
   * often) is aborted and ends with ServiceUnavailable: a server cut off the network sends no FIN or RST, and
   * without this the watch would wait for TCP to give up, many minutes later.
   */
  constructor(
    private readonly response: IncomingMessage,
    private readonly abort: () => void,
    private readonly decorate: (object: T) => T = (object) => object,
    private readonly liveness?: WatchLiveness,
  ) {
    response.setEncoding('utf8');
    this.heard();
    response.on('data', (chunk: string) => {
      this.heard();
      this.onData(chunk);
    });
    response.on('end', () => this.finish());
    response.on('close', () => this.finish());
    response.on('error', (err) => this.finish(this.closedByUs ? undefined : new BerthError('ServiceUnavailable', `watch stream failed: ${err.message}`)));
  }

  /** Stops the stream; a pending or later next() reports the end. */
  close(): void {
    if (this.finished) return;
    this.closedByUs = true;
    this.abort();
    this.finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /** Restarts the silence bound: the server was heard from. */
  private heard(): void {
    const { liveness } = this;
    if (!liveness || this.finished) return;
    clearTimeout(this.silence);
    this.silence = setTimeout(() => {
      liveness.onSilence?.();
      this.fail(new BerthError('ServiceUnavailable', `watch: nothing from the server in ${liveness.silenceMs / 1000} s (not even a bookmark): the connection is dead`));
    }, liveness.silenceMs);
  }

  private next(): Promise<IteratorResult<WatchEvent<T>>> {
    const event = this.buffered.shift();
    if (event) return Promise.resolve({ done: false, value: event });
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private onData(chunk: string): void {
    const lines = (this.partialLine + chunk).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() !== '') this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let event: { type?: string; object?: unknown };
    try {
      event = JSON.parse(line);
    } catch {
      this.fail(new BerthError('InternalError', `the server sent an undecodable watch event: ${line.slice(0, 200)}`));
      return;
    }
    if (event.type === 'ERROR') {
      this.fail(isStatus(event.object) ? errorFromStatus(event.object) : new BerthError('InternalError', `watch error: ${line.slice(0, 200)}`));
      return;
    }
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED' && event.type !== 'BOOKMARK') {
      this.fail(new BerthError('InternalError', `the server sent an unknown watch event type ${JSON.stringify(event.type)}`));
      return;
    }
    this.deliver({ type: event.type, object: this.decorate(event.object as T) });
  }

  private deliver(event: WatchEvent<T>): void {
    if (this.finished) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: event });
    } else {
      this.buffered.push(event);
    }
  }

  /** An ERROR event or a broken stream ends the watch; the error surfaces after the buffered events. */
  private fail(err: Error): void {
    if (this.finished) return;
    this.abort();
    this.finish(err);
  }

  private finish(err?: Error): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.silence);
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      if (err) waiter.reject(err);
      else waiter.resolve({ done: true, value: undefined });
    } else if (err) {
      this.failure = err;
    }
  }
}
