import { RESOURCES, type KubeObject } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { MemoryStore, type WatchEvent } from '@berth/store';
import { ObjectService } from './objects';

const type = (kind: string) => RESOURCES.find((r) => r.group === '' && r.kind === kind)!;
const PODS = type('Pod');
const write = { dryRun: false, fieldManager: 'test', fieldValidation: 'Strict' as const };
const POD_KEY = '/registry/core/pods/default/';

describe('pod deletion', () => {
  let store: MemoryStore;
  let objects: ObjectService;

  beforeEach(async () => {
    store = new MemoryStore();
    objects = new ObjectService(store);
    await objects.ensureNamespace('default');
  });
  afterEach(() => store.close());

  async function createPod(name: string, spec: Record<string, unknown> = {}, phase?: string): Promise<KubeObject> {
    const body = { metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } };
    let pod = (await objects.create(PODS, 'default', body, write)).object;
    if (phase) pod = (await objects.update(PODS, 'default', name, { ...pod, status: { phase } }, write, 'status')).object;
    return pod;
  }
  const stored = async (name: string) => store.get(`${POD_KEY}${name}`);
  const secondsUntil = (stamp: string | undefined) => (Date.parse(stamp ?? '') - Date.now()) / 1000;

  it("marks a bound pod with its terminationGracePeriodSeconds, and the node's delete without grace removes it", async () => {
    const pod = await createPod('web', { nodeName: 'n1', terminationGracePeriodSeconds: 45 });
    const events: WatchEvent[] = [];
    const watcher = await store.watch(POD_KEY, Number(pod.metadata.resourceVersion) + 1, { onEvent: (e) => events.push(e), onError: () => undefined });
    try {
      const marked = (await objects.delete(PODS, 'default', 'web', { dryRun: false }))!;
      expect(marked.metadata.deletionGracePeriodSeconds).toBe(45);
      expect(secondsUntil(marked.metadata.deletionTimestamp)).toBeGreaterThan(40);
      expect(await stored('web')).toBeDefined();

      // The agent keeps reporting status while the containers stop; that does not complete the deletion.
      await objects.update(PODS, 'default', 'web', { ...marked, status: { phase: 'Running' } }, write, 'status');
      expect(await stored('web')).toBeDefined();

      await objects.delete(PODS, 'default', 'web', { dryRun: false, gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      expect(await stored('web')).toBeUndefined();
      // Marked without grace before it goes: the last state a watcher sees says how it was deleted.
      expect(events.map((e) => e.type)).toEqual(['put', 'put', 'put', 'delete']);
      expect(JSON.parse(events[3].kv.value).metadata.deletionGracePeriodSeconds).toBe(0);
    } finally {
      watcher.close();
    }
  });

  it('takes the grace period from the request, 30 s by default, and lets a later request only shorten it', async () => {
    await createPod('asked', { nodeName: 'n1' });
    const asked = (await objects.delete(PODS, 'default', 'asked', { dryRun: false, gracePeriodSeconds: 20 }))!;
    expect(asked.metadata.deletionGracePeriodSeconds).toBe(20);

    const longer = (await objects.delete(PODS, 'default', 'asked', { dryRun: false, gracePeriodSeconds: 60 }))!;
    expect(longer.metadata).toMatchObject({ deletionGracePeriodSeconds: 20, deletionTimestamp: asked.metadata.deletionTimestamp });
    const again = (await objects.delete(PODS, 'default', 'asked', { dryRun: false }))!;
    expect(again.metadata.deletionGracePeriodSeconds).toBe(20);

    const shorter = (await objects.delete(PODS, 'default', 'asked', { dryRun: false, gracePeriodSeconds: 5 }))!;
    expect(shorter.metadata.deletionGracePeriodSeconds).toBe(5);
    // Counted from the first request, not from the second.
    expect(Date.parse(shorter.metadata.deletionTimestamp!)).toBe(Date.parse(asked.metadata.deletionTimestamp!) - 15_000);

    const plain = (await objects.create(PODS, 'default', { metadata: { name: 'plain' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } }, write)).object;
    expect(plain.spec).toMatchObject({ terminationGracePeriodSeconds: 30 });
    expect((await objects.delete(PODS, 'default', 'plain', { dryRun: false }))!.metadata.deletionGracePeriodSeconds).toBe(30);
  });

  it('deletes unbound pods, finished pods and deletions without grace at once', async () => {
    await createPod('unbound');
    await createPod('done', { nodeName: 'n1' }, 'Succeeded');
    await createPod('failed', { nodeName: 'n1' }, 'Failed');
    await createPod('forced', { nodeName: 'n1' });
    for (const name of ['unbound', 'done', 'failed']) await objects.delete(PODS, 'default', name, { dryRun: false });
    await objects.delete(PODS, 'default', 'forced', { dryRun: false, gracePeriodSeconds: 0 });
    expect((await store.list(POD_KEY)).items).toEqual([]);
  });

  it('keeps a pod with finalizers until they are removed, also after its node deleted it without grace', async () => {
    await createPod('held', { nodeName: 'n1' });
    const held = (await objects.patch(PODS, 'default', 'held', 'merge', { metadata: { finalizers: ['example.com/hold'] } }, write)).object;
    const marked = (await objects.delete(PODS, 'default', 'held', { dryRun: false }))!;
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(30);
    await objects.delete(PODS, 'default', 'held', { dryRun: false, gracePeriodSeconds: 0, preconditions: { uid: held.metadata.uid } });
    const waiting = (await objects.get(PODS, 'default', 'held')).metadata;
    expect(waiting).toMatchObject({ deletionGracePeriodSeconds: 0, finalizers: ['example.com/hold'] });
    await objects.patch(PODS, 'default', 'held', 'merge', { metadata: { finalizers: null } }, write);
    expect(await stored('held')).toBeUndefined();
  });

  it("refuses the node's delete when the uid precondition names an earlier pod of the same name", async () => {
    await createPod('reused', { nodeName: 'n1' });
    await objects.delete(PODS, 'default', 'reused', { dryRun: false, gracePeriodSeconds: 0 });
    await createPod('reused', { nodeName: 'n1' });
    const err = await objects.delete(PODS, 'default', 'reused', { dryRun: false, gracePeriodSeconds: 0, preconditions: { uid: 'an-earlier-uid' } }).catch((e: unknown) => e);
    expect(isBerthError(err, 'Conflict')).toBe(true);
    expect(await stored('reused')).toBeDefined();
  });
});

describe('patches retried after a conflict', () => {
  const CONFIG_MAPS = type('ConfigMap');
  let store: MemoryStore;
  let objects: ObjectService;

  beforeEach(async () => {
    store = new MemoryStore();
    objects = new ObjectService(store);
    await objects.ensureNamespace('default');
    await objects.create(CONFIG_MAPS, 'default', { metadata: { name: 'c' }, data: { a: '1' } }, write);
  });
  afterEach(() => store.close());

  /** Another writer gets in before each of the patch's first `times` writes, which then conflict. */
  function interleave(times: number): () => number {
    const update = store.update.bind(store);
    let raced = 0;
    store.update = async (key, value, expected) => {
      if (raced < times) {
        raced++;
        const current = (await store.get(key))!;
        const other = JSON.parse(current.value) as KubeObject & { data: Record<string, string> };
        other.data = { ...other.data, [`other${raced}`]: 'x' };
        await update(key, JSON.stringify(other), current.modRevision);
      }
      return update(key, value, expected);
    };
    return () => raced;
  }

  it.each([
    ['merge', { data: { b: '2' } }],
    ['strategic', { data: { b: '2' } }],
    ['json', [{ op: 'add', path: '/data/b', value: '2' }]],
    ['apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { b: '2' } }],
  ] as const)('applies the same %s patch to the newer object', async (patchType, patch) => {
    const raced = interleave(2);
    const result = await objects.patch(CONFIG_MAPS, 'default', 'c', patchType, patch, write);
    expect(raced()).toBe(2);
    expect((result.object as KubeObject & { data: unknown }).data).toEqual({ a: '1', b: '2', other1: 'x', other2: 'x' });
  });
});
