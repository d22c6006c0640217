import { connect, type KV, type NatsConnection } from 'nats';
import { createStore, type Store } from '@berth/store';
import { isBerthError } from '@berth/errors';
import { startNatsServer, type TestNatsServer } from '@berth/testing';
import { WatchRecorder } from './recorder';

/** What only the NATS backend has to show: its compaction really frees the stream, and state lives in the server. */
describe('NatsStore on nats-server -js', () => {
  let server: TestNatsServer;
  let observer: NatsConnection;
  const stores: Store[] = [];
  const open = async (bucket: string) => {
    const store = await createStore(`${server.url}?bucket=${bucket}`);
    stores.push(store);
    return store;
  };
  const messagesIn = async (bucket: string) => {
    const jsm = await observer.jetstreamManager();
    return (await jsm.streams.info(`KV_${bucket}`)).state.messages;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    observer = await connect({ servers: server.url });
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
    await observer?.close();
    await server?.stop();
  });

  it('keeps only each live key\'s latest message at or below the compacted revision', async () => {
    const store = await open('compaction');
    await store.create('/k/a', '1');
    await store.update('/k/a', '2');
    await store.update('/k/a', '3');
    await store.create('/k/b', 'gone');
    await store.delete('/k/b');
    await store.create('/k/c', 'kept');
    const compactAt = await store.currentRevision();
    await store.update('/k/c', 'newer');
    expect(await messagesIn('compaction')).toBe(7);
    await store.compact(compactAt);
    // a@3 and c@6 stay (c's newer message is above the compaction); b's value and delete marker go.
    expect(await messagesIn('compaction')).toBe(3);
    expect((await store.list('/k/')).items.map((kv) => [kv.key, kv.value])).toEqual([['/k/a', '3'], ['/k/c', 'newer']]);
    expect(await store.get('/k/c')).toMatchObject({ value: 'newer', createRevision: 6, modRevision: 7 });
  });

  it('lists the state as of its revision even when writes land while it reads', async () => {
    const store = await open('list-race');
    await store.create('/lr/updated', 'old');
    await store.create('/lr/deleted', 'old');
    await store.create('/lr/recreated', 'old');
    await store.create('/lr/same', 'old');
    const readRevision = store.currentRevision.bind(store);
    // list reads the revision first, then the keys: these writes fall in between, deterministically.
    store.currentRevision = async () => {
      const revision = await readRevision();
      await store.update('/lr/updated', 'new');
      await store.update('/lr/updated', 'newer');
      await store.delete('/lr/deleted');
      await store.delete('/lr/recreated');
      await store.create('/lr/recreated', 'new');
      await store.create('/lr/born', 'new');
      return revision;
    };
    const listed = await store.list('/lr/');
    store.currentRevision = readRevision;
    expect(listed.revision).toBe(4);
    expect(listed.items.map((kv) => [kv.key, kv.value, kv.modRevision])).toEqual([
      ['/lr/deleted', 'old', 2],
      ['/lr/recreated', 'old', 3],
      ['/lr/same', 'old', 4],
      ['/lr/updated', 'old', 1],
    ]);
  });

  it('lists again when a compaction removes the state it was reading', async () => {
    const store = await open('list-compacted');
    await store.create('/lc/kept', 'old');
    const readRevision = store.currentRevision.bind(store);
    store.currentRevision = async () => {
      const revision = await readRevision();
      store.currentRevision = readRevision;
      // Between reading its revision and the keys: the value as of that revision is compacted away.
      await store.update('/lc/kept', 'new');
      await store.compact(await readRevision());
      return revision;
    };
    const listed = await store.list('/lc/');
    expect(listed.items.map((kv) => [kv.key, kv.value])).toEqual([['/lc/kept', 'new']]);
    expect(listed.revision).toBe(2);
  });

  it('keeps counting revisions after compaction empties the stream', async () => {
    const store = await open('emptied');
    await store.create('/e/a', '1');
    await store.delete('/e/a');
    await store.compact(2);
    expect(await messagesIn('emptied')).toBe(0);
    expect(await store.currentRevision()).toBe(2);
    expect((await store.create('/e/a', '2')).modRevision).toBe(3);
  });

  it('fails a watch with Compacted when a compaction between its start and its first read took a delete', async () => {
    const store = await open('tombstone');
    await store.create('/t/gone', 'v');
    await store.delete('/t/gone');
    await store.create('/t/after', 'x');
    const head = await store.currentRevision();
    const readCompacted = store.compactedRevision.bind(store);
    // watch() checks the compacted revision, then starts reading: this compaction lands in between, every time.
    store.compactedRevision = async () => {
      const revision = await readCompacted();
      store.compactedRevision = readCompacted;
      await store.compact(head);
      return revision;
    };
    const recorder = await WatchRecorder.start(store, '/t/', 0);
    expect(isBerthError(await recorder.waitForError(), 'Compacted')).toBe(true);
    expect(recorder.events).toEqual([]);
  });

  it("keeps a watch's 64 fetches going while some are slow, and still delivers in order", async () => {
    const store = await open('in-flight');
    for (let i = 1; i <= 70; i++) await store.create(`/f/${i}`, String(i));
    // Fetching the events at revisions 2 and 3 takes until each is released.
    const latch = () => {
      let release!: () => void;
      return { opened: new Promise<void>((resolve) => (release = resolve)), open: () => release() };
    };
    const held = new Map([[2, latch()], [3, latch()]]);
    const fetching = new Map([[65, latch()], [66, latch()]]);
    const kv = (store as unknown as { kv: KV }).kv;
    const get = kv.get.bind(kv);
    kv.get = async (key, options) => {
      fetching.get(options?.revision ?? 0)?.open();
      await held.get(options?.revision ?? 0)?.opened;
      return get(key, options);
    };
    const started = (revision: number) => {
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve(`no fetch of revision ${revision}`), 5_000).unref());
      return Promise.race([fetching.get(revision)!.opened.then(() => `fetched ${revision}`), timeout]);
    };
    const recorder = await WatchRecorder.start(store, '/f/', 0);
    // 64 fetched, 1 delivered: one more starts beside the 63 waiting behind 2.
    expect(await started(65)).toBe('fetched 65');
    expect(recorder.events.map((e) => e.revision)).toEqual([1]);
    // 2 delivered: one more again, though 3 is still slow.
    held.get(2)!.open();
    expect(await started(66)).toBe('fetched 66');
    expect(recorder.events.map((e) => e.revision)).toEqual([1, 2]);
    held.get(3)!.open();
    const events = await recorder.waitForEvents(70);
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
    recorder.watcher.close();
  });

  it('makes a bucket made with a history limit keep every message, so watches replay all of it', async () => {
    const js = observer.jetstream();
    await js.views.kv('limited', { history: 2 });
    const store = await open('limited');
    const jsm = await observer.jetstreamManager();
    expect((await jsm.streams.info('KV_limited')).config.max_msgs_per_subject).toBe(-1);
    await store.create('/h/k', '0');
    for (let i = 1; i <= 5; i++) await store.update('/h/k', String(i));
    const recorder = await WatchRecorder.start(store, '/h/', 0);
    const events = await recorder.waitForEvents(6);
    expect(events.map((e) => e.kv.value)).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('finds its data, revision and compacted revision again from a new connection', async () => {
    const first = await open('reconnect');
    await first.create('/r/a', '1');
    const b = await first.create('/r/b', '1');
    await first.compact(b.modRevision);
    await first.close();
    const second = await open('reconnect');
    expect(await second.currentRevision()).toBe(b.modRevision);
    expect(await second.compactedRevision()).toBe(b.modRevision);
    expect(await second.get('/r/b')).toEqual(b);
    await expect(second.create('/r/a', 'x')).rejects.toMatchObject({ reason: 'AlreadyExists' });
  });
});
