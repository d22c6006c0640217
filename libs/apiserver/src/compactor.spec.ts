import { createStore, MemoryStore, type Store } from '@berth/store';
import { startNatsCluster, type TestNatsCluster } from '@berth/testing';
import pino from 'pino';
import { Compactor } from './compactor';

const silent = pino({ level: 'silent' });

test('compacts to the revision seen the configured number of intervals earlier', async () => {
  const store = new MemoryStore();
  const compactor = new Compactor(store, silent, 60_000, 2);
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    await store.create(`/k/${i}`, 'v');
    seen.push(await store.currentRevision());
    await compactor.tick();
  }
  // After 4 ticks with a window of 2, the revisions of the first two ticks are gone.
  expect(await store.compactedRevision()).toBe(seen[1]);
  await store.close();
});

describe('two servers compacting one NATS store', () => {
  let cluster: TestNatsCluster;
  const stores: Store[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 120_000);

  afterAll(async () => {
    for (const store of stores) await store.close();
    await cluster?.stop();
  });

  /** Two connections to one bucket, through different NATS nodes, as two servers have. */
  async function twoServers(bucket: string): Promise<[Store, Store]> {
    const [a, b] = await Promise.all([0, 1].map((i) => createStore(`${cluster.nodes[i]!.url}?bucket=${bucket}`, { replicas: 3 })));
    stores.push(a!, b!);
    return [a!, b!];
  }

  it('takes one turn per interval: one server compacts, and the other takes over when it stops', async () => {
    const [storeA, storeB] = await twoServers('compactor_turns');
    const a = new Compactor(storeA, silent, 60_000, 1);
    const b = new Compactor(storeB, silent, 60_000, 1);
    const compacted: number[] = [];
    for (let round = 0; round < 4; round++) {
      await storeA.create(`/k/${round}`, 'v');
      // Both servers tick in the same interval: exactly one compacts (none in the first, which has no window yet).
      const results = [await a.tick(), await b.tick()];
      expect(results.filter(Boolean).length).toBe(round === 0 ? 0 : 1);
      compacted.push(await storeB.compactedRevision());
    }
    // A, the first to tick, kept its turn; the compacted revision only ever moved forward.
    expect(compacted).toEqual([...compacted].sort((x, y) => x - y));
    expect(compacted[3]).toBeGreaterThan(compacted[1]!);
    // A stops: B wins the next interval it ticks in.
    await storeB.create('/k/after', 'v');
    expect(await b.tick()).toBe(true);
    expect(await storeA.compactedRevision()).toBeGreaterThan(compacted[3]!);
  }, 60_000);

  it('never moves the compacted revision back when two servers compact at once', async () => {
    const [storeA, storeB] = await twoServers('compact_cas');
    for (let i = 0; i < 20; i++) await storeA.create(`/k/${i}`, 'v');
    const high = await storeA.currentRevision();
    let last = 0;
    for (let low = 2; low + 2 <= high; low += 4) {
      // The server with the lower revision writes its record last, had it read the old one first.
      await Promise.all([storeA.compact(low + 2), storeB.compact(low)]);
      last = low + 2;
      expect(await storeA.compactedRevision()).toBe(last);
    }
    await storeB.compact(1);
    expect(await storeB.compactedRevision()).toBe(last);
  }, 60_000);
});
