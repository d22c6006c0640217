import { MemoryStore } from '@berth/store';
import { waitFor } from '@berth/testing';
import pino from 'pino';
import { EventExpiry } from './event-ttl';

const TTL = 60_000;
const key = (name: string) => `/registry/core/events/default/${name}`;
const event = (name: string, lastTimestamp?: string) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' }, reason: 'Tested', ...(lastTimestamp ? { lastTimestamp } : {}) });

describe('EventExpiry', () => {
  let store: MemoryStore;
  let clock: number;
  let expiry: EventExpiry;

  beforeEach(() => {
    store = new MemoryStore();
    clock = Date.parse('2030-01-01T00:00:00Z');
  });
  afterEach(async () => {
    expiry?.stop();
    await store.close();
  });

  const start = async () => {
    expiry = new EventExpiry(store, TTL, pino({ level: 'silent' }), () => clock);
    await expiry.start();
  };
  const stored = async (name: string) => (await store.get(key(name))) !== undefined;

  it('deletes an Event its TTL after its last write, and leaves everything else alone', async () => {
    await start();
    await store.create(key('old'), event('old'));
    await store.create(key('renewed'), event('renewed'));
    await store.create('/registry/core/configmaps/default/keep', '{}');
    await waitFor(() => expiry.count === 2);

    clock += TTL / 2;
    const renewed = (await store.get(key('renewed')))!;
    await store.update(key('renewed'), event('renewed'), renewed.modRevision);

    clock += TTL / 2;
    await expiry.sweep();
    expect(await stored('old')).toBe(false);
    expect(await stored('renewed')).toBe(true);
    expect(await store.get('/registry/core/configmaps/default/keep')).toBeDefined();

    clock += TTL / 2;
    await expiry.sweep();
    expect(await stored('renewed')).toBe(false);
    expect(expiry.count).toBe(0);
  });

  it('does not delete an Event written again between its expiry and the sweep', async () => {
    // The store's watch can lag behind its writes: here it holds events back while `holding`.
    let holding = false;
    const held: Array<() => void> = [];
    const watch = store.watch.bind(store);
    store.watch = (prefix, after, callbacks) =>
      watch(prefix, after, { onEvent: (e) => (holding ? held.push(() => callbacks.onEvent(e)) : callbacks.onEvent(e)), onError: callbacks.onError });
    await start();
    const first = await store.create(key('busy'), event('busy'));
    await waitFor(() => expiry.count === 1);
    clock += TTL;
    holding = true;
    await store.update(key('busy'), event('busy'), first.modRevision);
    // The lease seen is the first write's: the delete names that revision and the store refuses it.
    await expiry.sweep();
    expect(await stored('busy')).toBe(true);
    holding = false;
    for (const deliver of held) deliver();
    await expiry.sweep();
    expect(await stored('busy')).toBe(true);
    clock += TTL;
    await expiry.sweep();
    expect(await stored('busy')).toBe(false);
  });

  it('gives Events found at start leases from their own last timestamp', async () => {
    await store.create(key('ancient'), event('ancient', new Date(clock - 2 * TTL).toISOString()));
    await store.create(key('recent'), event('recent', new Date(clock - TTL / 2).toISOString()));
    await store.create(key('untimed'), event('untimed'));
    await start();
    await expiry.sweep();
    expect(await stored('ancient')).toBe(false);
    expect(await stored('recent')).toBe(true);
    clock += TTL / 2;
    await expiry.sweep();
    expect(await stored('recent')).toBe(false);
    expect(await stored('untimed')).toBe(true);
    clock += TTL / 2;
    await expiry.sweep();
    expect(await stored('untimed')).toBe(false);
  });
});
