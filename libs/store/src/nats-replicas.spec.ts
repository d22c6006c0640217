// The NATS store's replica count against a real nats-server: a bucket keeps the count it was made with.
import { isBerthError } from '@berth/errors';
import { startNatsCluster, startNatsServer, waitFor, type TestNatsCluster, type TestNatsServer } from '@berth/testing';
import { createStore } from './create-store';
import type { NatsStore } from './nats';
import type { Store, WatchEvent } from './store';

let nats: TestNatsServer | undefined;

beforeAll(async () => {
  nats = await startNatsServer();
});

afterAll(async () => {
  await nats?.stop();
});

test('a bucket that exists with another replica count is refused with one line naming both', async () => {
  const store = await createStore(`${nats!.url}?bucket=replicas_test`, { replicas: 1 });
  await store.create('/a', 'x');
  await store.close();
  let caught: unknown;
  try {
    const other = await createStore(`${nats!.url}?bucket=replicas_test`, { replicas: 3 });
    await other.close();
  } catch (err) {
    caught = err;
  }
  expect(isBerthError(caught, 'BadRequest')).toBe(true);
  expect((caught as Error).message).toMatch(/^NATS KV bucket replicas_test exists with 1 replica\(s\), not the 3 asked for: use --store-replicas 1/);
  expect((caught as Error).message).not.toContain('\n');
  const again = await createStore(`${nats!.url}?bucket=replicas_test`, { replicas: 1 });
  expect((await again.get('/a'))?.value).toBe('x');
  await again.close();
});

test('the flag and the URL must agree on the replica count', async () => {
  await expect(createStore(`${nats!.url}?bucket=b&replicas=2`, { replicas: 3 })).rejects.toThrow('replicas=2 but --store-replicas 3');
});

describe('on a three-node NATS cluster', () => {
  let cluster: TestNatsCluster | undefined;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  test('a growing store (an embedded cluster: --store-replicas is a goal) takes a bucket with fewer replicas as it is, then raises it one replica at a time to the goal', async () => {
    const small = await createStore(`${cluster!.url}?bucket=grow_test`, { replicas: 1 });
    await small.create('/kept', 'v');
    await small.close();
    const growing = (await createStore(`${cluster!.url}?bucket=grow_test`, { replicas: 3, growReplicas: true })) as NatsStore;
    try {
      expect((await growing.get('/kept'))?.value).toBe('v');
      await waitFor(async () => (await growing.replicaCounts()).every((n) => n === 3) || undefined, 40_000, 'both buckets at 3 replicas');
      expect((await growing.get('/kept'))?.value).toBe('v');
    } finally {
      await growing.close();
    }
  }, 90_000);

  test('a list reads from the stream leader: with a follower frozen it lists every acknowledged key, every time', async () => {
    const writer = await createStore(`${cluster!.url}?bucket=frozen_list`, { replicas: 3 });
    const { connect } = await import('nats');
    const nc = await connect({ servers: cluster!.url.slice('nats://'.length).split(',') });
    let frozen: TestNatsCluster['nodes'][number] | undefined;
    let reader: Store | undefined;
    try {
      for (const name of ['a', 'b', 'c']) await writer.create(`/frozen/${name}`, name);
      const { cluster: placement } = await (await nc.jetstreamManager()).streams.info('KV_frozen_list');
      frozen = cluster!.nodes.find((n) => n.name === placement!.replicas![0]!.name)!;
      // The reader talks to a node that keeps answering; a KV watch's consumer may still be placed on the frozen one.
      reader = await createStore(`${cluster!.nodes.find((n) => n !== frozen)!.url}?bucket=frozen_list`, { replicas: 3 });
      frozen.freeze();
      await reader.create('/frozen/d', 'd');
      for (let i = 0; i < 8; i++) expect((await reader.list('/frozen/')).items.map((kv) => kv.value)).toEqual(['a', 'b', 'c', 'd']);
    } finally {
      frozen?.thaw();
      await reader?.close();
      await writer.close();
      await nc.close();
    }
  }, 120_000);
  test('concurrent compare-and-swaps of one key from several clients: each acknowledged once, in one chain (nats-server#4320)', async () => {
    const clients: Store[] = [];
    try {
      for (let i = 0; i < 4; i++) clients.push(await createStore(`${cluster!.url}?bucket=cas_race`, { replicas: 3 }));
      await clients[0]!.create('/hammer', 'start');
      /** Every update a client was told succeeded: its revision, the revision it expected, its value. */
      const acknowledged: Array<{ revision: number; expected: number; value: string }> = [];
      await Promise.all(
        clients.map(async (client, c) => {
          for (let round = 0; round < 40; round++) {
            const current = (await client.get('/hammer'))!;
            const value = `c${c}-r${round}`;
            try {
              const written = await client.update('/hammer', value, current.modRevision);
              acknowledged.push({ revision: written.modRevision, expected: current.modRevision, value });
            } catch (err) {
              if (!isBerthError(err, 'Conflict')) throw err;
            }
          }
        }),
      );
      const expectedOnce = acknowledged.map((a) => a.expected);
      expect(new Set(expectedOnce).size).toBe(expectedOnce.length);
      // The key's history as a watch from the start delivers it, up to the newest acknowledged update.
      const last = Math.max(...acknowledged.map((a) => a.revision));
      const events: WatchEvent[] = [];
      await new Promise<void>((resolve, reject) => {
        void clients[1]!.watch('/hammer', 0, {
          onEvent: (event) => {
            events.push(event);
            if (event.revision >= last) resolve();
          },
          onError: reject,
        });
        setTimeout(() => reject(new Error(`history incomplete: ${events.length} events`)), 20_000);
      });
      const history = events.filter((e) => e.revision <= last);
      // One chain: each event's previous value is the event before it.
      history.slice(1).forEach((event, i) => expect(event.prevKv?.modRevision).toBe(history[i]!.revision));
      for (const a of acknowledged) {
        expect(history.filter((e) => e.revision === a.revision).map((e) => [e.kv.value, e.prevKv?.modRevision])).toEqual([[a.value, a.expected]]);
      }
      expect(acknowledged.length).toBeGreaterThan(0);
      expect((await clients[2]!.get('/hammer'))?.modRevision).toBe(history.at(-1)!.revision);
    } finally {
      for (const client of clients) await client.close();
    }
  }, 120_000);
});
