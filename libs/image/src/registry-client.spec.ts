import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isBerthError } from '@berth/errors';
import { sha256, type Digest } from './digest';
import { ImageStore } from './image-store';
import { hostPlatform, MediaType } from './oci';
import { RegistriesConfig, RegistryResolver } from './registry-config';
import { RegistryClient, type RegistryProgress } from './registry-client';
import { tarball } from './tarball';
import { OverlaySnapshotter } from './snapshotter';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

interface Logged {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

/**
 * A distribution registry in memory, small enough to misbehave on request: Basic or token auth, a blob
 * cut short on its first transfer, a manifest that is not what its digest says.
 */
class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  /** `repo@digest` of every blob a repository holds (distribution's links). */
  readonly links = new Set<string>();
  readonly manifests = new Map<string, { type: string; body: Buffer }>();
  readonly log: Logged[] = [];
  auth: 'none' | 'basic' | 'bearer' = 'none';
  readonly users: Record<string, string> = { alice: 'secret' };
  /** Blobs whose next GET sends half and drops the connection. */
  readonly truncateOnce = new Set<string>();
  /** Serve these bytes instead of the manifest's own, keeping the headers of the original. */
  readonly liesAbout = new Map<string, Buffer>();
  private tokens = new Map<string, { user?: string; scopes: string[] }>();
  private uploads = new Map<string, Buffer[]>();
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get host(): string {
    return new URL(this.url).host;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  requests(method: string, pathPart: string): Logged[] {
    return this.log.filter((l) => l.method === method && l.path.includes(pathPart));
  }

  putManifest(repo: string, ref: string, type: string, body: Buffer): Digest {
    const digest = sha256(body);
    this.manifests.set(`${repo}:${ref}`, { type, body });
    this.manifests.set(`${repo}:${digest}`, { type, body });
    return digest;
  }

  /** An image of `layers` (plain tars, stored gzipped) under repo:tag; its manifest digest. */
  async addImage(repo: string, tag: string, files: string[][]): Promise<{ digest: Digest; layers: Digest[]; config: Digest }> {
    const diffIds: Digest[] = [];
    const layers = [];
    for (const names of files) {
      const tar = await tarball(names.map((name) => ({ name, content: `content of ${name}\n`.repeat(2000) })));
      const gz = gzipSync(tar);
      diffIds.push(sha256(tar));
      this.blobs.set(sha256(gz), gz);
      this.links.add(`${repo}@${sha256(gz)}`);
      layers.push({ mediaType: MediaType.ociLayerGzip, digest: sha256(gz), size: gz.length });
    }
    const config = json({ ...hostPlatform(), config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } });
    this.blobs.set(sha256(config), config);
    this.links.add(`${repo}@${sha256(config)}`);
    const manifest = json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length }, layers });
    return { digest: this.putManifest(repo, tag, MediaType.ociManifest, manifest), layers: layers.map((l) => l.digest), config: sha256(config) };
  }

  private authorized(req: IncomingMessage, res: ServerResponse, repo: string, action: 'pull' | 'push'): boolean {
    const header = req.headers.authorization ?? '';
    if (this.auth === 'none') return true;
    if (this.auth === 'basic') {
      const [user, pass] = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString().split(':');
      if (header.startsWith('Basic ') && this.users[user!] === pass) return true;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return false;
    }
    const token = this.tokens.get(header.replace(/^Bearer /, ''));
    if (token?.scopes.some((s) => s === `repository:${repo}:${action}` || s === `repository:${repo}:pull,push`)) return true;
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${this.url}/token",service="fake",scope="repository:${repo}:${action}"` });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, this.url);
    this.log.push({ method: req.method!, path: url.pathname + url.search, range: req.headers.range, authorization: req.headers.authorization });
    const body = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    });
    if (url.pathname === '/token' && req.method === 'POST') {
      // OAuth2 refresh-token grant (docker's identity token): one refresh token per user, as a login issued.
      const form = new URLSearchParams(body.toString());
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== 'refresh-alice') {
        res.writeHead(401, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid refresh token' }] }));
      }
      const token = `tok-${this.tokens.size + 1}`;
      this.tokens.set(token, { user: 'alice', scopes: (form.get('scope') ?? '').split(' ') });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ access_token: token, expires_in: 300 }));
    }
    if (url.pathname === '/token') {
      const header = req.headers.authorization;
      let user: string | undefined;
      if (header) {
        const [u, p] = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString().split(':');
        if (this.users[u!] !== p) {
          res.writeHead(401, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));
        }
        user = u;
      }
      const scopes = url.searchParams.getAll('scope').filter((s) => user || s.endsWith(':pull'));
      const token = `tok-${this.tokens.size + 1}`;
      this.tokens.set(token, { user, scopes });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ token, expires_in: 300 }));
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (!m) {
      res.statusCode = 404;
      return void res.end();
    }
    const [, repo, kind, rest] = m as unknown as [string, string, string, string];
    const push = req.method !== 'GET' && req.method !== 'HEAD';
    if (!this.authorized(req, res, repo, push ? 'push' : 'pull')) return;
    if (kind === 'manifests') {
      if (req.method === 'PUT') {
        const digest = this.putManifest(repo, rest, String(req.headers['content-type']), body);
        res.writeHead(201, { 'docker-content-digest': digest, location: `/v2/${repo}/manifests/${digest}` });
        return void res.end();
      }
      const found = this.manifests.get(`${repo}:${rest}`);
      if (!found) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
      }
      const digest = sha256(found.body);
      const sent = this.liesAbout.get(digest) ?? found.body;
      res.writeHead(200, { 'content-type': found.type, 'docker-content-digest': digest, 'content-length': sent.length });
      return void res.end(req.method === 'HEAD' ? undefined : sent);
    }
    if (rest.startsWith('uploads/')) return this.upload(req, res, repo, rest.slice('uploads/'.length), url, body);
    const blob = this.links.has(`${repo}@${rest}`) ? this.blobs.get(rest) : undefined;
    if (!blob) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] }));
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': blob.length, 'docker-content-digest': rest });
      return void res.end();
    }
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const part = blob.subarray(start);
    res.writeHead(start ? 206 : 200, { 'content-length': part.length, ...(start ? { 'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}` } : {}) });
    if (this.truncateOnce.delete(rest)) {
      res.write(part.subarray(0, Math.floor(part.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(part);
  }

  private upload(req: IncomingMessage, res: ServerResponse, repo: string, id: string, url: URL, body: Buffer): void {
    if (req.method === 'POST' && id === '') {
      const mount = url.searchParams.get('mount');
      if (mount && this.links.has(`${url.searchParams.get('from')}@${mount}`)) {
        this.links.add(`${repo}@${mount}`);
        res.writeHead(201, { location: `/v2/${repo}/blobs/${mount}`, 'docker-content-digest': mount });
        return void res.end();
      }
      const uuid = `u${this.uploads.size + 1}`;
      this.uploads.set(uuid, []);
      res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${uuid}?_state=x`, 'docker-upload-uuid': uuid, range: '0-0' });
      return void res.end();
    }
    const parts = this.uploads.get(id);
    if (!parts) {
      res.statusCode = 404;
      return void res.end();
    }
    parts.push(body);
    if (req.method === 'PATCH') {
      const size = parts.reduce((n, p) => n + p.length, 0);
      res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${id}?_state=y`, range: `0-${size - 1}` });
      return void res.end();
    }
    const data = Buffer.concat(parts);
    const digest = url.searchParams.get('digest');
    if (digest !== sha256(data)) {
      res.writeHead(400, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'digest mismatch' }] }));
    }
    this.blobs.set(digest, data);
    this.links.add(`${repo}@${digest}`);
    this.uploads.delete(id);
    res.writeHead(201, { location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest });
    res.end();
  }
}

describe('RegistryClient', () => {
  let dir: string;
  let store: ImageStore;
  const registries: FakeRegistry[] = [];
  const clients: RegistryClient[] = [];

  const registry = async () => {
    const r = await new FakeRegistry().start();
    registries.push(r);
    return r;
  };
  /** A client that reaches each fake registry over plain HTTP, as the cluster's ConfigureRegistries would say. */
  const clientFor = (rs: FakeRegistry[], config = RegistriesConfig.empty) => {
    const client = new RegistryClient(store, new RegistryResolver(config, rs.map((r) => ({ host: r.host, endpoint: r.url }))), { backoffMs: 1, monolithicUploadBytes: 64 });
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-registry-client-'));
    store = await ImageStore.open(dir);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const r of registries.splice(0)) await r.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pulls by tag through the anonymous token flow, reusing the token, and records the repo digest', async () => {
    const r = await registry();
    r.auth = 'bearer';
    const image = await r.addImage('team/app', '1', [['a'], ['b']]);
    const client = clientFor([r]);
    const lines: RegistryProgress[] = [];
    const result = await client.pull(`${r.host}/team/app:1`, { onProgress: (p) => lines.push(p) });
    expect(result.digest).toBe(image.digest);
    expect(result.image.names).toEqual([`${r.host}/team/app:1`]);
    expect(result.image.repoDigests).toEqual([`${r.host}/team/app@${image.digest}`]);
    expect(await store.resolve(`${r.host}/team/app@${image.digest}`)).toBe(image.digest);
    expect(lines.filter((l) => l.status === 'Download complete').map((l) => l.id).sort()).toEqual(image.layers.map((l) => l.slice(7, 19)).sort());
    expect(result.upToDate).toBe(false);
    // Again: nothing downloaded, the image is up to date.
    const again: RegistryProgress[] = [];
    const second = await client.pull(`${r.host}/team/app:1`, { onProgress: (p) => again.push(p) });
    expect(second.upToDate).toBe(true);
    expect(again.filter((l) => l.status === 'Already exists')).toHaveLength(2);
    // One token for the repository's pull scope serves every request after the first challenge.
    expect(r.requests('GET', '/token')).toHaveLength(1);
    expect(r.requests('GET', '/blobs/')).toHaveLength(3);
    expect(r.requests('GET', '/blobs/').every((l) => l.authorization === 'Bearer tok-1')).toBe(true);
  });

  it('sends Basic credentials when challenged, and says so when they are wrong', async () => {
    const r = await registry();
    r.auth = 'basic';
    await r.addImage('app', 'v1', [['x']]);
    const client = clientFor([r]);
    await expect(client.pull(`${r.host}/app:v1`)).rejects.toThrow(/authentication required: log in to/);
    await expect(client.pull(`${r.host}/app:v1`, { auth: { username: 'alice', password: 'wrong' } })).rejects.toThrow(/incorrect username or password/);
    const ok = await client.pull(`${r.host}/app:v1`, { auth: { username: 'alice', password: 'secret' } });
    expect(ok.image.names).toEqual([`${r.host}/app:v1`]);
  });

  it('never lets a token one password earned serve a request with another', async () => {
    const r = await registry();
    r.auth = 'bearer';
    await r.addImage('app', 'v1', [['x']]);
    const client = clientFor([r]);
    await client.pull(`${r.host}/app:v1`, { auth: { username: 'alice', password: 'secret' } });
    await expect(client.pull(`${r.host}/app:v1`, { auth: { username: 'alice', password: 'wrong' } })).rejects.toThrow(/incorrect username or password/);
  });

  it('trades an identity token for access tokens (the OAuth2 refresh-token grant)', async () => {
    const r = await registry();
    r.auth = 'bearer';
    await r.addImage('app', 'v1', [['x']]);
    const client = clientFor([r]);
    await client.pull(`${r.host}/app:v1`);
    await store.tag(`${r.host}/app:v1`, `${r.host}/app:v2`);
    await client.push(`${r.host}/app:v2`, { auth: { identityToken: 'refresh-alice' } });
    expect(r.manifests.has('app:v2')).toBe(true);
    await expect(client.push(`${r.host}/app:v2`, { auth: { identityToken: 'stolen' } })).rejects.toThrow(/incorrect username or password/);
  });

  it('takes credentials from registries.yaml configs when the request has none', async () => {
    const r = await registry();
    r.auth = 'bearer';
    await r.addImage('private', 'v1', [['x']]);
    // Anonymous tokens only cover pulls here, so a push proves the configured user was used.
    const config = await RegistriesConfig.parse(`configs:\n  "${r.host}":\n    auth:\n      username: alice\n      password: secret\n`, 'registries.yaml');
    const client = clientFor([r], config);
    await client.pull(`${r.host}/private:v1`);
    await store.tag(`${r.host}/private:v1`, `${r.host}/private:v2`);
    await client.push(`${r.host}/private:v2`);
    expect(r.manifests.has('private:v2')).toBe(true);
    expect(r.requests('GET', '/token').some((l) => l.authorization?.startsWith('Basic '))).toBe(true);
  });

  it('refuses a manifest whose content is not the digest it was asked for, and a blob that is not its digest', async () => {
    const r = await registry();
    const image = await r.addImage('app', '1', [['a']]);
    r.liesAbout.set(image.digest, json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: image.config, size: 1 }, layers: [] }));
    const client = clientFor([r]);
    await expect(client.pull(`${r.host}/app@${image.digest}`)).rejects.toThrow(/not the sha256:[0-9a-f]+ asked for/);
    await expect(client.pull(`${r.host}/app:1`)).rejects.toThrow(/says its digest is/);
    r.liesAbout.clear();
    r.blobs.set(image.layers[0]!, gzipSync(await tarball([{ name: 'evil', content: 'x' }])));
    const err = await client.pull(`${r.host}/app:1`).catch((e) => e);
    expect(isBerthError(err, 'BadRequest')).toBe(true);
    expect(String(err.message)).toMatch(/digest mismatch|the manifest says/);
    expect((await store.list()).length).toBe(0);
  });

  it('refuses a layer that is no safe tar, and a config whose diff IDs are not its layers, keeping neither', async () => {
    const r = await registry();
    const junk = gzipSync(Buffer.alloc(4096, 7));
    r.blobs.set(sha256(junk), junk);
    r.links.add(`app@${sha256(junk)}`);
    const config = json({ ...hostPlatform(), rootfs: { type: 'layers', diff_ids: [sha256('x')] } });
    r.blobs.set(sha256(config), config);
    r.links.add(`app@${sha256(config)}`);
    const manifest = (layer: Buffer) =>
      json({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length }, layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256(layer), size: layer.length }] });
    r.putManifest('app', 'junk', MediaType.ociManifest, manifest(junk));
    const client = clientFor([r]);
    await expect(client.pull(`${r.host}/app:junk`)).rejects.toThrow(/not a valid tar archive/);
    expect(await store.content.has(sha256(junk))).toBe(false);
    const escaping = gzipSync(await tarball([{ name: '../escape', content: 'x' }]));
    r.blobs.set(sha256(escaping), escaping);
    r.links.add(`app@${sha256(escaping)}`);
    r.putManifest('app', 'escaping', MediaType.ociManifest, manifest(escaping));
    await expect(client.pull(`${r.host}/app:escaping`)).rejects.toThrow(/escape/);
    const fine = gzipSync(await tarball([{ name: 'ok', content: 'x' }]));
    r.blobs.set(sha256(fine), fine);
    r.links.add(`app@${sha256(fine)}`);
    r.putManifest('app', 'lying-config', MediaType.ociManifest, manifest(fine));
    await expect(client.pull(`${r.host}/app:lying-config`)).rejects.toThrow(/has diff ID sha256:[0-9a-f]+, the config says/);
    expect(await store.list()).toEqual([]);
  });

  it('resumes a layer cut short with a Range request from where it stopped', async () => {
    const r = await registry();
    const image = await r.addImage('app', '1', [['big1', 'big2', 'big3']]);
    r.truncateOnce.add(image.layers[0]!);
    const client = clientFor([r]);
    await client.pull(`${r.host}/app:1`);
    const gets = r.requests('GET', `/blobs/${image.layers[0]}`);
    expect(gets).toHaveLength(2);
    expect(gets[0]!.range).toBeUndefined();
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(await store.content.has(image.layers[0]!)).toBe(true);
  });

  it("reports docker's per-layer progress: Waiting behind the 3 parallel downloads, Extracting and Pull complete as each layer is unpacked", async () => {
    const r = await registry();
    const image = await r.addImage('app', '1', [['a'], ['b'], ['c'], ['d'], ['e']]);
    const client = clientFor([r]);
    const snapshotter = await OverlaySnapshotter.open(join(dir, 'snapshots'), store);
    const lines: RegistryProgress[] = [];
    await client.pull(`${r.host}/app:1`, { onProgress: (p) => lines.push(p), unpack: (digest, onLayer) => snapshotter.unpackImage(digest, onLayer) });
    const ids = image.layers.map((l) => l.slice(7, 19));
    const of = (id: string) => lines.filter((l) => l.id === id && l.status !== 'Downloading').map((l) => l.status);
    // The config and the first two layers start at once; the other three wait for their turn.
    for (const id of ids.slice(0, 2)) expect(of(id)).toEqual(['Pulling fs layer', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']);
    for (const id of ids.slice(2)) expect(of(id)).toEqual(['Pulling fs layer', 'Waiting', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']);
    // Each layer is extracted and complete before the next is extracted, bottom layer first.
    const unpacking = lines.filter((l) => l.status === 'Extracting' || l.status === 'Pull complete').map((l) => `${l.status} ${l.id}`);
    expect(unpacking).toEqual(ids.flatMap((id) => [`Extracting ${id}`, `Pull complete ${id}`]));
    expect(lines[lines.length - 1]!.status).toBe(`Digest: ${image.digest}`);

    // Again: every layer "Already exists", and nothing is extracted or pulled.
    const again: RegistryProgress[] = [];
    await client.pull(`${r.host}/app:1`, { onProgress: (p) => again.push(p), unpack: (digest, onLayer) => snapshotter.unpackImage(digest, onLayer) });
    expect(again.filter((l) => l.id).map((l) => l.status)).toEqual(ids.map(() => 'Already exists'));
  });

  it('downloads each blob once when two pulls of the image run at the same moment', async () => {
    const r = await registry();
    const image = await r.addImage('app', '1', [['a'], ['b'], ['c']]);
    await r.addImage('app', '1', [['a'], ['b'], ['c']]);
    const client = clientFor([r]);
    const [one, two] = await Promise.all([client.pull(`${r.host}/app:1`), client.pull(`${r.host}/app:1`)]);
    expect(one.image.digest).toBe(two.image.digest);
    for (const blob of [...image.layers, image.config]) expect(r.requests('GET', `/blobs/${blob}`)).toHaveLength(1);
  });

  it('pulls through a mirror (with its rewrite), and falls back to the registry when the mirror lacks the image', async () => {
    const upstream = await registry();
    const mirror = await registry();
    const onMirror = await mirror.addImage('mirrored/app', '1', [['m']]);
    await upstream.addImage('app', '1', [['u']]);
    const onlyUpstream = await upstream.addImage('other', '1', [['o']]);
    const config = await RegistriesConfig.parse(
      `mirrors:\n  "${upstream.host}":\n    endpoint: ["${mirror.url}"]\n    rewrite:\n      "^app$": "mirrored/app"\n`,
      'registries.yaml',
    );
    const client = clientFor([upstream], config);
    expect((await client.pull(`${upstream.host}/app:1`)).digest).toBe(onMirror.digest);
    expect(upstream.requests('GET', '/manifests/')).toHaveLength(0);
    expect((await client.pull(`${upstream.host}/other:1`)).digest).toBe(onlyUpstream.digest);
    expect(mirror.requests('GET', '/v2/other/manifests/1')).toHaveLength(1);
  });

  it("picks the platform's manifest from an index, and refuses schema 1", async () => {
    const r = await registry();
    const image = await r.addImage('app', 'amd', [['a']]);
    const manifest = r.manifests.get(`app:${image.digest}`)!.body;
    const host = hostPlatform();
    const index = json({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: sha256('other'), size: 5, platform: { os: 'linux', architecture: 'mips' } },
        { mediaType: MediaType.ociManifest, digest: image.digest, size: manifest.length, platform: { os: host.os, architecture: host.architecture } },
      ],
    });
    const indexDigest = r.putManifest('app', 'multi', MediaType.ociIndex, index);
    const client = clientFor([r]);
    const pulled = await client.pull(`${r.host}/app:multi`);
    expect(pulled.digest).toBe(indexDigest);
    expect(pulled.image.digest).toBe(image.digest);
    expect(pulled.image.repoDigests).toEqual([`${r.host}/app@${indexDigest}`]);
    await expect(client.pull(`${r.host}/app:multi`, { platform: 'linux/s390x' })).rejects.toThrow(/no manifest for linux\/s390x \(it has linux\/mips/);
    r.putManifest('app', 'old', 'application/vnd.docker.distribution.manifest.v1+prettyjws', json({ schemaVersion: 1, fsLayers: [] }));
    await expect(client.pull(`${r.host}/app:old`)).rejects.toThrow(/schema 1/);
  });

  it('refuses what breaks the bounds: too many layers, too deep, too large', async () => {
    const r = await registry();
    const layer = { mediaType: MediaType.ociLayerGzip, digest: sha256('l'), size: 1 };
    const config = { mediaType: MediaType.ociConfig, digest: sha256('c'), size: 1 };
    r.putManifest('app', 'many', MediaType.ociManifest, json({ schemaVersion: 2, config, layers: Array(300).fill(layer) }));
    r.putManifest('app', 'deep', MediaType.ociManifest, Buffer.from(`{"schemaVersion":2,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`));
    r.putManifest('app', 'huge', MediaType.ociManifest, Buffer.alloc(5 * 1024 * 1024, 32));
    r.putManifest('app', 'bigconfig', MediaType.ociManifest, json({ schemaVersion: 2, config: { ...config, size: 9 * 1024 * 1024 }, layers: [] }));
    const client = clientFor([r]);
    await expect(client.pull(`${r.host}/app:many`)).rejects.toThrow(/300 layers, more than the 256 allowed/);
    await expect(client.pull(`${r.host}/app:deep`)).rejects.toThrow(/nests deeper/);
    await expect(client.pull(`${r.host}/app:huge`)).rejects.toThrow(/more than the 4194304 allowed/);
    await expect(client.pull(`${r.host}/app:bigconfig`)).rejects.toThrow(/config is 9437184 bytes/);
  });

  it('pushes layers (streamed when large), config and manifest; then skips what exists and mounts across repositories', async () => {
    const source = await registry();
    const target = await registry();
    target.auth = 'bearer';
    const image = await source.addImage('app', '1', [['a'], ['b']]);
    const client = clientFor([source, target]);
    await client.pull(`${source.host}/app:1`);
    await store.tag(`${source.host}/app:1`, `${target.host}/team/app:1`);
    const auth = { username: 'alice', password: 'secret' };
    const lines: RegistryProgress[] = [];
    const pushed = await client.push(`${target.host}/team/app:1`, { auth, onProgress: (p) => lines.push(p) });
    expect(pushed.digest).toBe(image.digest);
    for (const blob of [...image.layers, image.config]) expect(target.blobs.get(blob)).toEqual(source.blobs.get(blob));
    expect(target.requests('PATCH', '/blobs/uploads/').length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.status === 'Pushed')).toHaveLength(2);
    // Again: every blob is there already.
    const again: RegistryProgress[] = [];
    await client.push(`${target.host}/team/app:1`, { auth, onProgress: (p) => again.push(p) });
    expect(again.filter((l) => l.status === 'Layer already exists')).toHaveLength(2);
    // To another repository of the same registry: mounted, not uploaded.
    await store.tag(`${target.host}/team/app:1`, `${target.host}/other/app:2`);
    const mounted: RegistryProgress[] = [];
    const before = target.requests('PATCH', '').length;
    await client.push(`${target.host}/other/app:2`, { auth, onProgress: (p) => mounted.push(p) });
    expect(mounted.filter((l) => l.status === 'Mounted from team/app')).toHaveLength(2);
    expect(target.requests('PATCH', '').length).toBe(before);
    expect((await store.inspect(`${target.host}/other/app:2`)).repoDigests).toEqual([`${source.host}/app@${image.digest}`, `${target.host}/other/app@${image.digest}`, `${target.host}/team/app@${image.digest}`].sort());
  });
});
