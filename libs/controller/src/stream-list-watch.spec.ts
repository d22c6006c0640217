import type { KubeObject } from '@berth/api';
import { errors } from '@berth/errors';
import { waitFor } from '@berth/testing';
import type { ListWatchEvent } from './list-watch';
import { pod } from './spec-helpers';
import { streamListWatch, type WatchStream } from './stream-list-watch';

/** A stream fed by the test: push events, then end it or fail it. */
function fakeStream(): WatchStream<KubeObject> & { push(e: ListWatchEvent<KubeObject>): void; end(err?: Error): void; closed: boolean } {
  const pending: ListWatchEvent<KubeObject>[] = [];
  let ended: { err?: Error } | undefined;
  let wake: (() => void) | undefined;
  const stream = {
    closed: false,
    push(e: ListWatchEvent<KubeObject>) {
      pending.push(e);
      wake?.();
    },
    end(err?: Error) {
      ended = { err };
      wake?.();
    },
    close() {
      stream.closed = true;
      stream.end();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (pending.length) yield pending.shift()!;
        if (ended) {
          if (ended.err) throw ended.err;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
  return stream;
}

describe('streamListWatch', () => {
  function watchInto(stream: ReturnType<typeof fakeStream>) {
    const seen: string[] = [];
    const lw = streamListWatch<KubeObject>({ list: async () => ({ items: [], resourceVersion: '7' }), watch: async () => stream });
    const opened = lw.watch('7', {
      onEvent: (e) => seen.push(`${e.type} ${e.object.metadata.name}`),
      onError: (err) => seen.push(`error ${(err as { reason?: string }).reason}`),
      onClose: () => seen.push('closed'),
    });
    return { seen, opened, lw };
  }

  it('hands stream events to the handler and reports the server ending it', async () => {
    const stream = fakeStream();
    const { seen, lw } = watchInto(stream);
    expect(await lw.list()).toEqual({ items: [], resourceVersion: '7' });
    stream.push({ type: 'ADDED', object: pod('a') });
    stream.end();
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual(['ADDED a', 'closed']);
  });

  it('reports a failing stream through onError, and nothing after the consumer closes it', async () => {
    const failing = fakeStream();
    const { seen } = watchInto(failing);
    failing.end(errors.gone('too old'));
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual(['error Gone']);

    const quiet = fakeStream();
    const second = watchInto(quiet);
    (await second.opened).close();
    expect(quiet.closed).toBe(true);
    quiet.push({ type: 'ADDED', object: pod('late') });
    await new Promise((resolve) => setImmediate(resolve));
    expect(second.seen).toEqual([]);
  });
});
