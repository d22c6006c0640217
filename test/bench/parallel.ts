/** Runs fn over 0..count-1 with at most `parallel` calls in flight. */
export async function inParallel(count: number, parallel: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}
