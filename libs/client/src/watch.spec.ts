import { isBerthError } from '@berth/errors';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { Watch, type WatchEvent } from './watch';

/** A response body the test writes watch lines into. */
function fakeResponse(): { response: IncomingMessage } {
  return { response: Object.assign(new PassThrough(), { headers: {} }) as unknown as IncomingMessage };
}

const line = (type: string, rv: string) => `${JSON.stringify({ type, object: { metadata: { name: 'x', resourceVersion: rv } } })}\n`;

describe('Watch liveness: a silent stream is a dead connection', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('stays open while bookmarks come within the bound, and ends with ServiceUnavailable after a silence longer than it', async () => {
    const { response } = fakeResponse();
    let aborted = false;
    const silences: number[] = [];
    const watch = new Watch(response, () => ((aborted = true), response.destroy()), undefined, { silenceMs: 15_000, onSilence: () => silences.push(Date.now()) });
    const events: WatchEvent<unknown>[] = [];
    const failure = (async () => {
      for await (const event of watch) events.push(event);
    })().catch((err: Error) => err);
    // A bookmark every 5 s for a minute: never silent for 15 s.
    for (let t = 0; t < 12; t++) {
      (response as unknown as PassThrough).write(line(t % 2 ? 'BOOKMARK' : 'ADDED', String(t + 1)));
      await jest.advanceTimersByTimeAsync(5_000);
    }
    expect(aborted).toBe(false);
    expect(silences).toEqual([]);
    // Then nothing: the connection was cut without a FIN. 5 s have passed since the last line.
    await jest.advanceTimersByTimeAsync(9_000);
    expect(aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(aborted).toBe(true);
    expect(silences).toHaveLength(1);
    const err = await failure;
    expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
    expect((err as Error).message).toContain('nothing from the server in 15 s');
    // Every event before the silence was delivered, none twice.
    expect(events.map((e) => e.type)).toHaveLength(12);
  });

  it('sets no bound without liveness (a server that did not promise bookmarks), and none after close', async () => {
    const { response } = fakeResponse();
    let aborted = false;
    const watch = new Watch(response, () => (aborted = true));
    await jest.advanceTimersByTimeAsync(600_000);
    expect(aborted).toBe(false);
    watch.close();

    const second = fakeResponse().response;
    let silenced = false;
    const closed = new Watch(second, () => second.destroy(), undefined, { silenceMs: 1_000, onSilence: () => (silenced = true) });
    closed.close();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(silenced).toBe(false);
  });
});
