// The apiserver's watch cache on a real server, with the sqlite store and with NATS: pod watches by
// spec.nodeName, replays from a resourceVersion, and on NATS one store consumer however many watches.
import { RESOURCES, type Pod } from '@berth/api';
import { connectionFromFile, KubeClient, type Watch } from '@berth/client';
import { startBerthServer, startNatsServer, waitFor, type TestNatsServer, type TestServer } from '@berth/testing';
import { connect, type NatsConnection } from 'nats';

const PODS = RESOURCES.find((r) => r.group === '' && r.kind === 'Pod')!;
const BUCKET = 'watch_cache_test';

let nats: TestNatsServer | undefined;

beforeAll(async () => {
  nats = await startNatsServer();
});

afterAll(async () => {
  await nats?.stop();
});

/** Collects a watch's events as `TYPE name` lines until it is closed. */
function collect(watch: Watch<Pod>): string[] {
  const seen: string[] = [];
  void (async () => {
    try {
      for await (const event of watch) if (event.type !== 'BOOKMARK') seen.push(`${event.type} ${event.object.metadata.name}`);
    } catch {
      // A closed or failed stream: the assertions on what was seen tell.
    }
  })();
  return seen;
}

const backends: Array<[string, () => string | undefined]> = [
  ['sqlite', () => undefined],
  ['nats', () => `${nats!.url}?bucket=${BUCKET}`],
];

describe.each(backends)('watch cache on %s', (backend, storeUrl) => {
  let server: TestServer;
  let client: KubeClient;
  const watches: Watch<Pod>[] = [];

  beforeAll(async () => {
    server = await startBerthServer({ store: storeUrl() });
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
  });

  afterAll(async () => {
    for (const w of watches) w.close();
    client?.close();
    await server?.cleanup();
  });

  const watchPods = async (opts: { fieldSelector?: string; resourceVersion: string }) => {
    const watch = await client.watch<Pod>(PODS, { namespace: 'default', ...opts });
    watches.push(watch);
    return collect(watch);
  };

  test('node-indexed pod watches see their pods come and go, and a replay from a resourceVersion repeats it', async () => {
    const start = (await client.list(PODS, { namespace: 'default' })).metadata.resourceVersion!;
    const perNode = await Promise.all(Array.from({ length: 10 }, (_, i) => watchPods({ fieldSelector: `spec.nodeName=node-${i}`, resourceVersion: start })));
    const unscheduled = await watchPods({ fieldSelector: 'spec.nodeName=', resourceVersion: start });
    const everything = await watchPods({ resourceVersion: start });

    await client.create<Pod>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await client.request({
      method: 'POST',
      path: '/api/v1/namespaces/default/pods/p/binding',
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-3' } },
    });
    await client.patch(PODS, 'p', { status: { phase: 'Running' } }, { namespace: 'default', type: 'merge', subresource: 'status' });
    await client.delete(PODS, 'p', { namespace: 'default', gracePeriodSeconds: 0 });
    await waitFor(() => everything.at(-1) === 'DELETED p', 15_000, `the pod's deletion (saw ${everything.join(', ')})`);
    await waitFor(() => perNode[3].length >= 4, 15_000, 'node-3 events');

    // Bound, Running, marked for deletion (deletionTimestamp), gone.
    expect(everything).toEqual(['ADDED p', 'MODIFIED p', 'MODIFIED p', 'MODIFIED p', 'DELETED p']);
    expect(unscheduled).toEqual(['ADDED p', 'DELETED p']);
    expect(perNode.map((seen) => seen.join(', '))).toEqual(perNode.map((_, i) => (i === 3 ? 'ADDED p, MODIFIED p, MODIFIED p, DELETED p' : '')));

    const replay = await watchPods({ fieldSelector: 'spec.nodeName=node-3', resourceVersion: start });
    await waitFor(() => replay.length >= 4, 15_000, 'the replay');
    expect(replay).toEqual(['ADDED p', 'MODIFIED p', 'MODIFIED p', 'DELETED p']);
  });

  test('a watch is answered before its first event, from a list or from a resourceVersion', async () => {
    // A bench once waited on a watch "until its first event": the await of an async function that returned
    // the promise of that event (async functions adopt a returned promise). The watch itself answers at once.
    const start = (await client.list(PODS, { namespace: 'default' })).metadata.resourceVersion!;
    const answered = async (opts: { resourceVersion?: string }) => {
      let timer: NodeJS.Timeout | undefined;
      const unanswered = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the watch was not answered')), 10_000)));
      try {
        const watch = await Promise.race([client.watch<Pod>(PODS, { namespace: 'default', fieldSelector: 'metadata.name=web', ...opts }), unanswered]);
        watches.push(watch);
        return watch;
      } finally {
        clearTimeout(timer);
      }
    };
    const fromVersion = collect(await answered({ resourceVersion: start }));
    const fromList = collect(await answered({}));
    await client.create<Pod>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await waitFor(() => fromVersion.length === 1 && fromList.length === 1, 15_000, 'the pod on both watches');
    expect([fromVersion, fromList]).toEqual([['ADDED web'], ['ADDED web']]);
  });

  if (backend === 'nats') {
    test('more watches of a resource add no NATS consumer', async () => {
      const observer: NatsConnection = await connect({ servers: nats!.url });
      try {
        const consumers = async () => (await (await observer.jetstreamManager()).consumers.list(`KV_${BUCKET}`).next()).length;
        const start = (await client.list(PODS, { namespace: 'default' })).metadata.resourceVersion!;
        await watchPods({ resourceVersion: start });
        const before = await consumers();
        for (let i = 0; i < 20; i++) await watchPods({ fieldSelector: `spec.nodeName=more-${i}`, resourceVersion: start });
        // Lists' short-lived consumers may come and go meanwhile; a consumer per watch would add 20.
        expect(await consumers()).toBeLessThan(before + 5);
      } finally {
        await observer.close();
      }
    });
  }
});
