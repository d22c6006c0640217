// The NATS store's replica count against a real nats-server: a bucket keeps the count it was made with.
import { isBerthError } from '@berth/errors';
import { startNatsServer, type TestNatsServer } from '@berth/testing';
import { createStore } from './create-store';

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
