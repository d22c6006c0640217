import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBerthError } from '@berth/errors';
import { createStore, type KeyValue, type Store, type WatchEvent } from '@berth/store';
import { startNatsServer, type TestNatsServer } from '@berth/testing';
import { WatchRecorder } from './recorder';

/** Every backend must behave the same: this suite is the Store contract, run against each of them. */
let nats: TestNatsServer | undefined;
let tempDir: string;
let opened = 0;

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), 'berth-store-conformance-'));
  nats = await startNatsServer();
});

afterAll(async () => {
  await nats?.stop();
  rmSync(tempDir, { recursive: true, force: true });
});

const backends: Array<[string, () => string]> = [
  ['memory', () => 'memory://'],
  ['sqlite', () => `sqlite://${join(tempDir, `store-${++opened}.db`)}`],
  ['nats', () => `${nats!.url}?bucket=conformance-${++opened}&replicas=1`],
];

async function expectReason(promise: Promise<unknown>, reason: Parameters<typeof isBerthError>[1]): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  expect(isBerthError(err, reason)).toBe(true);
}

/**
 * Applies watch events to a listing the way an informer keeps its cache, checking that each event
 * follows from the state before it: a create finds no key, an update or delete finds exactly the
 * revision its prevKv names. A missed or repeated event breaks that chain.
 */
function applyEvents(items: KeyValue[], events: WatchEvent[]): Map<string, string> {
  const state = new Map(items.map((kv) => [kv.key, kv]));
  for (const e of events) {
    expect(state.get(e.kv.key)?.modRevision).toBe(e.prevKv?.modRevision);
    if (e.type === 'put') state.set(e.kv.key, e.kv);
    else state.delete(e.kv.key);
  }
  return new Map([...state].map(([key, kv]) => [key, kv.value]));
}

describe.each(backends)('Store conformance: %s', (_name, url) => {
  let store: Store;
  const recorders: WatchRecorder[] = [];

  const record = async (prefix: string, afterRevision: number) => {
    const recorder = await WatchRecorder.start(store, prefix, afterRevision);
    recorders.push(recorder);
    return recorder;
  };

  beforeEach(async () => {
    store = await createStore(url());
  });

  afterEach(async () => {
    for (const r of recorders.splice(0)) r.watcher.close();
    await store.close();
  });

  it('gives every write the next store-wide revision and keeps createRevision across updates', async () => {
    expect(await store.currentRevision()).toBe(0);
    const a = await store.create('/r/a', '1');
    const b = await store.create('/r/b', '1');
    const a2 = await store.update('/r/a', '2', a.modRevision);
    const removed = await store.delete('/r/b', b.modRevision);
    const revisions = [a.modRevision, b.modRevision, a2.modRevision];
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    expect(new Set(revisions).size).toBe(3);
    expect(a2.createRevision).toBe(a.modRevision);
    expect(a.createRevision).toBe(a.modRevision);
    expect(removed).toEqual(b);
    expect(await store.currentRevision()).toBeGreaterThan(a2.modRevision);
    const c = await store.create('/r/c', '1');
    expect(c.modRevision).toBe(await store.currentRevision());
  });

  it('gets values and lists them ascending by key at the current revision', async () => {
    for (const key of ['/l/m', '/l/b', '/l/z', '/l/a/x', '/l/a']) await store.create(key, `v${key}`);
    const listed = await store.list('/l/');
    expect(listed.items.map((kv) => kv.key)).toEqual(['/l/a', '/l/a/x', '/l/b', '/l/m', '/l/z']);
    expect(listed.items.every((kv) => kv.value === `v${kv.key}`)).toBe(true);
    expect(listed.revision).toBe(await store.currentRevision());
    expect(await store.get('/l/m')).toMatchObject({ key: '/l/m', value: 'v/l/m' });
    expect(await store.get('/l/missing')).toBeUndefined();
    expect((await store.list('/nothing/')).items).toEqual([]);
  });

  it('round-trips keys with characters that are special to NATS subjects', async () => {
    const keys = ['/registry/x/default/web.v1:8080', '/registry/x/default/a*b>c d', '/registry/x/default/_under_=eq', '/registry/x/default/ünï', '/registry/x/default/'];
    for (const key of keys) await store.create(key, key);
    const listed = await store.list('/registry/x/');
    expect(listed.items.map((kv) => kv.key)).toEqual([...keys].sort());
    for (const key of keys) expect((await store.get(key))?.value).toBe(key);
    expect((await store.list('/registry/x/default/web.')).items.map((kv) => kv.key)).toEqual([keys[0]]);
  });

  it('refuses to create an existing key, and creates it anew after a delete', async () => {
    const first = await store.create('/c/k', '1');
    await expectReason(store.create('/c/k', '2'), 'AlreadyExists');
    await store.delete('/c/k');
    const second = await store.create('/c/k', '3');
    expect(second.createRevision).toBe(second.modRevision);
    expect(second.createRevision).toBeGreaterThan(first.createRevision);
    expect((await store.get('/c/k'))?.value).toBe('3');
  });

  it('rejects update and delete with a stale revision (Conflict) or on a missing key (NotFound)', async () => {
    const v1 = await store.create('/cas/k', '1');
    const v2 = await store.update('/cas/k', '2', v1.modRevision);
    await expectReason(store.update('/cas/k', '3', v1.modRevision), 'Conflict');
    await expectReason(store.delete('/cas/k', v1.modRevision), 'Conflict');
    expect((await store.get('/cas/k'))?.value).toBe('2');
    const v3 = await store.update('/cas/k', 'unconditional');
    expect(v3.modRevision).toBeGreaterThan(v2.modRevision);
    await expectReason(store.update('/cas/missing', 'x'), 'NotFound');
    await expectReason(store.update('/cas/missing', 'x', 1), 'NotFound');
    await expectReason(store.delete('/cas/missing'), 'NotFound');
    await store.delete('/cas/k', v3.modRevision);
    await expectReason(store.delete('/cas/k'), 'NotFound');
  });

  it('counts exactly under 20 concurrent compare-and-swap writers', async () => {
    await store.create('/counter', '0');
    const increments = 5;
    let conflicts = 0;
    const writer = async () => {
      for (let done = 0; done < increments; ) {
        const current = (await store.get('/counter'))!;
        try {
          await store.update('/counter', String(Number(current.value) + 1), current.modRevision);
          done++;
        } catch (err) {
          if (!isBerthError(err, 'Conflict')) throw err;
          conflicts++;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, writer));
    expect((await store.get('/counter'))?.value).toBe(String(20 * increments));
    // Not a timing assertion: with 20 writers interleaving at every await, some CAS must have lost.
    expect(conflicts).toBeGreaterThan(0);
  });

  it('replays every change after a revision in order, then delivers live changes, without gaps or duplicates', async () => {
    const writes: number[] = [];
    for (let i = 0; i < 10; i++) writes.push((await store.create(`/w/k${i}`, `${i}`)).modRevision);
    for (let i = 0; i < 10; i += 2) writes.push((await store.update(`/w/k${i}`, `${i}b`)).modRevision);
    const from = writes[4];
    const recorder = await record('/w/', from);
    const replayed = writes.filter((r) => r > from);
    await recorder.waitForEvents(replayed.length);
    for (let i = 1; i < 10; i += 2) {
      await store.delete(`/w/k${i}`);
      writes.push(await store.currentRevision());
    }
    const expected = writes.filter((r) => r > from);
    const events = await recorder.waitForEvents(expected.length);
    expect(events.map((e) => e.revision)).toEqual(expected);
    expect(events.slice(-5).every((e) => e.type === 'delete')).toBe(true);
    const update = events.find((e) => e.kv.key === '/w/k6' && e.kv.value === '6b')!;
    expect(update.prevKv).toMatchObject({ key: '/w/k6', value: '6' });
    expect(update.kv.createRevision).toBe(update.prevKv!.modRevision);
    // A write made after the last expected one shows the watch holds nothing back and repeats nothing.
    await store.create('/w/last', 'x');
    await recorder.waitForEvents(expected.length + 1);
    expect(recorder.events.map((e) => e.revision)).toEqual([...expected, await store.currentRevision()]);
  });

  it('lists at a revision a watch can resume from while writers keep going', async () => {
    for (let i = 0; i < 20; i++) await store.create(`/lw/k${i}`, '0');
    let stop = false;
    // Three writers on disjoint keys, so their unconditional writes never trip over each other.
    const writer = async (id: number) => {
      for (let n = 1; !stop; n++) {
        const key = `/lw/k${id * 10 + (n % 10)}`;
        const current = await store.get(key);
        if (!current) await store.create(key, String(n));
        else if (n % 7 === 0) await store.delete(key);
        else await store.update(key, String(n));
      }
    };
    const writers = Promise.all([0, 1, 2].map(writer));
    const listed = await store.list('/lw/');
    expect(listed.items.every((kv) => kv.modRevision <= listed.revision)).toBe(true);
    const recorder = await record('/lw/', listed.revision);
    // Let some writes happen after the list, then stop and compare the replayed state to the truth.
    await recorder.waitForEvents(10);
    stop = true;
    await writers;
    const finalRevision = await store.currentRevision();
    const truth = await store.list('/lw/');
    await waitForRevision(recorder, finalRevision);
    const revisions = recorder.events.map((e) => e.revision);
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(revisions[0]).toBeGreaterThan(listed.revision);
    expect(applyEvents(listed.items, recorder.events)).toEqual(new Map(truth.items.map((kv) => [kv.key, kv.value])));
  });

  it('keeps prefixes apart: /a/ never sees /ab/x', async () => {
    const recorder = await record('/a/', 0);
    await store.create('/ab/x', 'other');
    await store.create('/a', 'parent');
    await store.create('/a/x', 'mine');
    await recorder.waitForEvents(1);
    await store.create('/a/y', 'mine too');
    await recorder.waitForEvents(2);
    expect(recorder.events.map((e) => e.kv.key)).toEqual(['/a/x', '/a/y']);
    expect((await store.list('/a/')).items.map((kv) => kv.key)).toEqual(['/a/x', '/a/y']);
    expect((await store.list('/a')).items.map((kv) => kv.key)).toEqual(['/a', '/a/x', '/a/y', '/ab/x']);
  });

  it('sends the previous value with a delete event', async () => {
    const created = await store.create('/d/k', 'v1');
    const updated = await store.update('/d/k', 'v2', created.modRevision);
    const recorder = await record('/d/', updated.modRevision);
    const removed = await store.delete('/d/k', updated.modRevision);
    const [event] = await recorder.waitForEvents(1);
    expect(removed).toEqual(updated);
    expect(event.type).toBe('delete');
    expect(event.revision).toBe(await store.currentRevision());
    expect(event.kv).toMatchObject({ key: '/d/k', value: 'v2', modRevision: event.revision, createRevision: created.modRevision });
    expect(event.prevKv).toEqual(updated);
  });

  it('fails a watch from before the compacted revision with Compacted and keeps the latest values', async () => {
    const a = await store.create('/cp/a', '1');
    await store.update('/cp/a', '2');
    const b = await store.create('/cp/b', '1');
    await store.delete('/cp/b', b.modRevision);
    const a3 = await store.update('/cp/a', '3');
    const kept = await store.create('/cp/c', 'old');
    const compactAt = await store.currentRevision();
    const after = await store.update('/cp/a', '4');
    await store.compact(compactAt);
    expect(await store.compactedRevision()).toBe(compactAt);
    await expectReason(store.watch('/cp/', a.modRevision, { onEvent: () => undefined, onError: () => undefined }), 'Compacted');
    await expectReason(store.watch('/cp/', compactAt - 1, { onEvent: () => undefined, onError: () => undefined }), 'Compacted');
    const recorder = await record('/cp/', compactAt);
    const [event] = await recorder.waitForEvents(1);
    expect(event).toMatchObject({ type: 'put', revision: after.modRevision, kv: { value: '4' }, prevKv: a3 });
    expect(await store.get('/cp/c')).toEqual(kept);
    expect((await store.list('/cp/')).items.map((kv) => [kv.key, kv.value])).toEqual([['/cp/a', '4'], ['/cp/c', 'old']]);
    // Compacting again to an older revision changes nothing; new writes still work.
    await store.compact(1);
    expect(await store.compactedRevision()).toBe(compactAt);
    await store.create('/cp/b', 'again');
    expect((await store.get('/cp/b'))?.createRevision).toBe(await store.currentRevision());
  });

  /**
   * Watches `prefix` from revision 0 and, once the first event arrived, compacts everything written so far
   * while the replay goes on. Whatever the watch delivered must be exactly the start of `revisions`, each
   * event following from the one before (so no event was skipped and every delete names what it removed);
   * if it did not deliver all of them, it must have failed with Compacted.
   */
  async function replayWhileCompacting(prefix: string, revisions: number[]): Promise<WatchEvent[]> {
    const head = await store.currentRevision();
    const events: WatchEvent[] = [];
    let failure: Error | undefined;
    let compaction: Promise<void> | undefined;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const watcher = await store.watch(prefix, 0, {
      onEvent: (event) => {
        events.push(event);
        compaction ??= store.compact(head);
        if (events.length === revisions.length) settle();
      },
      onError: (err) => {
        failure = err;
        settle();
      },
    });
    try {
      await settled;
      await compaction;
    } finally {
      watcher.close();
    }
    expect(events.map((e) => e.revision)).toEqual(revisions.slice(0, events.length));
    applyEvents([], events);
    for (const e of events.filter((e) => e.type === 'delete')) expect(e.kv.value).toBe(e.prevKv?.value);
    if (events.length < revisions.length) expect(isBerthError(failure, 'Compacted')).toBe(true);
    else expect(failure).toBeUndefined();
    return events;
  }

  it('fails a watch that a compaction overtakes while it replays with Compacted, never skipping an event before that', async () => {
    const revisions: number[] = [];
    for (let i = 0; i < 200; i++) revisions.push((await store.create(`/rc/k${i}`, 'v0')).modRevision);
    for (let round = 1; round <= 3; round++) for (let i = 0; i < 200; i++) revisions.push((await store.update(`/rc/k${i}`, `v${round}`)).modRevision);
    for (let i = 0; i < 200; i += 2) {
      await store.delete(`/rc/k${i}`);
      revisions.push(await store.currentRevision());
    }
    await replayWhileCompacting('/rc/', revisions);
  });

  it('never turns a delete whose tombstone a compaction removes during the replay into nothing', async () => {
    const revisions = [(await store.create('/tc/gone', 'value')).modRevision];
    // Keys written once: compaction keeps them, so the delete is what it takes from the replay.
    for (let i = 0; i < 1000; i++) revisions.push((await store.create(`/tc/k${i}`, '0')).modRevision);
    await store.delete('/tc/gone');
    revisions.push(await store.currentRevision());
    const events = await replayWhileCompacting('/tc/', revisions);
    if (events.length === revisions.length) expect(events.at(-1)).toMatchObject({ type: 'delete', kv: { key: '/tc/gone', value: 'value' }, prevKv: { value: 'value' } });
  });

  it('stores and watches 1.5 MiB values', async () => {
    const big = 'x'.repeat(1.5 * 1024 * 1024 - 10) + 'ünïcode';
    const recorder = await record('/big/', await store.currentRevision());
    const created = await store.create('/big/one', big);
    expect((await store.get('/big/one'))?.value).toBe(big);
    const [event] = await recorder.waitForEvents(1);
    expect(event.kv.value).toBe(big);
    await store.update('/big/one', big + '!', created.modRevision);
    expect((await store.list('/big/')).items[0].value).toBe(big + '!');
  });

  it('leaves a deleted key out of later lists, and a watch from that list sees only later changes', async () => {
    await store.create('/ld/a', '1');
    const b = await store.create('/ld/b', '1');
    await store.delete('/ld/b', b.modRevision);
    const listed = await store.list('/ld/');
    expect(listed.items.map((kv) => kv.key)).toEqual(['/ld/a']);
    const recorder = await record('/ld/', listed.revision);
    await store.create('/ld/b', '2');
    const events = await recorder.waitForEvents(1);
    expect(events.map((e) => [e.type, e.kv.key, e.kv.value])).toEqual([['put', '/ld/b', '2']]);
  });

  it('stops delivering to a closed watcher, and closing the store ends every watch', async () => {
    const closedEarly = await record('/s/', 0);
    const open = await record('/s/', 0);
    await store.create('/s/1', '1');
    await open.waitForEvents(1);
    await closedEarly.waitForEvents(1);
    closedEarly.watcher.close();
    await store.create('/s/2', '2');
    await open.waitForEvents(2);
    expect(closedEarly.events).toHaveLength(1);
    await store.close();
    const err = await open.waitForError();
    expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
    expect(closedEarly.error).toBeUndefined();
    await expectReason(store.get('/s/1'), 'ServiceUnavailable');
  });
});

/** Waits until the recorder has seen the event at revision (or a later one). */
async function waitForRevision(recorder: WatchRecorder, revision: number): Promise<void> {
  const last = () => recorder.events.at(-1)?.revision ?? 0;
  while (last() < revision) await recorder.waitForEvents(recorder.events.length + 1);
}
