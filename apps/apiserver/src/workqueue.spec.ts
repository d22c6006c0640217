import { WorkQueue } from './workqueue';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  test('a key added while processing is processed again afterwards, once', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const done = deferred();
    const queue = new WorkQueue(async (key) => {
      seen.push(key);
      if (seen.length === 1) await gate.promise;
      if (seen.length === 2) done.resolve();
      return 'done';
    }, () => undefined);
    queue.add('a');
    queue.add('a');
    await Promise.resolve();
    queue.add('a');
    queue.add('a');
    gate.resolve();
    await done.promise;
    queue.stop();
    expect(seen).toEqual(['a', 'a']);
  });

  test('failures and requeues retry with backoff until done', async () => {
    let attempts = 0;
    const errors: unknown[] = [];
    const done = deferred();
    const queue = new WorkQueue(
      async () => {
        attempts++;
        if (attempts === 1) throw new Error('boom');
        if (attempts === 2) return 'requeue';
        done.resolve();
        return 'done';
      },
      (_key, err) => errors.push(err),
      { workers: 1, baseDelayMs: 1, maxDelayMs: 5 },
    );
    queue.add('k');
    await done.promise;
    queue.stop();
    expect(attempts).toBe(3);
    expect(errors).toHaveLength(1);
  });
});
