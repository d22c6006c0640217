import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errors } from '@berth/errors';
import { sha256 } from '@berth/image';
import type { RegistryAccess, RegistryAuthorizer } from './access';
import { createRegistryHandler } from './handler';
import { RegistryStorage } from './storage';

describe('createRegistryHandler', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let storage: RegistryStorage;
  let asked: RegistryAccess[][];
  let decide: (access: RegistryAccess[]) => Promise<void>;
  let internal: unknown[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-registry-handler-'));
    storage = await RegistryStorage.open(dir);
    asked = [];
    internal = [];
    decide = async () => undefined;
    const authorize: RegistryAuthorizer = async (_request, access) => {
      asked.push(access);
      await decide(access);
    };
    const handler = createRegistryHandler({ storage, authorize, maxManifestBytes: 1024, onInternalError: (err) => internal.push(err) });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
  const codeOf = async (res: Response) => ((await res.json()) as { errors: { code: string }[] }).errors[0].code;

  it('asks the authorizer for what each request does', async () => {
    await call('/v2/');
    await call('/v2/_catalog');
    await call('/v2/a/app/tags/list');
    await call('/v2/a/app/blobs/uploads/', { method: 'POST' });
    await call('/v2/a/app/manifests/v1', { method: 'DELETE' });
    expect(asked).toEqual([
      [],
      [{ repository: '*', actions: ['pull'] }],
      [{ repository: 'a/app', actions: ['pull'] }],
      [{ repository: 'a/app', actions: ['pull', 'push'] }],
      [{ repository: 'a/app', actions: ['delete'] }],
    ]);
  });

  it('answers Unauthorized with 401 and its challenge, Forbidden with 403 DENIED, anything else with 500', async () => {
    decide = async () => {
      throw errors.unauthorized('no credential', 'Basic realm="berth"');
    };
    const unauthorized = await call('/v2/');
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('www-authenticate')).toBe('Basic realm="berth"');
    expect(unauthorized.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await codeOf(unauthorized)).toBe('UNAUTHORIZED');

    decide = async () => {
      throw errors.forbidden('read only');
    };
    const forbidden = await call('/v2/a/app/blobs/uploads/', { method: 'POST' });
    expect(forbidden.status).toBe(403);
    expect(await codeOf(forbidden)).toBe('DENIED');
    expect(readdirSync(join(dir, 'uploads'))).toEqual([]);

    decide = async () => {
      throw new Error('the token service is down');
    };
    const broken = await call('/v2/a/app/tags/list');
    expect(broken.status).toBe(500);
    expect(await codeOf(broken)).toBe('UNKNOWN');
    expect(internal).toHaveLength(1);
  });

  it('falls back to an upload when the client may not pull the mount source', async () => {
    const data = Buffer.from('secret layer');
    await storage.putBlob('private/app', [data], sha256(data));
    decide = async (access) => {
      if (access.some((a) => a.repository === 'private/app')) throw errors.forbidden('not yours');
    };
    const res = await call(`/v2/mine/app/blobs/uploads/?mount=${sha256(data)}&from=private/app`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toMatch(/^\/v2\/mine\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(await storage.statBlob('mine/app', sha256(data))).toBeUndefined();
  });

  it('refuses a manifest above the size bound (413) and a malformed Content-Range (416)', async () => {
    const big = await call('/v2/a/app/manifests/v1', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: Buffer.alloc(2048, 0x20),
    });
    expect(big.status).toBe(413);
    expect(await codeOf(big)).toBe('SIZE_INVALID');

    const start = await call('/v2/a/app/blobs/uploads/', { method: 'POST' });
    const range = await call(start.headers.get('location')!, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': 'bytes=zero-ten' },
      body: Buffer.from('abc'),
    });
    expect(range.status).toBe(416);
    expect(await codeOf(range)).toBe('BLOB_UPLOAD_INVALID');
  });

  it('serves suffix ranges and pages the catalog with a Link', async () => {
    const data = Buffer.from('0123456789');
    await storage.putBlob('a/app', [data], sha256(data));
    const tail = await call(`/v2/a/app/blobs/${sha256(data)}`, { headers: { Range: 'bytes=-3' } });
    expect(tail.status).toBe(206);
    expect(await tail.text()).toBe('789');
    expect(tail.headers.get('content-range')).toBe('bytes 7-9/10');

    const config = Buffer.from('{}');
    for (const name of ['a/app', 'b/app', 'c/app']) {
      await storage.putBlob(name, [config], sha256(config));
      const manifest = JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: 2 }, layers: [] });
      await storage.putManifest(name, { tag: 'v1' }, Buffer.from(manifest), 'application/vnd.oci.image.manifest.v1+json');
    }
    const page = await call('/v2/_catalog?n=2');
    expect(await page.json()).toEqual({ repositories: ['a/app', 'b/app'] });
    expect(page.headers.get('link')).toBe('</v2/_catalog?n=2&last=b%2Fapp>; rel="next"');
    const next = await call('/v2/_catalog?n=2&last=b%2Fapp');
    expect(await next.json()).toEqual({ repositories: ['c/app'] });
    expect(next.headers.get('link')).toBeNull();
  });

  it('keeps what arrived before a client dropped a streamed chunk, and the upload resumes from there', async () => {
    const start = await call('/v2/a/app/blobs/uploads/', { method: 'POST' });
    const location = start.headers.get('location')!;
    const id = location.split('/').pop()!;
    const first = Buffer.alloc(1000, 0x61);
    const dropped = request(`${base}${location}`, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } });
    dropped.on('error', () => undefined);
    dropped.write(first);
    for (let i = 0; i < 1000 && (await storage.uploadStatus('a/app', id)).offset < first.length; i++) await new Promise((r) => setTimeout(r, 10));
    dropped.destroy();

    const rest = Buffer.from('the rest');
    const resumed = await call(location, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${first.length}-${first.length + rest.length - 1}` },
      body: rest,
    });
    expect(resumed.status).toBe(202);
    expect(resumed.headers.get('range')).toBe(`0-${first.length + rest.length - 1}`);
    const whole = Buffer.concat([first, rest]);
    const done = await call(`${location}?digest=${sha256(whole)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    expect(internal).toEqual([]);
  });
});
