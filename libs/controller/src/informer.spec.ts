import type { KubeObject } from '@berth/api';
import { errors } from '@berth/errors';
import { waitFor } from '@berth/testing';
import { LABEL_INDEX, NAMESPACE_INDEX, OWNER_UID_INDEX } from './cache';
import { Informer, isResourceExpired, type InformerOptions } from './informer';
import type { ListWatch } from './list-watch';
import { MemoryListWatch } from './memory-list-watch';
import { pod, PodStore, PREFIX, recorder, silentLogger } from './spec-helpers';

describe('Informer', () => {
  let pods: PodStore;
  let listWatch: MemoryListWatch;
  let informer: Informer<KubeObject>;
  const started: Informer<KubeObject>[] = [];

  function startInformer(options: InformerOptions<KubeObject> = {}, source: ListWatch<KubeObject> = listWatch): Informer<KubeObject> {
    const created = new Informer<KubeObject>(source, { logger: silentLogger, retryInitialMs: 1, retryMaxMs: 10, ...options });
    started.push(created);
    created.start();
    return created;
  }

  beforeEach(() => {
    pods = new PodStore();
    listWatch = new MemoryListWatch(pods.store, { prefix: PREFIX });
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((i) => i.stop()));
    await pods.store.close();
  });

  it('syncs from the list and then delivers adds, updates and deletes from the watch', async () => {
    await pods.put(pod('a'));
    informer = startInformer();
    const { events, handler } = recorder();
    informer.addEventHandler(handler);
    await informer.waitForSync(5000);
    expect(informer.hasSynced()).toBe(true);
    expect(events).toEqual([['add', 'a']]);

    await pods.put(pod('b'));
    await pods.put(pod('a', { image: 'nginx' }));
    await pods.remove(pod('b'));
    await waitFor(() => events.length === 4);
    expect(events).toEqual([['add', 'a'], ['add', 'b'], ['update', 'a', '1', '3'], ['delete', 'b']]);
    expect(informer.list().map((p) => p.metadata.name)).toEqual(['a']);
    expect((informer.get('default/a')!.spec as { containers: { image: string }[] }).containers[0].image).toBe('nginx');
    expect(informer.resourceVersion).toBe('4');
  });

  it('replays the cache to a handler added after sync', async () => {
    await pods.put(pod('a'));
    await pods.put(pod('b'));
    informer = startInformer();
    await informer.waitForSync(5000);
    const { events, handler } = recorder();
    informer.addEventHandler(handler);
    expect(events).toEqual([['add', 'a'], ['add', 'b']]);
  });

  it('keeps the namespace, owner, label and custom indices in step with changes', async () => {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-uid', controller: true };
    await pods.put(pod('a', { nodeName: 'n1', labels: { app: 'web' }, owners: [owner] }));
    await pods.put(pod('b', { nodeName: 'n2', labels: { app: 'web' }, namespace: 'other' }));
    informer = startInformer({
      indexers: { nodeName: (p) => [(p.spec as { nodeName?: string }).nodeName ?? ''].filter(Boolean) },
    });
    await informer.waitForSync(5000);
    const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();
    expect(names(informer.byIndex(NAMESPACE_INDEX, 'other'))).toEqual(['b']);
    expect(names(informer.byIndex(OWNER_UID_INDEX, 'rs-uid'))).toEqual(['a']);
    expect(names(informer.byIndex(LABEL_INDEX, 'app=web'))).toEqual(['a', 'b']);
    expect(names(informer.byIndex('nodeName', 'n1'))).toEqual(['a']);

    await pods.put(pod('a', { nodeName: 'n2', labels: { app: 'db' } }));
    await waitFor(() => informer.byIndex('nodeName', 'n1').length === 0);
    expect(names(informer.byIndex('nodeName', 'n2'))).toEqual(['a', 'b']);
    expect(names(informer.byIndex(LABEL_INDEX, 'app=web'))).toEqual(['b']);
    expect(informer.byIndex(OWNER_UID_INDEX, 'rs-uid')).toEqual([]);

    informer.addIndexers({ image: (p) => [(p.spec as { containers: { image: string }[] }).containers[0].image] });
    expect(names(informer.byIndex('image', 'busybox'))).toEqual(['a', 'b']);
    expect(() => informer.byIndex('missing', 'x')).toThrow(expect.objectContaining({ reason: 'NotFound' }));
  });

  it('re-watches from the last resourceVersion when the server ends the watch', async () => {
    informer = startInformer();
    const { events, handler } = recorder();
    informer.addEventHandler(handler);
    await informer.waitForSync(5000);
    const list = jest.spyOn(listWatch, 'list');

    await waitFor(() => listWatch.openWatches === 1);
    listWatch.endWatches();
    await pods.put(pod('a'));
    await waitFor(() => events.length === 1);
    expect(events).toEqual([['add', 'a']]);
    expect(listWatch.watchCount).toBe(2);

    await waitFor(() => listWatch.openWatches === 1);
    listWatch.failWatches(errors.unavailable('connection reset'));
    await pods.put(pod('b'));
    await waitFor(() => events.length === 2);
    expect(events[1]).toEqual(['add', 'b']);
    expect(list).not.toHaveBeenCalled();
  });

  it('tells watch listeners when its watch opens and ends, starting with the state it is in', async () => {
    informer = startInformer();
    const states: boolean[] = [];
    informer.addWatchListener((watching) => states.push(watching));
    await waitFor(() => listWatch.openWatches === 1);
    expect(states).toEqual([false, true]);
    listWatch.failWatches(errors.unavailable('connection reset'));
    await waitFor(() => listWatch.openWatches === 1);
    expect(states).toEqual([false, true, false, true]);
    const late: boolean[] = [];
    informer.addWatchListener((watching) => late.push(watching));
    expect(late).toEqual([true]);
  });

  it('advances its resourceVersion on bookmarks, so a re-watch after compaction needs no relist', async () => {
    const quiet = new MemoryListWatch(pods.store, { prefix: '/registry/nodes/' });
    informer = startInformer({}, quiet);
    await informer.waitForSync(5000);
    await waitFor(() => quiet.openWatches === 1);
    const list = jest.spyOn(quiet, 'list');
    // Writes elsewhere in the store move the revision on without this informer seeing an event.
    await pods.put(pod('a'));
    await pods.remove(pod('a'));

    const bookmarked = await quiet.bookmark();
    expect(bookmarked).toBe('2');
    await waitFor(() => informer.resourceVersion === bookmarked);
    await pods.compactAll();
    quiet.endWatches();
    await waitFor(() => quiet.watchCount === 2);
    expect(list).not.toHaveBeenCalled();
  });

  it('relists after a Compacted error and hands the differences to the handlers', async () => {
    for (const name of ['a', 'b', 'c']) await pods.put(pod(name));
    informer = startInformer();
    const { events, handler } = recorder();
    informer.addEventHandler(handler);
    await informer.waitForSync(5000);
    events.length = 0;

    await waitFor(() => listWatch.openWatches === 1);
    const release = listWatch.holdWatches();
    try {
      listWatch.endWatches();
      await pods.put(pod('a', { image: 'nginx' }));
      await pods.remove(pod('b'));
      await pods.put(pod('d'));
      await pods.compactAll();
    } finally {
      release();
    }
    await waitFor(() => events.length === 3);
    expect(events.sort()).toEqual([['add', 'd'], ['delete', 'b'], ['update', 'a', '1', '4']]);
    expect(informer.list().map((p) => p.metadata.name).sort()).toEqual(['a', 'c', 'd']);
    expect(informer.resourceVersion).toBe('6');

    // The relisted informer watches on from the new list.
    await pods.remove(pod('c'));
    await waitFor(() => events.length === 4);
    expect(events[3]).toEqual(['delete', 'c']);
  });

  it('relists on every HTTP-410-shaped watch failure until a watch holds', async () => {
    let refusals = 0;
    const expiring: ListWatch<KubeObject> = {
      list: jest.fn(() => listWatch.list()),
      watch: (rv, h) => (++refusals <= 2 ? Promise.reject(Object.assign(new Error('Expired'), { code: 410 })) : listWatch.watch(rv, h)),
    };
    informer = startInformer({}, expiring);
    await informer.waitForSync(5000);
    await pods.put(pod('a'));
    await waitFor(() => informer.get('default/a'));
    expect(expiring.list).toHaveBeenCalledTimes(3);
  });

  it('re-delivers every cached object as an update on each resync period', async () => {
    await pods.put(pod('a'));
    informer = startInformer({ resyncPeriodMs: 10 });
    const { events, handler } = recorder();
    informer.addEventHandler(handler);
    await waitFor(() => events.some(([type]) => type === 'update'));
    expect(events[0]).toEqual(['add', 'a']);
    expect(events[1]).toEqual(['update', 'a', '1', '1']);
  });

  it('retries failing lists with back-off and reports sync once one succeeds', async () => {
    let failures = 0;
    const flaky: ListWatch<KubeObject> = {
      list: () => (++failures <= 3 ? Promise.reject(errors.unavailable('apiserver down')) : listWatch.list()),
      watch: (rv, h) => listWatch.watch(rv, h),
    };
    await pods.put(pod('a'));
    informer = startInformer({}, flaky);
    await informer.waitForSync(5000);
    expect(failures).toBe(4);
    expect(informer.list()).toHaveLength(1);
  });

  it('keeps delivering to other handlers when one throws', async () => {
    informer = startInformer();
    const { events, handler } = recorder();
    informer.addEventHandler({ onAdd: () => { throw new Error('handler bug'); } });
    informer.addEventHandler(handler);
    await informer.waitForSync(5000);
    await pods.put(pod('a'));
    await waitFor(() => events.length === 1);
    expect(informer.get('default/a')).toBeDefined();
  });

  it('stops: waiters for a sync that never came are rejected and no handler runs afterwards', async () => {
    const neverLists: ListWatch<KubeObject> = {
      list: () => Promise.reject(errors.unavailable('apiserver down')),
      watch: () => Promise.reject(errors.unavailable('apiserver down')),
    };
    const stuck = startInformer({}, neverLists);
    const sync = stuck.waitForSync();
    await stuck.stop();
    await expect(sync).rejects.toMatchObject({ reason: 'ServiceUnavailable' });
    await expect(stuck.waitForSync(10)).rejects.toMatchObject({ reason: 'ServiceUnavailable' });

    informer = startInformer();
    const { events, handler } = recorder();
    informer.addEventHandler(handler);
    await informer.waitForSync(5000);
    await informer.stop();
    await pods.put(pod('late'));
    await pods.store.currentRevision();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
  });

  it('recognises the shapes of a too-old resourceVersion', () => {
    expect(isResourceExpired(errors.compacted(1, 5))).toBe(true);
    expect(isResourceExpired(errors.gone('expired'))).toBe(true);
    expect(isResourceExpired({ code: 410 })).toBe(true);
    expect(isResourceExpired({ statusCode: 410 })).toBe(true);
    expect(isResourceExpired({ body: { reason: 'Expired' } })).toBe(true);
    expect(isResourceExpired(errors.unavailable('down'))).toBe(false);
    expect(isResourceExpired({ code: 'ECONNRESET' })).toBe(false);
  });
});
