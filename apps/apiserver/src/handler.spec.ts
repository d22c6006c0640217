import { MemoryStore, Store } from '@berth/store';
import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { ApiHandler } from './handler';
import { ApiMetrics } from './metrics';
import { ObjectService } from './objects';
import { WatchRegistry } from './watch';

const TOKEN = 'test-token';

async function serve(store: Store): Promise<{ server: Server; url: string; watches: WatchRegistry }> {
  const watches = new WatchRegistry(store);
  const objects = new ObjectService(store);
  await objects.ensureNamespace('default');
  const handler = new ApiHandler({
    store,
    objects,
    watches,
    metrics: new ApiMetrics({ watchCount: () => watches.count, storeRevision: () => store.currentRevision() }),
    logger: pino({ level: 'silent' }),
    adminToken: TOKEN,
  });
  const server = createServer(handler.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, watches };
}

function call(url: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ApiHandler', () => {
  let store: MemoryStore;
  let server: Server;
  let url: string;
  let watches: WatchRegistry;

  beforeEach(async () => {
    store = new MemoryStore();
    ({ server, url, watches } = await serve(store));
  });

  afterEach(async () => {
    watches.closeAll();
    await new Promise((r) => server.close(r));
    await store.close();
  });

  test('a watch from a compacted resourceVersion is 410 Expired', async () => {
    const cm = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    await call(`${url}/api/v1/namespaces/default/configmaps`, 'POST', cm('a'));
    await call(`${url}/api/v1/namespaces/default/configmaps`, 'POST', cm('b'));
    await store.compact(await store.currentRevision());
    const res = await call(`${url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1`);
    expect(res.status).toBe(410);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
  });

  test('an unexpected failure is a 500 Status and the server keeps serving', async () => {
    const original = store.list.bind(store);
    store.list = async () => {
      throw new TypeError('disk on fire');
    };
    const res = await call(`${url}/api/v1/namespaces/default/configmaps`);
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect(res.body).not.toContain('disk on fire');
    store.list = original;
    expect((await call(`${url}/api/v1/namespaces/default/configmaps`)).status).toBe(200);
  });
});
