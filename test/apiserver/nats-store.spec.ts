// berth server on the NATS JetStream store: objects, watches and a restart against a real nats-server.
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { kubeConfigFor, startBerthServer, startNatsServer, TestNatsServer, TestServer, waitFor } from '@berth/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let nats: TestNatsServer;
let dataDir: string;
const servers: TestServer[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'berth-nats-'));
});

afterAll(async () => {
  for (const s of servers) await s.cleanup();
  await nats?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('objects and watches work on nats, and survive an apiserver restart', async () => {
  const store = `${nats.url}?bucket=apiserver_test`;
  const first = await startBerthServer({ dataDir, store });
  servers.push(first);
  const kc = kubeConfigFor(first);
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedConfigMap({ namespace: 'default' });
  const seen: string[] = [];
  const watch = await new Watch(kc).watch(
    '/api/v1/namespaces/default/configmaps',
    { resourceVersion: list.metadata!.resourceVersion },
    (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
    () => undefined,
  );
  try {
    const made = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'on-nats' }, data: { a: '1' } } });
    await core.replaceNamespacedConfigMap({ name: 'on-nats', namespace: 'default', body: { ...made, data: { a: '2' } } });
    await waitFor(() => seen.length >= 2, 15_000, 'watch events');
    expect(seen).toEqual(['ADDED on-nats', 'MODIFIED on-nats']);
  } finally {
    watch.abort();
  }
  await first.stop();

  const second = await startBerthServer({ dataDir, store });
  servers.push(second);
  const read = await kubeConfigFor(second).makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'on-nats', namespace: 'default' });
  expect(read.data).toEqual({ a: '2' });
});
