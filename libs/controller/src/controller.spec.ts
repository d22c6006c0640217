import { errors } from '@berth/errors';
import { waitFor } from '@berth/testing';
import { runController, type RunningController } from './controller';
import { enqueueObject, enqueueOwner, ownerKeys } from './handlers';
import { Informer } from './informer';
import { MemoryListWatch } from './memory-list-watch';
import { ExponentialFailureRateLimiter, type RateLimiter } from './rate-limiter';
import { pod, PodStore, PREFIX, silentLogger } from './spec-helpers';
import { WorkQueue } from './workqueue';

/** Records the delays the queue asks for, so back-off growth is checked without timing anything. */
function recordingLimiter(): RateLimiter<string> & { delays: number[] } {
  const inner = new ExponentialFailureRateLimiter<string>(1, 1000);
  const delays: number[] = [];
  return {
    delays,
    when: (key) => {
      const delay = inner.when(key);
      delays.push(delay);
      return delay;
    },
    forget: (key) => inner.forget(key),
    numRequeues: (key) => inner.numRequeues(key),
  };
}

describe('runController', () => {
  const running: RunningController[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });

  it('retries a failing reconcile with growing delays, then forgets the key once it succeeds', async () => {
    const limiter = recordingLimiter();
    const queue = new WorkQueue<string>({ rateLimiter: limiter });
    let attempts = 0;
    const succeeded: number[] = [];
    running.push(
      runController({
        name: 'flaky',
        queue,
        logger: silentLogger,
        reconcile: async () => {
          if (++attempts <= 4) throw errors.unavailable('not yet');
          succeeded.push(attempts);
        },
      }),
    );
    queue.add('default/a');
    await waitFor(() => succeeded.length === 1);
    expect(limiter.delays).toEqual([1, 2, 4, 8]);
    expect(queue.numRequeues('default/a')).toBe(0);
  });

  it('requeues a key after requeueAfter even without a change', async () => {
    const queue = new WorkQueue<string>();
    const seen: string[] = [];
    running.push(
      runController({
        name: 'periodic',
        queue,
        logger: silentLogger,
        reconcile: async (key) => {
          seen.push(key);
          return seen.length < 3 ? { requeueAfter: 1 } : undefined;
        },
      }),
    );
    queue.add('k');
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual(['k', 'k', 'k']);
  });

  it('runs keys in parallel across workers but never one key twice at once', async () => {
    const queue = new WorkQueue<string>();
    const active = new Map<string, number>();
    let maxSameKey = 0;
    let maxTotal = 0;
    const gates: Array<() => void> = [];
    let processed = 0;
    running.push(
      runController({
        name: 'parallel',
        queue,
        workers: 3,
        logger: silentLogger,
        reconcile: async (key) => {
          active.set(key, (active.get(key) ?? 0) + 1);
          maxSameKey = Math.max(maxSameKey, active.get(key)!);
          maxTotal = Math.max(maxTotal, [...active.values()].reduce((a, b) => a + b, 0));
          await new Promise<void>((resolve) => gates.push(resolve));
          active.set(key, active.get(key)! - 1);
          processed++;
        },
      }),
    );
    queue.add('a');
    queue.add('b');
    await waitFor(() => gates.length === 2);
    queue.add('a');
    await new Promise((resolve) => setImmediate(resolve));
    expect(gates).toHaveLength(2);
    gates.splice(0).forEach((open) => open());
    await waitFor(() => gates.length === 1);
    gates.splice(0).forEach((open) => open());
    await waitFor(() => processed === 3);
    expect(maxSameKey).toBe(1);
    expect(maxTotal).toBe(2);
  });

  it('stops cleanly: waits for the reconcile in flight and runs nothing afterwards', async () => {
    const queue = new WorkQueue<string>();
    let release!: () => void;
    let finished = false;
    const calls: string[] = [];
    const controller = runController({
      name: 'stopping',
      queue,
      logger: silentLogger,
      reconcile: async (key) => {
        calls.push(key);
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      },
    });
    queue.add('a');
    await waitFor(() => calls.length === 1);
    let stopped = false;
    const stopping = controller.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    queue.add('b');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['a']);
  });

  it('starts workers only after the informers it waits for have synced', async () => {
    const pods = new PodStore();
    const informer = new Informer(new MemoryListWatch(pods.store, { prefix: PREFIX }), { logger: silentLogger });
    try {
      await pods.put(pod('a'));
      const queue = new WorkQueue<string>();
      informer.addEventHandler(enqueueObject(queue));
      const cacheSizes: number[] = [];
      running.push(
        runController({
          name: 'synced',
          queue,
          logger: silentLogger,
          waitFor: [informer],
          reconcile: async () => {
            cacheSizes.push(informer.list().length);
          },
        }),
      );
      queue.add('default/early');
      informer.start();
      await waitFor(() => cacheSizes.length === 2);
      expect(cacheSizes).toEqual([1, 1]);
    } finally {
      await informer.stop();
      await pods.store.close();
    }
  });
});

describe('event handlers that map objects to keys', () => {
  const rs = (name: string, controller = true) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: `uid-${name}`, controller });

  it('finds owners by kind, controller only unless asked otherwise', () => {
    const obj = pod('p', { namespace: 'ns', owners: [rs('one'), rs('two', false), { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u' }] });
    expect(ownerKeys(obj, { kind: 'ReplicaSet' })).toEqual(['ns/one']);
    expect(ownerKeys(obj, { kind: 'ReplicaSet', controllerOnly: false })).toEqual(['ns/one', 'ns/two']);
    expect(ownerKeys(obj, { kind: 'ReplicaSet', apiVersion: 'extensions/v1beta1' })).toEqual([]);
    expect(ownerKeys(obj, { kind: 'Node', controllerOnly: false, clusterScoped: true })).toEqual(['n1']);
  });

  it('enqueues the object itself, or its old and new owners on update', () => {
    const keys: string[] = [];
    const queue = { add: (key: string) => keys.push(key) };
    enqueueObject(queue).onDelete!(pod('p'));
    const before = pod('p', { owners: [rs('old')] });
    const after = pod('p', { owners: [rs('new')] });
    enqueueOwner(queue, 'ReplicaSet').onUpdate!(before, after);
    enqueueOwner(queue, 'ReplicaSet').onUpdate!(after, after);
    expect(keys).toEqual(['default/p', 'default/old', 'default/new', 'default/new']);
  });
});
