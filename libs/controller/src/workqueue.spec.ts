import { BucketRateLimiter, defaultControllerRateLimiter, ExponentialFailureRateLimiter, MaxOfRateLimiter } from './rate-limiter';
import { WorkQueue } from './workqueue';

describe('WorkQueue', () => {
  const queues: WorkQueue<string>[] = [];
  function newQueue(): WorkQueue<string> {
    const queue = new WorkQueue<string>({ rateLimiter: new ExponentialFailureRateLimiter(1, 50) });
    queues.push(queue);
    return queue;
  }
  afterEach(() => queues.splice(0).forEach((q) => q.shutDown()));

  it('holds a key once however often it is added while waiting, in FIFO order', async () => {
    const queue = newQueue();
    for (const key of ['a', 'b', 'a', 'c', 'b']) queue.add(key);
    expect(queue.length).toBe(3);
    expect([await queue.get(), await queue.get(), await queue.get()]).toEqual(['a', 'b', 'c']);
  });

  it('never hands out a key that is being processed; a re-add is queued again after done', async () => {
    const queue = newQueue();
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(await queue.get()).toBe('b');
    expect(queue.length).toBe(0);

    let second: string | undefined;
    const waiting = queue.get().then((key) => (second = key));
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBeUndefined();
    queue.done(first!);
    await waiting;
    expect(second).toBe('a');
    queue.done('a');
    queue.done('b');
    expect(queue.length).toBe(0);
  });

  it('adds a key after a delay, keeping the earliest of several delays', async () => {
    const queue = newQueue();
    queue.addAfter('slow', 60_000);
    queue.addAfter('slow', 5);
    queue.addAfter('slow', 60_000);
    expect(queue.length).toBe(0);
    expect(await queue.get()).toBe('slow');
  });

  it('backs a failing key off exponentially and forgets its failures on success', () => {
    const limiter = new ExponentialFailureRateLimiter<string>(5, 1000_000);
    expect([1, 2, 3, 4, 5].map(() => limiter.when('a'))).toEqual([5, 10, 20, 40, 80]);
    expect(limiter.when('b')).toBe(5);
    expect(limiter.numRequeues('a')).toBe(5);
    for (let i = 0; i < 100; i++) limiter.when('a');
    expect(limiter.when('a')).toBe(1000_000);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
    expect(limiter.when('a')).toBe(5);
  });

  it('limits retries overall with a token bucket, combined by the default limiter', () => {
    let now = 0;
    const bucket = new BucketRateLimiter<string>(10, 2, () => now);
    expect([bucket.when('a'), bucket.when('b')]).toEqual([0, 0]);
    expect(bucket.when('c')).toBe(100);
    expect(bucket.when('d')).toBe(200);
    now = 1000;
    expect(bucket.when('e')).toBe(0);

    const combined = new MaxOfRateLimiter<string>(new ExponentialFailureRateLimiter(5, 1000), new BucketRateLimiter(1, 1, () => now));
    expect(combined.when('a')).toBe(5);
    expect(combined.when('a')).toBe(1000);
    expect(combined.numRequeues('a')).toBe(2);
    combined.forget('a');
    expect(combined.numRequeues('a')).toBe(0);

    const standard = defaultControllerRateLimiter<string>();
    expect([standard.when('x'), standard.when('x'), standard.when('x')]).toEqual([5, 10, 20]);
  });

  it('addRateLimited counts the failures of a key until it is forgotten', async () => {
    const queue = newQueue();
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    expect(queue.numRequeues('a')).toBe(2);
    expect(await queue.get()).toBe('a');
    queue.forget('a');
    expect(queue.numRequeues('a')).toBe(0);
  });

  it('shuts down: refuses new keys, drops delayed ones, still hands out queued ones, then undefined', async () => {
    const queue = newQueue();
    queue.add('a');
    queue.add('b');
    queue.addAfter('later', 1);
    const inFlight = await queue.get();
    let drained = false;
    const drain = queue.shutDownWithDrain().then(() => (drained = true));
    queue.add('c');
    expect(await queue.get()).toBe('b');
    expect(await queue.get()).toBeUndefined();
    queue.done('b');
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    queue.done(inFlight!);
    await drain;
    // Long enough for the dropped delayed key to have fired had it been kept.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(queue.length).toBe(0);
  });

  it('wakes every waiting getter with undefined on shutdown', async () => {
    const queue = newQueue();
    const getters = [queue.get(), queue.get()];
    queue.shutDown();
    await expect(Promise.all(getters)).resolves.toEqual([undefined, undefined]);
    expect(queue.isShuttingDown).toBe(true);
  });
});
