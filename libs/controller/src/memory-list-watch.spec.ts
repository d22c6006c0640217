import type { KubeObject } from '@berth/api';
import { waitFor } from '@berth/testing';
import type { ListWatchEvent } from './list-watch';
import { memoryListWatch } from './memory-list-watch';
import { pod, PodStore, PREFIX } from './spec-helpers';

describe('memoryListWatch', () => {
  let pods: PodStore;
  beforeEach(() => (pods = new PodStore()));
  afterEach(() => pods.store.close());

  function collect(): { events: Array<[string, string, string]>; handler: Parameters<ReturnType<typeof memoryListWatch>['watch']>[1] } {
    const events: Array<[string, string, string]> = [];
    return {
      events,
      handler: {
        onEvent: (e: ListWatchEvent<KubeObject>) => events.push([e.type, e.object.metadata.name ?? '', e.object.metadata.resourceVersion!]),
        onError: (err) => events.push(['ERROR', err.message, '']),
        onClose: () => events.push(['CLOSED', '', '']),
      },
    };
  }

  it('lists at the store revision and watches from it, resourceVersion = modRevision', async () => {
    await pods.put(pod('a'));
    await pods.store.create('/registry/nodes/n1', JSON.stringify({ metadata: { name: 'n1' } }));
    const lw = memoryListWatch(pods.store, { prefix: PREFIX });
    const listed = await lw.list();
    expect(listed.resourceVersion).toBe('2');
    expect(listed.items.map((p) => [p.metadata.name, p.metadata.resourceVersion])).toEqual([['a', '1']]);

    const { events, handler } = collect();
    const watch = await lw.watch(listed.resourceVersion, handler);
    await pods.put(pod('a', { image: 'nginx' }));
    await pods.remove(pod('a'));
    await waitFor(() => events.length === 2);
    expect(events).toEqual([['MODIFIED', 'a', '3'], ['DELETED', 'a', '4']]);
    lw.endWatches();
    expect(events[2]).toEqual(['CLOSED', '', '']);
    watch.close();
  });

  it('turns objects entering and leaving a label selector into ADDED and DELETED', async () => {
    const lw = memoryListWatch(pods.store, { prefix: PREFIX, labelSelector: 'app=web' });
    const { events, handler } = collect();
    const watch = await lw.watch('0', handler);
    await pods.put(pod('a', { labels: { app: 'db' } }));
    await pods.put(pod('a', { labels: { app: 'web' } }));
    await pods.put(pod('a', { labels: { app: 'web', tier: 'x' } }));
    await pods.put(pod('a', { labels: { app: 'db' } }));
    await pods.remove(pod('a'));
    await waitFor(() => events.length === 3);
    expect(events).toEqual([['ADDED', 'a', '2'], ['MODIFIED', 'a', '3'], ['DELETED', 'a', '4']]);
    watch.close();
  });

  it('rejects a watch from a compacted resourceVersion with Compacted', async () => {
    await pods.put(pod('a'));
    await pods.put(pod('a', { image: 'nginx' }));
    await pods.compactAll();
    const lw = memoryListWatch(pods.store, { prefix: PREFIX });
    await expect(lw.watch('1', collect().handler)).rejects.toMatchObject({ reason: 'Compacted' });
  });
});
