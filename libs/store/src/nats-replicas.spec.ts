// The NATS store's replica count against a real nats-server: a bucket keeps the count it was made with.
import { isBerthError } from '@berth/errors';
import { startNatsCluster, startNatsServer, waitFor, type TestNatsCluster, type TestNatsServer } from '@berth/testing';
import { createStore } from './create-store';
import type { NatsStore } from './nats';

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

describe('a growing store (an embedded cluster: --store-replicas is a goal)', () => {
  let cluster: TestNatsCluster | undefined;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  test('takes a bucket with fewer replicas as it is, then raises it one replica at a time to the goal', async () => {
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
});
