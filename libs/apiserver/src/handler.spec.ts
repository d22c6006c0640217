import { MAX_NESTING_DEPTH } from '@berth/api';
import { BOOKMARK_INTERVAL_HEADER } from '@berth/client';
import { MemoryStore, Store } from '@berth/store';
import { waitFor } from '@berth/testing';
import { createServer, request, Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { Authorizer } from './authz';
import type { ClusterRegistryControl, GarbageCollectionRequest } from './cluster-registry';
import { ApiHandler } from './handler';
import { DEFAULT_LIMITS, type ServerLimits } from './limits';
import { ApiMetrics } from './metrics';
import { NodeAuthorizer, objectGraph } from './node-authorizer';
import { ObjectService } from './objects';
import { WatchRegistry } from './watch';

const TOKEN = 'test-token';
/** The join token's secret: authenticated, and allowed nothing but a node certificate request. */
const JOIN_SECRET = 'join-secret';

async function serve(store: Store, limits?: ServerLimits, registry?: ClusterRegistryControl): Promise<{ server: Server; url: string; watches: WatchRegistry }> {
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
    nodeSecret: JOIN_SECRET,
    authorizer: new Authorizer(new NodeAuthorizer(objectGraph(objects))),
    limits,
    registry,
  });
  const server = createServer(handler.listener);
  server.on('upgrade', handler.upgradeListener);
  server.on('clientError', handler.clientErrorListener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, watches };
}

function call(url: string, method = 'GET', body?: string, contentType = 'application/json', token = TOKEN): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: 10_000, headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Bytes written as they are on a fresh connection, and what came back until the server closed it (or went quiet). */
function raw(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (d) => (answer += d));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const statusLine = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

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

  test("a berth client's bookmark interval is honoured and echoed; kubectl's watch (no header) gets neither; a bad one is a 400", async () => {
    const openWatch = (query: string, headers: Record<string, string>) =>
      new Promise<{ status: number; echoed: unknown; bookmarksIn2s: number }>((resolve, reject) => {
        const req = request(`${url}/api/v1/namespaces/default/configmaps?watch=1&${query}`, { headers: { Authorization: `Bearer ${TOKEN}`, ...headers } }, (res) => {
          let bookmarks = 0;
          if (res.statusCode !== 200) return void (res.resume(), resolve({ status: res.statusCode ?? 0, echoed: undefined, bookmarksIn2s: 0 }));
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (bookmarks += chunk.split('"type":"BOOKMARK"').length - 1));
          setTimeout(() => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, echoed: res.headers[BOOKMARK_INTERVAL_HEADER], bookmarksIn2s: bookmarks });
          }, 2_200);
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        req.end();
      });
    // 1 s asked: the first bookmark at once, then one a second.
    expect(await openWatch('allowWatchBookmarks=true', { [BOOKMARK_INTERVAL_HEADER]: '1' })).toEqual({ status: 200, echoed: '1', bookmarksIn2s: 3 });
    expect(await openWatch('allowWatchBookmarks=true', {})).toEqual({ status: 200, echoed: undefined, bookmarksIn2s: 1 });
    expect(await openWatch('', { [BOOKMARK_INTERVAL_HEADER]: '1' })).toEqual({ status: 200, echoed: undefined, bookmarksIn2s: 0 });
    for (const bad of ['0', '1e3', '31', 'soon']) expect((await openWatch('allowWatchBookmarks=true', { [BOOKMARK_INTERVAL_HEADER]: bad })).status).toBe(400);
  });

  test('namespaces are not deleted as a collection (405, as Kubernetes, which lists no deletecollection for them)', async () => {
    await call(`${url}/api/v1/namespaces`, 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'keep' } }));
    const res = await call(`${url}/api/v1/namespaces`, 'DELETE');
    expect(res.status).toBe(405);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 });
    expect((await call(`${url}/api/v1/namespaces/keep`)).status).toBe(200);
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

  describe('hostile requests', () => {
    const configMaps = () => `${url}/api/v1/namespaces/default/configmaps`;
    const createConfigMap = (name: string) => call(configMaps(), 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: 'b' } }));

    afterEach(() => {
      // However a hostile request went, it must not have reached a prototype.
      expect(({} as Record<string, unknown>).deletionTimestamp).toBeUndefined();
    });

    test.each([
      ['//a:99999/', '//a:99999/'],
      ['//[/', '//[/'],
      ['%zz', '/api/v1/namespaces/%zz/pods'],
      ['an absolute URL with a bad port', 'http://a:99999/api'],
      ['an absolute URL with a bad host', 'http://[/'],
      ['*', '*'],
      ['a lone %', '/%'],
      ['of 8,000 characters', `/api/v1/${'x'.repeat(8000)}`],
      ['of 20,000 characters', `/api/v1/${'x'.repeat(20_000)}`],
    ])('a request target %s gets a 4xx Status and the server keeps serving', async (_what, target) => {
        const answer = await raw(url, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
        expect(statusLine(answer)).toBeGreaterThanOrEqual(400);
        expect(statusLine(answer)).toBeLessThan(500);
        expect(answer).toContain('"kind":"Status"');
        expect((await call(`${url}/readyz`)).status).toBe(200);
    });

    test('an encoded dot segment names nothing: DELETE configmaps/%2e%2e does not reach the namespace above', async () => {
      expect((await call(`${url}/api/v1/namespaces`, 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'above' } }))).status).toBe(201);
      for (const dots of ['%2e%2e', '%2E%2e', '..']) {
        const answer = await raw(url, `DELETE /api/v1/namespaces/above/configmaps/${dots} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        expect([404, 405]).toContain(statusLine(answer));
      }
      const ns = JSON.parse((await call(`${url}/api/v1/namespaces/above`)).body);
      expect(ns.metadata.deletionTimestamp).toBeUndefined();
    });

    test('an absolute-form request target is served like its path', async () => {
      const answer = await raw(url, `GET http://elsewhere/api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
      expect(statusLine(answer)).toBe(200);
      expect(answer).toContain('"kind":"ConfigMapList"');
    });

    test.each([
      ['merge', 'application/merge-patch+json', '{"metadata":{"__proto__":{"deletionTimestamp":"2020-01-01T00:00:00Z"}}}'],
      ['strategic', 'application/strategic-merge-patch+json', '{"metadata":{"__proto__":{"deletionTimestamp":"2020-01-01T00:00:00Z"}}}'],
      ['apply', 'application/apply-patch+yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  __proto__:\n    deletionTimestamp: "2020-01-01T00:00:00Z"\n'],
      ['json', 'application/json-patch+json', '[{"op":"add","path":"/metadata/__proto__","value":{"deletionTimestamp":"2020-01-01T00:00:00Z"}}]'],
      ['json copy', 'application/json-patch+json', '[{"op":"copy","from":"/metadata","path":"/metadata/labels/__proto__"}]'],
    ])('a %s patch with a __proto__ key is a 400 and reaches no prototype', async (_kind, contentType, patch) => {
      expect((await createConfigMap('target')).status).toBe(201);
      const res = await call(`${configMaps()}/target?fieldManager=test`, 'PATCH', patch, contentType);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', code: 400 });
      expect(({} as Record<string, unknown>).deletionTimestamp).toBeUndefined();
      const after = await call(`${configMaps()}/target`);
      expect(JSON.parse(after.body).metadata.deletionTimestamp).toBeUndefined();
      expect((await createConfigMap('after')).status).toBe(201);
    });

    test.each([
      ['JSON', 'application/json', `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`],
      ['YAML', 'application/yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  a: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`],
      ['YAML block', 'application/yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  a:\n    ${'- '.repeat(10_000)}x\n`],
    ])('a %s body nested 10,000+ levels deep inside a field is a 400', async (_what, contentType, body) => {
      const res = await call(configMaps(), 'POST', body, contentType);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).message).toContain('nests deeper than');
    });

    test('a body nested as deep as the decoder allows goes through every walk (validation, patches, apply, tables, watches), its unknown fields dropped', async () => {
      const deployments = `${url}/apis/apps/v1/namespaces/default/deployments`;
      // The document's top level, spec and x are 3 of the 100 levels.
      const deep = JSON.parse('{"a":'.repeat(MAX_NESTING_DEPTH - 3) + '1' + '}'.repeat(MAX_NESTING_DEPTH - 3));
      const podSpec = { containers: [{ name: 'c', image: 'busybox' }] };
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'deep' }, spec: { x: deep, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: podSpec } } };
      const answers: number[] = [];
      const rv = await store.currentRevision();
      const watch = new Promise<number>((resolve) => {
        const req = request(`${deployments}?watch=1&resourceVersion=${rv}`, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve(res.statusCode ?? 0);
          });
        });
        req.end();
      });
      answers.push((await call(deployments, 'POST', JSON.stringify(deployment))).status);
      answers.push(await watch);
      const deeper = JSON.stringify({ spec: { x: { a: { b: deep } } } });
      answers.push((await call(`${deployments}/deep`, 'PATCH', JSON.stringify({ spec: { y: deep } }), 'application/merge-patch+json')).status);
      answers.push((await call(`${deployments}/deep`, 'PATCH', JSON.stringify({ spec: { z: deep } }), 'application/strategic-merge-patch+json')).status);
      answers.push((await call(`${deployments}/deep`, 'PATCH', JSON.stringify([{ op: 'add', path: '/spec/w', value: deep }]), 'application/json-patch+json')).status);
      answers.push((await call(`${deployments}/deep?fieldManager=deep`, 'PATCH', JSON.stringify({ ...deployment, spec: { ...deployment.spec, v: deep } }), 'application/apply-patch+yaml')).status);
      answers.push((await call(`${deployments}/deep`, 'PATCH', deeper, 'application/merge-patch+json')).status);
      for (const accept of ['application/json', 'application/json;as=Table;v=v1;g=meta.k8s.io']) {
        const res = await new Promise<number>((resolve) =>
          request(deployments, { headers: { Authorization: `Bearer ${TOKEN}`, Accept: accept } }, (r) => {
            r.resume();
            r.on('end', () => resolve(r.statusCode ?? 0));
          }).end(),
        );
        answers.push(res);
      }
      const stored = JSON.parse((await call(`${deployments}/deep`, 'GET')).body) as { spec: Record<string, unknown> };
      expect(Object.keys(stored.spec).filter((key) => ['v', 'w', 'x', 'y', 'z'].includes(key))).toEqual([]);
      answers.push((await call(`${deployments}/deep`, 'DELETE')).status);
      expect(answers).toEqual([201, 200, 200, 200, 200, 200, 400, 200, 200, 200]);
    });

    test.each([
      ['DELETE', '/api/v1/namespaces/default/configmaps/victim?gracePeriodSeconds=1e20'],
      ['DELETE', '/api/v1/namespaces/default/configmaps/victim?gracePeriodSeconds=99999999999999999999999'],
      ['DELETE', '/api/v1/namespaces/default/configmaps?gracePeriodSeconds=-1e300'],
      ['GET', '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1e20'],
      ['GET', '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=99999999999999999999'],
      ['GET', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=99999999999999999999999'],
      ['GET', '/api/v1/namespaces/default/configmaps?limit=1e20'],
      ['GET', '/api/v1/namespaces/default/configmaps?limit=-5'],
    ])('%s %s: an out-of-range number in the query is a 400', async (method, path) => {
      await createConfigMap('victim');
      const res = await call(`${url}${path}`, method);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', code: 400 });
    });

    test('a body in the DeleteOptions with an out-of-range grace period is a 400', async () => {
      await createConfigMap('victim');
      const res = await call(`${configMaps()}/victim`, 'DELETE', '{"gracePeriodSeconds":1e300}');
      expect(res.status).toBe(400);
    });

    test('an upgrade refused before authentication survives the client resetting the connection', async () => {
      const { port } = new URL(url);
      for (let i = 0; i < 20; i++) {
        const socket = connect(Number(port), '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write('GET /api/v1/namespaces/default/pods/p/exec?command=sh HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
        socket.resetAndDestroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await call(`${url}/readyz`)).status).toBe(200);
    });
  });

  describe('limits', () => {
    const configMaps = () => `${url}/api/v1/namespaces/default/configmaps`;

    /** Holds every list of ConfigMaps in the store until `release` (so requests stay in flight); `restore` also puts the store back. */
    function holdConfigMapLists(): { release: () => void; restore: () => void } {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const list = store.list.bind(store);
      store.list = async (prefix) => {
        if (prefix.includes('configmaps')) await held;
        return list(prefix);
      };
      return {
        release,
        restore: () => {
          release();
          store.list = list;
        },
      };
    }

    async function restart(limits: Partial<ServerLimits>): Promise<void> {
      watches.closeAll();
      await new Promise((r) => server.close(r));
      ({ server, url, watches } = await serve(store, { ...DEFAULT_LIMITS, ...limits }));
    }

    /** A watch held open on its own connection, as kubectl's; `read` false leaves its output unread. */
    function openWatch(path: string, read = true): Promise<{ status: number; headers: Record<string, unknown>; body: () => string; close: () => void }> {
      return new Promise((resolve, reject) => {
        const req = request(`${url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` }, agent: false }, (res) => {
          let text = '';
          if (read) res.on('data', (d) => (text += d));
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: () => text, close: () => req.destroy() });
        });
        req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
        req.end();
      });
    }

    test('a client over its watch limit gets 429 TooManyRequests with Retry-After, and a closed watch makes room', async () => {
      await restart({ maxWatchesPerClient: 3 });
      const open = await Promise.all([0, 1, 2].map(() => openWatch('/api/v1/namespaces/default/configmaps?watch=1')));
      expect(open.map((w) => w.status)).toEqual([200, 200, 200]);
      const refused = await openWatch('/api/v1/namespaces/default/configmaps?watch=1');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      await new Promise((r) => setTimeout(r, 50));
      expect(JSON.parse(refused.body())).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
      open[0]!.close();
      await waitFor(() => watches.count === 2);
      const again = await openWatch('/api/v1/namespaces/default/configmaps?watch=1');
      expect(again.status).toBe(200);
      for (const w of [...open, again]) w.close();
    });

    test('requests over the in-flight limit get 429, while health checks and watches are not counted', async () => {
      await restart({ maxRequestsInflight: 2 });
      const { release, restore } = holdConfigMapLists();
      try {
        const slow = [call(configMaps()), call(configMaps())];
        await new Promise((r) => setTimeout(r, 50));
        const refused = await call(configMaps());
        expect(refused.status).toBe(429);
        expect(JSON.parse(refused.body)).toMatchObject({ reason: 'TooManyRequests', code: 429 });
        expect((await call(`${url}/readyz`)).status).toBe(200);
        const rv = await store.currentRevision();
        const watch = await openWatch(`/api/v1/namespaces/default/secrets?watch=1&resourceVersion=${rv}`);
        expect(watch.status).toBe(200);
        watch.close();
        release();
        expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
        expect((await call(configMaps())).status).toBe(200);
      } finally {
        restore();
      }
    });

    test('a request with watch=1 that is no watch (a create, a delete, a get of one object) is counted', async () => {
      await restart({ maxRequestsInflight: 1, maxMutatingRequestsInflight: 1 });
      const { release, restore } = holdConfigMapLists();
      try {
        // A list and a deletecollection (which lists first), the latter with watch=1, hold the only slots.
        const slow = [call(configMaps()), call(`${configMaps()}?watch=1`, 'DELETE')];
        await new Promise((r) => setTimeout(r, 50));
        const configMap = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
        const refused = await Promise.all([
          call(`${configMaps()}?watch=1`, 'POST', configMap),
          call(`${configMaps()}/x?watch=true`, 'DELETE'),
          call(`${configMaps()}/x?watch=1`),
        ]);
        expect(refused.map((r) => r.status)).toEqual([429, 429, 429]);
        release();
        expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
      } finally {
        restore();
      }
    });

    test('the in-flight limits come before authorization: a request refused by both is 429, as in Kubernetes', async () => {
      await restart({ maxRequestsInflight: 1 });
      const denied = () => call(configMaps(), 'GET', undefined, 'application/json', JOIN_SECRET);
      expect((await denied()).status).toBe(403);
      const { release, restore } = holdConfigMapLists();
      try {
        const slow = call(configMaps());
        await new Promise((r) => setTimeout(r, 50));
        // The authorizer (whose node rules read the store) is not reached while the server is full.
        const refused = await denied();
        expect(refused.status).toBe(429);
        expect(JSON.parse(refused.body)).toMatchObject({ reason: 'TooManyRequests', code: 429 });
        release();
        expect((await slow).status).toBe(200);
        expect((await denied()).status).toBe(403);
      } finally {
        restore();
      }
    });

    test('a watch asked for a timeout longer than a timer holds stays open (and timeoutSeconds=0 is the default)', async () => {
      const rv = await store.currentRevision();
      const long = await openWatch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=${Number.MAX_SAFE_INTEGER}`);
      const zero = await openWatch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=0`);
      expect([long.status, zero.status]).toEqual([200, 200]);
      await new Promise((r) => setTimeout(r, 200));
      expect(watches.count).toBe(2);
      long.close();
      zero.close();
    });

    test('a watch whose client stops reading is ended once its unsent output passes the limit', async () => {
      await restart({ maxUnsentBytesPerWatch: 256 * 1024 });
      const rv = await store.currentRevision();
      const idle = await openWatch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`, false);
      expect(watches.count).toBe(1);
      const data = { a: 'x'.repeat(100_000) };
      // Enough to fill the kernel's socket buffers too: several MB the client never reads.
      for (let i = 0; i < 200 && watches.count > 0; i++) {
        await call(configMaps(), 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big-${i}` }, data }));
      }
      await waitFor(() => watches.count === 0, 10_000, 'the unread watch to end');
      idle.close();
    });
  });

  test("POST /v1-berth/registry/gc runs the registry's collection for the admin only, and says when the server runs no registry", async () => {
    const asked: GarbageCollectionRequest[] = [];
    const report = { blobsDeleted: 1, bytesDeleted: 10, blobsKept: 2, manifestsDeleted: 0, uploadsPurged: 0, deleted: [`sha256:${'a'.repeat(64)}`] };
    const registry: ClusterRegistryControl = {
      collectGarbage: async (request) => {
        asked.push(request);
        return report as Awaited<ReturnType<ClusterRegistryControl['collectGarbage']>>;
      },
    };
    const withRegistry = await serve(store, undefined, registry);
    const without = await serve(store);
    try {
      expect(await call(`${withRegistry.url}/v1-berth/registry/gc?dryRun=true`, 'POST')).toEqual({ status: 200, body: JSON.stringify(report) });
      expect(await call(`${withRegistry.url}/v1-berth/registry/gc?deleteUntagged=true`, 'POST')).toMatchObject({ status: 200 });
      expect(asked).toEqual([{ dryRun: true, deleteUntagged: false }, { dryRun: false, deleteUntagged: true }]);
      expect(await call(`${withRegistry.url}/v1-berth/registry/gc`, 'GET')).toMatchObject({ status: 405 });
      expect(await call(`${withRegistry.url}/v1-berth/registry/gc`, 'POST', undefined, 'application/json', JOIN_SECRET)).toMatchObject({ status: 403 });
      expect(await call(`${withRegistry.url}/v1-berth/registry/gc`, 'POST', undefined, 'application/json', 'wrong')).toMatchObject({ status: 401 });
      const none = await call(`${without.url}/v1-berth/registry/gc`, 'POST');
      expect(none.status).toBe(404);
      expect(JSON.parse(none.body).message).toBe('this server runs no registry (--registry-port 0)');
      expect(asked).toHaveLength(2);
    } finally {
      for (const { server } of [withRegistry, without]) await new Promise((r) => server.close(r));
    }
  });
});
