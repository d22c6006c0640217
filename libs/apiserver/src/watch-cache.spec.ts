import { KubeObject, RESOURCES, ResourceType } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { createStore, MemoryStore, Store, WatchCallbacks, WatchEvent } from '@berth/store';
import { waitFor } from '@berth/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectFilter } from './filter';
import { WatchCache } from './watch-cache';
import { WatchRegistry, type WatchEventType } from './watch';

const PODS = RESOURCES.find((r) => r.kind === 'Pod')!;
const CONFIGMAPS = RESOURCES.find((r) => r.kind === 'ConfigMap')!;
const podKey = (ns: string, name: string) => `/registry/core/pods/${ns}/${name}`;
const podValue = (ns: string, name: string, nodeName?: string, phase = 'Pending') =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { nodeName, containers: [] }, status: { phase } });
const configMapValue = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } });

/** Counts the store watches opened, and hands out their callbacks so a test can fail one. */
function instrument(store: Store): { starts: Array<{ prefix: string; after: number; callbacks: WatchCallbacks }> } {
  const starts: Array<{ prefix: string; after: number; callbacks: WatchCallbacks }> = [];
  const original = store.watch.bind(store);
  store.watch = (prefix, after, callbacks) => {
    starts.push({ prefix, after, callbacks });
    return original(prefix, after, callbacks);
  };
  return { starts };
}

interface Seen {
  /** `TYPE namespace/name@resourceVersion` */
  events: string[];
  initial: string[];
  objects: Array<[WatchEventType, KubeObject]>;
  ended: boolean;
}

const describeObject = (obj: KubeObject) => `${obj.metadata.namespace}/${obj.metadata.name}@${obj.metadata.resourceVersion}`;

interface OpenOptions {
  type?: ResourceType;
  namespace?: string;
  fieldSelector?: string;
  resourceVersion: string | number | null;
  allowBookmarks?: boolean;
}

async function open(registry: WatchRegistry, options: OpenOptions): Promise<Seen> {
  const type = options.type ?? PODS;
  const seen: Seen = { events: [], initial: [], objects: [], ended: false };
  const { watch, initial } = await registry.watch({
    type,
    namespace: options.namespace,
    filter: ObjectFilter.parse(type, null, options.fieldSelector ?? null),
    resourceVersion: options.resourceVersion === null ? null : String(options.resourceVersion),
    allowBookmarks: options.allowBookmarks ?? false,
    timeoutSeconds: 600,
  });
  seen.initial = initial.map(describeObject);
  watch.start(
    {
      event: (t, obj) => {
        seen.events.push(`${t} ${describeObject(obj)}`);
        seen.objects.push([t, obj]);
      },
      end: () => (seen.ended = true),
    },
    initial,
  );
  return seen;
}

/** Lets queued store deliveries (microtasks, sqlite replay steps) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

let tempDir: string;
let opened = 0;
beforeAll(() => (tempDir = mkdtempSync(join(tmpdir(), 'berth-watch-cache-'))));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const backends: Array<[string, () => Promise<Store>]> = [
  ['memory', async () => new MemoryStore()],
  ['sqlite', () => createStore(`sqlite://${join(tempDir, `store-${++opened}.db`)}`)],
];

describe.each(backends)('watch cache on the %s store', (_name, makeStore) => {
  let store: Store;
  let registries: WatchRegistry[];
  const registry = (windowEvents?: number, windowBytes?: number) => {
    const r = new WatchRegistry(store, { windowEvents, windowBytes });
    registries.push(r);
    return r;
  };

  beforeEach(async () => {
    store = await makeStore();
    registries = [];
  });

  afterEach(async () => {
    for (const r of registries) r.closeAll();
    await store.close();
  });

  test('one store watch per resource serves every watch of it', async () => {
    const { starts } = instrument(store);
    const watches = registry();
    const rv = await store.currentRevision();
    const perNode = await Promise.all(Array.from({ length: 20 }, (_, i) => open(watches, { resourceVersion: rv, fieldSelector: `spec.nodeName=node-${i}` })));
    const all = await open(watches, { resourceVersion: null });
    const configMaps = await open(watches, { type: CONFIGMAPS, namespace: 'default', resourceVersion: rv });
    await store.create(podKey('default', 'p'), podValue('default', 'p', 'node-7'));
    await store.create('/registry/core/configmaps/default/c', configMapValue('c'));
    await waitFor(() => all.events.length === 1 && configMaps.events.length === 1, 5_000, 'both events');
    expect(perNode.map((s) => s.events.length)).toEqual(perNode.map((_, i) => (i === 7 ? 1 : 0)));
    expect(starts.map((s) => s.prefix).sort()).toEqual(['/registry/core/configmaps/', '/registry/core/pods/']);
    expect(watches.count).toBe(22);
  });

  test('a pod moving in and out of a spec.nodeName selector is ADDED and DELETED there, and reaches no other node', async () => {
    const watches = registry();
    const rv = await store.currentRevision();
    const on = (node: string) => open(watches, { resourceVersion: rv, fieldSelector: `spec.nodeName=${node}` });
    const [a, b, c, unscheduled] = await Promise.all([on('node-a'), on('node-b'), on('node-c'), on('')]);
    const everything = await open(watches, { resourceVersion: rv });
    const otherNamespace = await open(watches, { resourceVersion: rv, namespace: 'other' });
    // Raw routing, below the per-watch filter: what the index hands a node-c watcher at all.
    const reachedNodeC: WatchEvent[] = [];
    const cache = new WatchCache(store);
    await cache.watch(PODS, { namespace: undefined, indexValue: 'node-c' }, rv, { onEvent: (e) => reachedNodeC.push(e), onError: () => undefined });

    const created = await store.create(podKey('default', 'p'), podValue('default', 'p'));
    const bound = await store.update(podKey('default', 'p'), podValue('default', 'p', 'node-a'));
    const running = await store.update(podKey('default', 'p'), podValue('default', 'p', 'node-a', 'Running'));
    const moved = await store.update(podKey('default', 'p'), podValue('default', 'p', 'node-b', 'Running'));
    const deleted = await store.delete(podKey('default', 'p'));
    const gone = deleted.modRevision + 1;
    await waitFor(() => everything.events.length === 5, 5_000, 'five events');
    try {
      expect(unscheduled.events).toEqual([`ADDED default/p@${created.modRevision}`, `DELETED default/p@${bound.modRevision}`]);
      expect(a.events).toEqual([`ADDED default/p@${bound.modRevision}`, `MODIFIED default/p@${running.modRevision}`, `DELETED default/p@${moved.modRevision}`]);
      expect(b.events).toEqual([`ADDED default/p@${moved.modRevision}`, `DELETED default/p@${gone}`]);
      expect(c.events).toEqual([]);
      expect(everything.events.map((e) => e.split(' ')[0])).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);
      expect(otherNamespace.events).toEqual([]);
      expect(reachedNodeC).toEqual([]);
    } finally {
      cache.close();
    }
  });

  test('a watch from a resourceVersion inside the window is replayed from it, in order, without another store watch', async () => {
    const { starts } = instrument(store);
    const watches = registry();
    const first = await open(watches, { resourceVersion: null });
    const revisions: number[] = [];
    for (let i = 0; i < 10; i++) revisions.push((await store.create(podKey('default', `p${i}`), podValue('default', `p${i}`, `node-${i % 2}`))).modRevision);
    await waitFor(() => first.events.length === 10, 5_000, 'ten events');
    const replayed = await open(watches, { resourceVersion: revisions[2] });
    const replayedOnNode1 = await open(watches, { resourceVersion: revisions[2], fieldSelector: 'spec.nodeName=node-1' });
    expect(replayed.events).toEqual(revisions.slice(3).map((r, i) => `ADDED default/p${i + 3}@${r}`));
    expect(replayedOnNode1.events).toEqual([3, 5, 7, 9].map((i) => `ADDED default/p${i}@${revisions[i]}`));
    expect(starts).toHaveLength(1);
  });

  test('a watch older than the window but still in the store is served by the store', async () => {
    const { starts } = instrument(store);
    const watches = registry(5);
    const first = await open(watches, { resourceVersion: null });
    const revisions: number[] = [];
    for (let i = 0; i < 20; i++) revisions.push((await store.create(podKey('default', `p${i}`), podValue('default', `p${i}`))).modRevision);
    await waitFor(() => first.events.length === 20, 5_000, 'twenty events');
    const old = await open(watches, { resourceVersion: revisions[1] });
    await waitFor(() => old.events.length === 18, 5_000, 'the replay from the store');
    expect(old.events).toEqual(revisions.slice(2).map((r, i) => `ADDED default/p${i + 2}@${r}`));
    expect(starts.map((s) => s.after)).toEqual([expect.any(Number), revisions[1]]);
    // And a recent one still comes from the window.
    await open(watches, { resourceVersion: revisions[17] });
    expect(starts).toHaveLength(2);
  });

  test('the windows keep at most their byte budget together, the largest forgetting its oldest events first', async () => {
    const { starts } = instrument(store);
    // Room for about four 10 KB pods and a few small ConfigMaps.
    const watches = registry(4096, 45_000);
    const pods = await open(watches, { resourceVersion: null });
    const configMaps = await open(watches, { type: CONFIGMAPS, resourceVersion: null });
    const bigPod = (name: string) => JSON.stringify({ ...JSON.parse(podValue('default', name)), padding: 'x'.repeat(10_000) });
    const cm = (await store.create('/registry/core/configmaps/default/c0', configMapValue('c0'))).modRevision;
    const revisions: number[] = [];
    for (let i = 0; i < 10; i++) revisions.push((await store.create(podKey('default', `p${i}`), bigPod(`p${i}`))).modRevision);
    await waitFor(() => pods.events.length === 10 && configMaps.events.length === 1, 5_000, 'the events');
    // The pods' window holds the last few pods only: an older start is replayed by the store.
    const old = await open(watches, { resourceVersion: revisions[1] });
    await waitFor(() => old.events.length === 8, 5_000, 'the replay from the store');
    expect(starts.filter((w) => w.prefix === '/registry/core/pods/').map((w) => w.after)).toEqual([expect.any(Number), revisions[1]]);
    const recent = await open(watches, { resourceVersion: revisions[7] });
    expect(recent.events).toEqual([8, 9].map((i) => `ADDED default/p${i}@${revisions[i]}`));
    // The small window was not the one to give way.
    const fromStart = await open(watches, { type: CONFIGMAPS, resourceVersion: cm - 1 });
    expect(fromStart.events).toEqual([`ADDED default/c0@${cm}`]);
    expect(starts.filter((w) => w.prefix === '/registry/core/configmaps/')).toHaveLength(1);
  });

  test('a compacted resourceVersion older than the window is refused as Compacted (410 Expired)', async () => {
    const watches = registry(5);
    const first = await open(watches, { resourceVersion: null });
    const revisions: number[] = [];
    for (let i = 0; i < 20; i++) revisions.push((await store.create(podKey('default', `p${i}`), podValue('default', `p${i}`))).modRevision);
    await waitFor(() => first.events.length === 20, 5_000, 'twenty events');
    await store.compact(revisions[18]);
    const refused = await open(watches, { resourceVersion: revisions[3] }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isBerthError(refused, 'Compacted')).toBe(true);
    // Kubernetes' cacher too serves what its window still holds, compacted in the store or not.
    const recent = await open(watches, { resourceVersion: revisions[16] });
    expect(recent.events).toEqual([17, 18, 19].map((i) => `ADDED default/p${i}@${revisions[i]}`));
  });

  test('a store watch failure ends the watches; the next watch resumes the cache, whose window still serves', async () => {
    const { starts } = instrument(store);
    const watches = registry();
    const before = await store.currentRevision();
    const first = await open(watches, { resourceVersion: before, fieldSelector: 'spec.nodeName=node-a' });
    const created = await store.create(podKey('default', 'p'), podValue('default', 'p', 'node-a'));
    await waitFor(() => first.events.length === 1, 5_000, 'the first event');
    starts[0].callbacks.onError(new Error('store watch lost'));
    expect(first.ended).toBe(true);
    expect(watches.count).toBe(0);

    const again = await open(watches, { resourceVersion: before, fieldSelector: 'spec.nodeName=node-a' });
    expect(starts.map((s) => s.after)).toEqual([expect.any(Number), created.modRevision]);
    const updated = await store.update(podKey('default', 'p'), podValue('default', 'p', 'node-a', 'Running'));
    await waitFor(() => again.events.length === 2, 5_000, 'the replayed and the new event');
    expect(again.events).toEqual([`ADDED default/p@${created.modRevision}`, `MODIFIED default/p@${updated.modRevision}`]);
  });

  test('many writes across namespaces and nodes: every watch sees exactly its events, in order, from wherever it starts', async () => {
    const watches = registry(64);
    const namespaces = ['default', 'team-a', 'team-b'];
    const nodes = ['', 'node-0', 'node-1', 'node-2'];
    // The model: every write with the pod's node before and after (null: absent).
    const writes: Array<{ revision: number; ns: string; name: string; before: string | null; after: string | null }> = [];
    const state = new Map<string, { ns: string; name: string; node: string }>();
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    const watchers: Array<{ seen: Promise<Seen>; namespace?: string; node?: string; from: number | null }> = [];
    const startWatcher = (from: number | null) => {
      const namespace = random(3) === 0 ? namespaces[random(3)] : undefined;
      const node = random(3) > 0 ? nodes[random(4)] : undefined;
      const seen = open(watches, { resourceVersion: from, namespace, fieldSelector: node === undefined ? undefined : `spec.nodeName=${node}` });
      watchers.push({ seen, namespace, node, from });
    };
    for (let i = 0; i < 1000; i++) {
      const ns = namespaces[random(3)];
      const name = `p${random(25)}`;
      const key = podKey(ns, name);
      const current = state.get(key);
      let after: string | null = nodes[random(4)];
      let revision: number;
      if (!current) revision = (await store.create(key, podValue(ns, name, after))).modRevision;
      else if (random(5) === 0) {
        await store.delete(key);
        revision = await store.currentRevision();
        after = null;
      } else revision = (await store.update(key, podValue(ns, name, after))).modRevision;
      writes.push({ revision, ns, name, before: current?.node ?? null, after });
      if (after === null) state.delete(key);
      else state.set(key, { ns, name, node: after });
      // Watches start while writes go on: from now, from a recent or an old revision, or with a list.
      if (i % 50 === 25) {
        const past = writes[Math.max(0, writes.length - 1 - random(200))].revision;
        startWatcher([revision, past, null][random(3)]);
      }
      if (i % 100 === 0) await settle();
    }
    const finished = await Promise.all(watchers.map((w) => w.seen));
    const inScope = (w: { namespace?: string; node?: string }, ns: string, node: string | null) =>
      node !== null && (w.namespace === undefined || w.namespace === ns) && (w.node === undefined || w.node === node);
    for (const [i, w] of watchers.entries()) {
      const seen = finished[i];
      const wanted = [...state.values()].filter((p) => inScope(w, p.ns, p.node)).map((p) => `${p.ns}/${p.name}`).sort();
      if (w.from !== null) {
        const from = w.from;
        const expected = writes
          .filter((x) => x.revision > from)
          .flatMap((x) => {
            const was = inScope(w, x.ns, x.before);
            const is = inScope(w, x.ns, x.after);
            const type = was && is ? 'MODIFIED' : is ? 'ADDED' : was ? 'DELETED' : undefined;
            return type ? [`${type} ${x.ns}/${x.name}@${x.revision}`] : [];
          });
        await waitFor(() => seen.events.length >= expected.length, 10_000, `watch ${i}'s ${expected.length} events`);
        expect(seen.events).toEqual(expected);
      } else {
        // The list's revision is not visible: the list and the events, applied as an informer does, must
        // rebuild the final state with each event applying cleanly (no gap, no duplicate).
        await waitFor(() => JSON.stringify(rebuild(seen).keys) === JSON.stringify(wanted), 10_000, `watch ${i} to reach the final state`);
        expect(rebuild(seen).problems).toEqual([]);
      }
    }
  });
});

/** The keys an informer holds after the initial list and the events, and the events that did not apply cleanly. */
function rebuild(seen: Seen): { keys: string[]; problems: string[] } {
  const held = new Map<string, number>();
  for (const entry of seen.initial) held.set(entry.split('@')[0], Number(entry.split('@')[1]));
  let previous = Math.max(0, ...held.values());
  const problems: string[] = [];
  // The sink gets the initial objects as ADDED first.
  for (const [type, obj] of seen.objects.slice(seen.initial.length)) {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const revision = Number(obj.metadata.resourceVersion);
    if (revision <= previous) problems.push(`${type} ${key}@${revision} after revision ${previous}`);
    previous = Math.max(previous, revision);
    if ((type === 'ADDED') === held.has(key)) problems.push(`${type} ${key}@${revision} while ${held.has(key) ? 'held' : 'absent'}`);
    if (type === 'DELETED') held.delete(key);
    else held.set(key, revision);
  }
  return { keys: [...held.keys()].sort(), problems };
}

test('bookmarks carry the revision the cache has reached, also for a watcher its index gave no event', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  const store = new MemoryStore();
  const watches = new WatchRegistry(store);
  try {
    const onNodeA = await open(watches, { resourceVersion: 0, fieldSelector: 'spec.nodeName=node-a', allowBookmarks: true });
    const everything = await open(watches, { resourceVersion: 0 });
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await store.create(podKey('default', `p${i}`), podValue('default', `p${i}`, 'node-b'))).modRevision;
    await settle();
    expect(everything.events).toHaveLength(5);
    jest.advanceTimersByTime(30_000);
    const bookmarks = onNodeA.objects.filter(([type]) => type === 'BOOKMARK').map(([, obj]) => obj.metadata.resourceVersion);
    expect(bookmarks).toEqual(['0', String(last)]);
  } finally {
    watches.closeAll();
    await store.close();
    jest.useRealTimers();
  }
});
