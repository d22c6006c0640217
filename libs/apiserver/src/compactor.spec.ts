import { MemoryStore } from '@berth/store';
import pino from 'pino';
import { Compactor } from './compactor';

test('compacts to the revision seen the configured number of intervals earlier', async () => {
  const store = new MemoryStore();
  const compactor = new Compactor(store, pino({ level: 'silent' }), 60_000, 2);
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
