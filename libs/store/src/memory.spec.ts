import { MemoryStore } from './memory';

describe('MemoryStore', () => {
  it('gives every write the next store revision and rejects a stale CAS', async () => {
    const store = new MemoryStore();
    const a = await store.create('/a', '1');
    const b = await store.update('/a', '2', a.modRevision);
    expect(b.modRevision).toBe(a.modRevision + 1);
    await expect(store.update('/a', '3', a.modRevision)).rejects.toMatchObject({ reason: 'Conflict' });
  });
});
