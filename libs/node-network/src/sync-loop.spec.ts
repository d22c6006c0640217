import { type KubeObject, type Node, resourceForKind } from '@berth/api';
import { memoryListWatch, SharedInformerFactory } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import { MemoryStore } from '@berth/store';
import pino from 'pino';
import { node } from './spec-helpers';
import { startSyncLoop, type SyncLoop } from './sync-loop';

const logger = pino({ level: 'silent' });
const PREFIX = '/registry/minions/';

describe('startSyncLoop', () => {
  let store: MemoryStore;
  let factory: SharedInformerFactory;
  let loop: SyncLoop | undefined;

  const put = async (obj: Node) => {
    const key = `${PREFIX}${obj.metadata.name}`;
    if (await store.get(key)) await store.update(key, JSON.stringify(obj));
    else await store.create(key, JSON.stringify(obj));
  };

  beforeEach(() => {
    store = new MemoryStore();
    factory = new SharedInformerFactory({ listWatchFor: () => memoryListWatch<KubeObject>(store, { prefix: PREFIX }), logger });
  });

  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
  });

  const nodesInformer = () => factory.informerFor<Node>({ resource: resourceForKind('v1', 'Node')! });

  function start(sync: () => Promise<void>): SyncLoop {
    loop = startSyncLoop({ name: 'test', informers: factory, watch: [{ informer: nodesInformer() }], logger, debounceMs: 20, resyncMs: 60_000, sync });
    return loop;
  }

  test('syncs once the caches are filled; a burst of events costs fewer syncs than events', async () => {
    await put(node('n1', '10.244.1.0/24'));
    const seen: number[] = [];
    const nodes = nodesInformer();
    const running = start(async () => {
      seen.push(nodes.list().length);
    });
    await running.synced;
    expect(seen).toEqual([1]);
    await Promise.all(['n2', 'n3', 'n4', 'n5'].map((name) => put(node(name))));
    await waitUntil(() => seen.at(-1) === 5);
    // Four events, delivered together: fewer syncs than events.
    expect(seen.length).toBeLessThan(5);
  });

  test('a failing sync is retried until it succeeds; synced waits for that', async () => {
    let attempts = 0;
    const running = start(async () => {
      attempts++;
      if (attempts < 3) throw new Error('not yet');
    });
    await running.synced;
    expect(attempts).toBe(3);
  });

  test('stopping before a first successful sync rejects synced', async () => {
    let attempts = 0;
    const running = start(async () => {
      attempts++;
      throw new Error('never');
    });
    await waitUntil(() => attempts > 0);
    loop = undefined;
    await running.stop();
    const err = await running.synced.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
