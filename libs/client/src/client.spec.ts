import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { resolveResourceName, ResourceType } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';
import { KubeClient, TABLE_ACCEPT } from './client';
import { StatusError } from './status';
import { createTestCA, freePort, waitFor, type TestCA } from '@berth/testing';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

function type(name: string): ResourceType {
  const found = resolveResourceName(name);
  if (!found) throw new Error(`no type ${name}`);
  return found;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('KubeClient against a scripted HTTP server', () => {
  let server: Server;
  let handler: Handler;
  let seen: Seen[];
  let client: KubeClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
        seen.push(request);
        handler(request, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    client = new KubeClient({ server: `http://127.0.0.1:${port}`, token: 's3cret', insecureSkipTLSVerify: false });
  });

  afterAll(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  beforeEach(() => {
    seen = [];
    handler = (_req, res) => sendJson(res, 200, { metadata: { name: 'x' } });
  });

  it('gets a namespaced object with the bearer token and fills in its type', async () => {
    const obj = await client.get(type('deploy'), 'web', { namespace: 'prod' });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/apis/apps/v1/namespaces/prod/deployments/web' });
    expect(seen[0].headers.authorization).toBe('Bearer s3cret');
    expect(obj).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
  });

  it('defaults the namespace of namespaced types and leaves cluster-scoped paths alone', async () => {
    await client.get(type('po'), 'p');
    await client.get(type('no'), 'n1', { namespace: 'ignored' });
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/namespaces/default/pods/p', '/api/v1/nodes/n1']);
  });

  it('lists across all namespaces or one, with selectors, and types the items', async () => {
    handler = (_req, res) => sendJson(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'a' } }] });
    const all = await client.list(type('pods'), { labelSelector: 'app=web,tier in (a,b)', fieldSelector: 'spec.nodeName=n1' });
    await client.list(type('pods'), { namespace: 'kube-system' });
    expect(seen[0].url).toBe('/api/v1/pods?labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29&fieldSelector=spec.nodeName%3Dn1');
    expect(seen[1].url).toBe('/api/v1/namespaces/kube-system/pods');
    expect(all.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } });
    expect(all.metadata.resourceVersion).toBe('7');
  });

  it('creates, updates and updates status at the right paths', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns1' }, data: { a: '1' } };
    await client.create(type('cm'), cm, { fieldManager: 'me' });
    await client.update(type('cm'), cm);
    await client.updateStatus(type('deploy'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /api/v1/namespaces/ns1/configmaps?fieldManager=me',
      'PUT /api/v1/namespaces/ns1/configmaps/c',
      'PUT /apis/apps/v1/namespaces/default/deployments/d/status',
    ]);
    expect(JSON.parse(seen[0].body)).toEqual(cm);
    expect(seen[0].headers['content-type']).toBe('application/json');
  });

  it('sends each patch type with its content type, and apply with fieldManager and force', async () => {
    const deploy = type('deployments.apps');
    await client.patch(deploy, 'd', { spec: { replicas: 2 } }, { type: 'merge' });
    await client.patch(deploy, 'd', { spec: { replicas: 2 } }, { type: 'strategic' });
    await client.patch(deploy, 'd', [{ op: 'replace', path: '/spec/replicas', value: 2 }], { type: 'json' });
    await client.patch(deploy, 'd', { spec: { replicas: 3 } }, { type: 'merge', subresource: 'scale' });
    await client.apply(deploy, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }, { fieldManager: 'berth', force: true });
    expect(seen.map((s) => s.headers['content-type'])).toEqual([
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ]);
    expect(seen[3].url).toBe('/apis/apps/v1/namespaces/default/deployments/d/scale');
    expect(seen[4].url).toBe('/apis/apps/v1/namespaces/default/deployments/d?fieldManager=berth&force=true');
    expect(JSON.parse(seen[4].body).metadata).toEqual({ name: 'd', namespace: 'default' });
    await expect(client.patch(deploy, 'd', {}, { type: 'apply' })).rejects.toThrow('fieldManager is required');
  });

  it('deletes with a propagation policy', async () => {
    handler = (_req, res) => sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    const answer = await client.delete(type('rs'), 'r', { namespace: 'a', propagationPolicy: 'Foreground' });
    expect(seen[0]).toMatchObject({ method: 'DELETE', url: '/apis/apps/v1/namespaces/a/replicasets/r' });
    expect(JSON.parse(seen[0].body)).toMatchObject({ propagationPolicy: 'Foreground' });
    expect(answer).toMatchObject({ kind: 'Status', status: 'Success' });
  });

  it('pages lists and deletes collections by selector', async () => {
    handler = (_req, res) => sendJson(res, 200, { kind: 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: [] });
    await client.list(type('cm'), { namespace: 'a', limit: 2, continue: 'tok' });
    await client.deleteCollection(type('cm'), { namespace: 'a', labelSelector: 'app=web', propagationPolicy: 'Background' });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/namespaces/a/configmaps?limit=2&continue=tok',
      'DELETE /api/v1/namespaces/a/configmaps?labelSelector=app%3Dweb',
    ]);
    expect(JSON.parse(seen[1].body)).toMatchObject({ propagationPolicy: 'Background' });
  });

  it('asks for a Table and rejects an answer that is not one', async () => {
    handler = (_req, res) =>
      sendJson(res, 200, { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: {}, columnDefinitions: [{ name: 'Name' }], rows: [] });
    const table = await client.getTable(type('svc'), { namespace: 'default', labelSelector: 'a=b' });
    await client.getTable(type('svc'), { namespace: 'default', name: 'web' });
    expect(seen[0].headers.accept).toBe(TABLE_ACCEPT);
    expect(seen[0].url).toBe('/api/v1/namespaces/default/services?labelSelector=a%3Db');
    expect(seen[1].url).toBe('/api/v1/namespaces/default/services/web');
    expect(table.columnDefinitions[0].name).toBe('Name');
    handler = (_req, res) => sendJson(res, 200, { kind: 'ServiceList', items: [] });
    await expect(client.getTable(type('svc'))).rejects.toThrow('did not answer with a Table');
  });

  it('turns a Status error body into a BerthError with the same reason and message', async () => {
    handler = (_req, res) =>
      sendJson(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods "x" not found', reason: 'NotFound', details: { name: 'x', kind: 'pods' }, code: 404 });
    const err = await client.get(type('po'), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect(err).toMatchObject({ reason: 'NotFound', message: 'pods "x" not found', code: 404, details: { name: 'x' } });
    expect(isBerthError(err, 'NotFound')).toBe(true);
  });

  it('maps reasons outside the vocabulary and bodies without a Status by HTTP code', async () => {
    handler = (_req, res) => sendJson(res, 410, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1 (5)', reason: 'Expired', code: 410 });
    await expect(client.list(type('po'))).rejects.toMatchObject({ reason: 'Compacted', statusReason: 'Expired', message: 'too old resource version: 1 (5)' });
    handler = (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found');
    };
    await expect(client.list(type('po'))).rejects.toMatchObject({ reason: 'NotFound', message: 'the server could not find the requested resource' });
    handler = (_req, res) => {
      res.writeHead(502);
      res.end('bad gateway');
    };
    await expect(client.list(type('po'))).rejects.toMatchObject({ reason: 'InternalError', message: expect.stringContaining('bad gateway') });
  });

  it('streams watch events as they arrive until closed', async () => {
    let respond: ServerResponse | undefined;
    handler = (_req, res) => {
      respond = res;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '11' } } }) + '\n');
      // an event split across writes still decodes as one
      const second = JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '12' } } });
      res.write(second.slice(0, 10));
      res.write(second.slice(10) + '\n');
    };
    const watch = await client.watch(type('po'), { namespace: 'default', resourceVersion: '10', allowWatchBookmarks: true });
    const received: string[] = [];
    for await (const event of watch) {
      received.push(`${event.type} ${event.object.kind} ${event.object.metadata.resourceVersion}`);
      if (received.length === 2) watch.close();
    }
    expect(received).toEqual(['ADDED Pod 11', 'MODIFIED Pod 12']);
    expect(seen[0].url).toBe('/api/v1/namespaces/default/pods?resourceVersion=10&watch=1&allowWatchBookmarks=true');
    expect(respond).toBeDefined();
  });

  it('ends a watch when the server closes it and throws an ERROR event as its BerthError', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'a' } } }) + '\n');
    };
    const events = [];
    for await (const event of await client.watch(type('cm'))) events.push(event.type);
    expect(events).toEqual(['DELETED']);

    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
      res.write(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', message: 'too old resource version: 3 (9)', code: 410 } }) + '\n');
    };
    const types: string[] = [];
    const failure = await (async () => {
      for await (const event of await client.watch(type('cm'), { resourceVersion: '3' })) types.push(event.type);
    })().catch((e: unknown) => e);
    expect(types).toEqual(['ADDED']);
    expect(failure).toMatchObject({ reason: 'Compacted', message: 'too old resource version: 3 (9)' });
  });

  it('watches Tables for get -w', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ type: 'ADDED', object: { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: {}, rows: [{ cells: ['a', '1s'] }] } }) + '\n');
    };
    const rows = [];
    for await (const event of await client.watchTable(type('po'), { namespace: 'default', resourceVersion: '5' })) rows.push(event.object.rows[0].cells);
    expect(rows).toEqual([['a', '1s']]);
    expect(seen[0].headers.accept).toBe(TABLE_ACCEPT);
  });
});

describe('KubeClient connection failures', () => {
  it('names the server when the connection is refused', async () => {
    const port = await freePort();
    const client = new KubeClient({ server: `https://127.0.0.1:${port}`, insecureSkipTLSVerify: false });
    try {
      const err = await client.get(type('po'), 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BerthError);
      expect(err).toMatchObject({
        reason: 'ServiceUnavailable',
        message: `The connection to the server 127.0.0.1:${port} was refused - did you specify the right host or port?`,
      });
    } finally {
      client.close();
    }
  });
});

describe('KubeClient with a renewed client certificate', () => {
  let ca: TestCA;
  let server: HttpsServer;
  let url: string;
  /** `<path> <serial>` of every request: the path and the certificate the client presented. */
  const requests: string[] = [];
  /** The serial of the certificate of every connection that has closed. */
  const closed: string[] = [];
  const watches: ServerResponse[] = [];

  beforeAll(async () => {
    ca = await createTestCA();
    const tls = await ca.issue({ subject: 'CN=server', ips: ['127.0.0.1'] });
    // Client certificates are verified, as the API server does: a request without a valid one never arrives.
    server = createHttpsServer({ cert: tls.cert, key: tls.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      requests.push(`${req.url?.split('?')[0]} ${(req.socket as TLSSocket).getPeerCertificate().serialNumber}`);
      if (req.url?.includes('watch=1')) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
        watches.push(res);
        return;
      }
      sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'] });
    });
    // Idle connections stay open on the server's side: only the client closes them here.
    server.keepAliveTimeout = 120_000;
    server.on('secureConnection', (socket: TLSSocket) => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.on('close', () => closed.push(serial));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends later requests with the new certificate, lets an open watch go on with the old one, and closes the old connections', async () => {
    const first = await ca.issue({ subject: 'CN=system:node:a' });
    const second = await ca.issue({ subject: 'CN=system:node:a' });
    const client = new KubeClient({ server: url, ca: ca.cert, insecureSkipTLSVerify: false, clientCert: first.cert, clientKey: first.key });
    try {
      const watch = (await client.watch(type('po')))[Symbol.asyncIterator]();
      // On a second connection (the watch holds the first), kept alive and idle afterwards.
      await client.request({ method: 'GET', path: '/api' });
      client.updateCredentials({ clientCert: second.cert, clientKey: second.key });
      expect(client.connection).toMatchObject({ server: url, ca: ca.cert, clientCert: second.cert, clientKey: second.key });
      await client.request({ method: 'GET', path: '/api' });
      expect(requests).toEqual([`/api/v1/pods ${first.serialNumber}`, `/api ${first.serialNumber}`, `/api ${second.serialNumber}`]);
      // The idle connection made with the old certificate is closed; the watch's is not.
      await waitFor(() => closed.includes(first.serialNumber), 10_000, 'the idle connection to close');
      expect(closed).toEqual([first.serialNumber]);
      watches[0]!.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'after-renewal' } } })}\n`);
      expect((await watch.next()).value?.object.metadata?.name).toBe('after-renewal');
      // When the watch ends, its connection closes rather than going back to a pool for reuse.
      watches[0]!.end();
      expect((await watch.next()).done).toBe(true);
      await waitFor(() => closed.length === 2, 10_000, 'the watch connection to close');
      expect(closed).toEqual([first.serialNumber, first.serialNumber]);
      await client.request({ method: 'GET', path: '/api' });
      expect(requests.at(-1)).toBe(`/api ${second.serialNumber}`);
    } finally {
      client.close();
    }
  });
});
