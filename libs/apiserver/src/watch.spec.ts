import { KubeObject, RESOURCES } from '@berth/api';
import { errors } from '@berth/errors';
import { MemoryStore, WatchCallbacks } from '@berth/store';
import { waitFor } from '@berth/testing';
import { ObjectFilter } from './filter';
import { WatchEventType, WatchRegistry } from './watch';

const CONFIGMAP = RESOURCES.find((r) => r.kind === 'ConfigMap')!;
const key = (name: string) => `/registry/core/configmaps/default/${name}`;
const value = (name: string, app: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { app } } });

/** A store whose watch events lack prevKv, as a backend may when the previous value is gone. */
class ForgetfulStore extends MemoryStore {
  override watch(prefix: string, after: number, callbacks: WatchCallbacks) {
    return super.watch(prefix, after, { ...callbacks, onEvent: (e) => callbacks.onEvent({ ...e, prevKv: undefined }) });
  }
}

async function collect(store: MemoryStore, labelSelector: string) {
  const events: [WatchEventType, string | undefined, unknown?][] = [];
  let ended = false;
  const { watch, initial } = await new WatchRegistry(store).watch({
    type: CONFIGMAP,
    namespace: 'default',
    filter: ObjectFilter.parse(CONFIGMAP, labelSelector, null),
    resourceVersion: String(await store.currentRevision()),
    allowBookmarks: false,
    timeoutSeconds: 60,
  });
  watch.start(
    {
      event: (type, obj: KubeObject) => events.push(type === 'ERROR' ? [type, undefined, obj] : [type, obj.metadata.name]),
      end: () => (ended = true),
    },
    initial,
  );
  return { events, watch, ended: () => ended };
}

test('without prevKv, an update that leaves the selector is still reported as DELETED', async () => {
  const store = new ForgetfulStore();
  const a = await store.create(key('a'), value('a', 'web'));
  const { events, watch } = await collect(store, 'app=web');
  try {
    await store.update(key('a'), value('a', 'web'), a.modRevision);
    await store.update(key('a'), value('a', 'db'));
    await store.create(key('b'), value('b', 'web'));
    await store.delete(key('b'));
    await waitFor(() => events.length >= 4, 5_000, 'four events');
    expect(events).toEqual([
      ['MODIFIED', 'a'],
      ['DELETED', 'a'],
      ['ADDED', 'b'],
      ['DELETED', 'b'],
    ]);
  } finally {
    watch.end();
    await store.close();
  }
});

/** A store whose watches a compaction overtakes right after they delivered the revision `overtakenAt`. */
class OvertakenStore extends MemoryStore {
  overtakenAt = Infinity;

  override watch(prefix: string, after: number, callbacks: WatchCallbacks) {
    return super.watch(prefix, after, {
      ...callbacks,
      onEvent: (e) => {
        callbacks.onEvent(e);
        if (e.revision === this.overtakenAt) callbacks.onError(errors.compacted(after, e.revision + 1));
      },
    });
  }
}

test('a watch the store can no longer continue for compaction ends with an ERROR event holding a 410 Expired Status', async () => {
  const store = new OvertakenStore();
  const a = await store.create(key('a'), value('a', 'web'));
  const { events, ended, watch } = await collect(store, 'app=web');
  try {
    store.overtakenAt = a.modRevision + 1;
    await store.update(key('a'), value('a', 'web'), a.modRevision);
    await waitFor(() => ended(), 5_000, 'the watch to end');
    expect(events).toEqual([
      ['MODIFIED', 'a'],
      ['ERROR', undefined, expect.objectContaining({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: expect.stringMatching(/^too old resource version/) })],
    ]);
  } finally {
    watch.end();
    await store.close();
  }
});
