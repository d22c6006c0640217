import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isBerthError } from '@berth/errors';
import { MediaType, type Digest } from '@berth/image';
import { ALL_REPOSITORIES, type RegistryAccess, type RegistryAuthorizer } from './access';
import { MAX_MANIFEST_BYTES, type ManifestDescriptor } from './manifest';
import { isRepositoryName, parseManifestReference, parseRegistryDigest, parseRepositoryName, type ManifestReference } from './names';
import { registryErrors, wireError } from './registry-errors';
import type { RegistryStorage, StoredManifest } from './storage';

export interface RegistryHandlerOptions {
  storage: RegistryStorage;
  /** Asked before every request does anything (see RegistryAuthorizer for what each one asks). */
  authorize: RegistryAuthorizer;
  /** Manifest bodies above this are refused with 413 (default 4 MiB, the spec's minimum). */
  maxManifestBytes?: number;
  /** Told of every failure answered with a 5xx (the caller logs it). */
  onInternalError?: (err: unknown, request: IncomingMessage) => void;
}

/** Answers one request under `/v2/`; never rejects (every failure becomes the spec's error response). */
export type RegistryHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** Distribution 2.8's page size for `/v2/_catalog` and `tags/list` when `n` is not given. */
const DEFAULT_PAGE = 100;

const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };

type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'referrers'; name: string; digest: string };

const ROUTES: { pattern: RegExp; route: (m: RegExpMatchArray) => Route }[] = [
  { pattern: /^\/v2\/?$/, route: () => ({ kind: 'base' }) },
  { pattern: /^\/v2\/_catalog$/, route: () => ({ kind: 'catalog' }) },
  { pattern: /^\/v2\/(.+)\/tags\/list$/, route: (m) => ({ kind: 'tags', name: m[1] }) },
  { pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/, route: (m) => ({ kind: 'manifest', name: m[1], reference: m[2] }) },
  { pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/, route: (m) => ({ kind: 'uploads', name: m[1] }) },
  { pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, route: (m) => ({ kind: 'upload', name: m[1], id: m[2] }) },
  { pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, route: (m) => ({ kind: 'blob', name: m[1], digest: m[2] }) },
  { pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, route: (m) => ({ kind: 'referrers', name: m[1], digest: m[2] }) },
];

function matchRoute(path: string): Route | undefined {
  for (const { pattern, route } of ROUTES) {
    const m = path.match(pattern);
    if (m) return route(m);
  }
  return undefined;
}

class Reply {
  constructor(readonly response: ServerResponse) {}

  send(status: number, headers: Record<string, string | number> = {}, body?: string | Buffer): void {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    this.response.writeHead(status, { ...API_VERSION_HEADER, 'Content-Length': payload?.length ?? 0, ...headers });
    this.response.end(payload);
  }

  json(status: number, value: unknown, headers: Record<string, string> = {}): void {
    this.send(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }, JSON.stringify(value));
  }
}

/** As distribution's router answers what is not an API path: a plain-text 404. */
function notFound(reply: Reply): void {
  reply.send(404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 page not found\n');
}

function uploadHeaders(name: string, id: string, offset: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${id}`,
    // Distribution's rendering: inclusive end, and "0-0" for an upload with nothing in it yet.
    Range: `0-${Math.max(offset - 1, 0)}`,
    'Docker-Upload-UUID': id,
  };
}

/** The media types an Accept header list names (parameters and q-values dropped, as distribution does). */
function acceptedTypes(request: IncomingMessage): Set<string> {
  const types = new Set<string>();
  const raw = request.headersDistinct?.accept ?? [];
  for (const header of raw) {
    for (const part of header.split(',')) {
      const type = part.split(';')[0].trim().toLowerCase();
      if (type) types.add(type);
    }
  }
  return types;
}

/** A single `bytes=` range against `size`: the inclusive span, 'unsatisfiable', or undefined for the whole blob. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return header.includes(',') ? undefined : 'unsatisfiable';
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** `n` as distribution reads it: a non-negative integer, anything else ignored. */
function pageSize(query: URLSearchParams): number {
  const raw = query.get('n');
  if (raw === null || !/^\d{1,9}$/.test(raw)) return DEFAULT_PAGE;
  return Number(raw);
}

/** One page of a sorted list after `last`, and the next page's Link header when there is more. */
function paginate(items: string[], query: URLSearchParams, path: string): { page: string[]; headers: Record<string, string> } {
  const n = pageSize(query);
  const last = query.get('last');
  const after = last === null ? items : items.filter((item) => item > last);
  const page = after.slice(0, n);
  if (after.length <= n || page.length === 0) return { page, headers: {} };
  const next = new URLSearchParams({ n: String(n), last: page[page.length - 1] });
  return { page, headers: { Link: `<${path}?${next.toString()}>; rel="next"` } };
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw registryErrors.manifestTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw registryErrors.manifestTooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The OCI distribution-spec v1.1 API over a RegistryStorage, as a Node request handler: the transport
 * (TLS, the listening socket) and authentication are the caller's, who passes `authorize`. Statuses and
 * error codes are those distribution 2.8 answers; where it predates v1.1 (tag deletion, referrers, `n`/`last`
 * on tags, monolithic POST, 416 for an out-of-order chunk), those of the spec.
 */
export function createRegistryHandler(options: RegistryHandlerOptions): RegistryHandler {
  const { storage, authorize } = options;
  const maxManifestBytes = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;

  const pull = (repository: string): RegistryAccess[] => [{ repository, actions: ['pull'] }];
  const push = (repository: string): RegistryAccess[] => [{ repository, actions: ['pull', 'push'] }];
  const remove = (repository: string): RegistryAccess[] => [{ repository, actions: ['delete'] }];

  /** Negotiates a stored manifest against the client's Accept header, as distribution 2.8's GetManifest. */
  async function negotiate(name: string, stored: StoredManifest, byTag: boolean, accepted: Set<string>): Promise<StoredManifest> {
    if (stored.mediaType === MediaType.ociManifest && !accepted.has(MediaType.ociManifest)) {
      throw registryErrors.manifestUnknown(stored.digest);
    }
    if (stored.mediaType === MediaType.ociIndex && !accepted.has(MediaType.ociIndex)) {
      throw registryErrors.manifestUnknown(stored.digest);
    }
    if (!byTag) return stored;
    if (stored.mediaType === MediaType.dockerManifestList && !accepted.has(MediaType.dockerManifestList)) {
      // A client that does not know manifest lists gets the linux/amd64 image, as distribution serves it.
      const list = JSON.parse(stored.content.toString('utf8')) as { manifests?: { digest?: unknown; platform?: { os?: unknown; architecture?: unknown } }[] };
      const chosen = list.manifests?.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
      if (!chosen || typeof chosen.digest !== 'string') throw registryErrors.manifestUnknown(stored.digest);
      const child = await storage.getManifest(name, { digest: parseRegistryDigest(chosen.digest) });
      return negotiate(name, child, true, accepted);
    }
    if (stored.mediaType === MediaType.dockerManifest && !accepted.has(MediaType.dockerManifest)) {
      // Distribution would rewrite it as a schema 1 manifest; berth serves no schema 1 (nor does 2.8 by default).
      throw registryErrors.manifestInvalid(stored.digest, 'the client accepts no schema 2 manifest, and schema 1 is not served');
    }
    return stored;
  }

  async function getManifest(request: IncomingMessage, reply: Reply, name: string, reference: ManifestReference): Promise<void> {
    const stored = await negotiate(name, await storage.getManifest(name, reference), reference.tag !== undefined, acceptedTypes(request));
    reply.send(
      200,
      { 'Content-Type': stored.mediaType, 'Docker-Content-Digest': stored.digest, ETag: `"${stored.digest}"` },
      stored.content,
    );
  }

  async function putManifest(request: IncomingMessage, reply: Reply, name: string, reference: ManifestReference): Promise<void> {
    const body = await readBody(request, maxManifestBytes);
    const { digest, parsed } = await storage.putManifest(name, reference, body, request.headers['content-type']);
    const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
    if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
    reply.send(201, headers);
  }

  async function getBlob(request: IncomingMessage, reply: Reply, name: string, digest: Digest): Promise<void> {
    const info = await storage.statBlob(name, digest);
    if (!info) throw registryErrors.blobUnknown(digest);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      ETag: `"${digest}"`,
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'max-age=31536000',
    };
    const range = parseRange(request.headers.range, info.size);
    if (range === 'unsatisfiable') {
      reply.send(416, { ...headers, 'Content-Range': `bytes */${info.size}` });
      return;
    }
    if (request.method === 'HEAD') {
      reply.send(200, { ...headers, 'Content-Length': info.size });
      return;
    }
    const blob = await storage.openBlob(name, digest, range);
    const status = range ? 206 : 200;
    const length = range ? range.end - range.start + 1 : blob.size;
    reply.response.writeHead(status, {
      ...API_VERSION_HEADER,
      ...headers,
      'Content-Length': length,
      ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${blob.size}` } : {}),
    });
    await pipeline(blob.stream, reply.response);
  }

  async function startUpload(request: IncomingMessage, reply: Reply, name: string, query: URLSearchParams): Promise<void> {
    const mount = query.get('mount');
    const from = query.get('from');
    if (mount !== null && from !== null) {
      // A mount the client may not make (bad digest, unknown source, no pull on it) is a plain upload instead.
      let digest: Digest | undefined;
      try {
        digest = parseRegistryDigest(mount);
      } catch {
        digest = undefined;
      }
      if (digest && isRepositoryName(from)) {
        const allowed = await authorize(request, pull(from)).then(
          () => true,
          (err) => {
            if (isBerthError(err, 'Unauthorized') || isBerthError(err, 'Forbidden')) return false;
            throw err;
          },
        );
        const mounted = allowed ? await storage.mountBlob(name, from, digest) : undefined;
        if (mounted) {
          reply.send(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
          return;
        }
      }
    } else if (query.get('digest') !== null) {
      const digest = parseRegistryDigest(query.get('digest') ?? '');
      await storage.putBlob(name, request, digest);
      reply.send(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
      return;
    }
    const upload = await storage.startUpload(name);
    reply.send(202, uploadHeaders(name, upload.id, upload.offset));
  }

  async function patchUpload(request: IncomingMessage, reply: Reply, name: string, id: string): Promise<void> {
    const header = request.headers['content-range'];
    let range: { start: number; end: number } | undefined;
    if (header !== undefined) {
      // The spec's form is `<start>-<end>`; `bytes <start>-<end>/<size>` (HTTP's) is read too.
      const m = /^(?:bytes )?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(header.trim());
      if (!m || Number(m[2]) < Number(m[1])) throw registryErrors.rangeInvalid(id, `Content-Range ${JSON.stringify(header.slice(0, 64))} is not <start>-<end>`);
      range = { start: Number(m[1]), end: Number(m[2]) };
    }
    const status = await storage.appendUpload(name, id, request, range);
    reply.send(202, uploadHeaders(name, id, status.offset));
  }

  async function completeUpload(request: IncomingMessage, reply: Reply, name: string, id: string, query: URLSearchParams): Promise<void> {
    const raw = query.get('digest');
    if (raw === null) throw registryErrors.digestInvalid('', 'digest missing');
    const digest = parseRegistryDigest(raw);
    await storage.completeUpload(name, id, digest, request);
    reply.send(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  }

  async function referrers(reply: Reply, name: string, digest: Digest, query: URLSearchParams): Promise<void> {
    const artifactType = query.get('artifactType') ?? undefined;
    const manifests: ManifestDescriptor[] = await storage.referrers(name, digest, artifactType);
    reply.json(
      200,
      { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests },
      { 'Content-Type': MediaType.ociIndex, ...(artifactType !== undefined ? { 'OCI-Filters-Applied': 'artifactType' } : {}) },
    );
  }

  async function dispatch(request: IncomingMessage, reply: Reply): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://registry.invalid');
    const route = matchRoute(url.pathname);
    if (!route) return notFound(reply);
    const method = request.method ?? 'GET';
    const reading = method === 'GET' || method === 'HEAD';
    const query = url.searchParams;

    if (route.kind === 'base') {
      if (!reading) throw registryErrors.unsupported(`${method} is not supported on /v2/`);
      await authorize(request, []);
      reply.json(200, {});
      return;
    }
    if (route.kind === 'catalog') {
      if (!reading) throw registryErrors.unsupported(`${method} is not supported on /v2/_catalog`);
      await authorize(request, pull(ALL_REPOSITORIES));
      const { page, headers } = paginate(await storage.repositories(), query, '/v2/_catalog');
      reply.json(200, { repositories: page }, headers);
      return;
    }

    const name = parseRepositoryName(route.name);
    switch (route.kind) {
      case 'tags': {
        if (!reading) throw registryErrors.unsupported(`${method} is not supported on tags`);
        await authorize(request, pull(name));
        const { page, headers } = paginate(await storage.tags(name), query, `/v2/${name}/tags/list`);
        reply.json(200, { name, tags: page }, headers);
        return;
      }
      case 'manifest': {
        const reference = parseManifestReference(route.reference);
        if (reading) {
          await authorize(request, pull(name));
          return getManifest(request, reply, name, reference);
        }
        if (method === 'PUT') {
          await authorize(request, push(name));
          return putManifest(request, reply, name, reference);
        }
        if (method === 'DELETE') {
          await authorize(request, remove(name));
          if (reference.digest !== undefined) await storage.deleteManifest(name, reference.digest);
          else await storage.deleteTag(name, reference.tag);
          reply.send(202);
          return;
        }
        break;
      }
      case 'blob': {
        const digest = parseRegistryDigest(route.digest);
        if (reading) {
          await authorize(request, pull(name));
          return getBlob(request, reply, name, digest);
        }
        if (method === 'DELETE') {
          await authorize(request, remove(name));
          await storage.deleteBlob(name, digest);
          reply.send(202);
          return;
        }
        break;
      }
      case 'uploads':
        if (method === 'POST') {
          await authorize(request, push(name));
          return startUpload(request, reply, name, query);
        }
        // Distribution routes only POST here; anything else finds no route.
        return notFound(reply);
      case 'upload':
        await authorize(request, push(name));
        if (method === 'GET') {
          const status = await storage.uploadStatus(name, route.id);
          reply.send(204, uploadHeaders(name, route.id, status.offset));
          return;
        }
        if (method === 'PATCH') return patchUpload(request, reply, name, route.id);
        if (method === 'PUT') return completeUpload(request, reply, name, route.id, query);
        if (method === 'DELETE') {
          await storage.cancelUpload(name, route.id);
          reply.send(204);
          return;
        }
        break;
      case 'referrers': {
        if (!reading) break;
        const digest = parseRegistryDigest(route.digest);
        await authorize(request, pull(name));
        return referrers(reply, name, digest, query);
      }
    }
    throw registryErrors.unsupported(`${method} is not supported here`);
  }

  return async (request, response) => {
    const reply = new Reply(response);
    try {
      await dispatch(request, reply);
    } catch (err) {
      // A client that went away mid-body (an interrupted chunk: it resumes from the upload's status) is not the server's failure.
      if (!request.complete && request.destroyed) {
        response.destroy();
        return;
      }
      const wire = wireError(err);
      if (wire.status >= 500) options.onInternalError?.(err, request);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const error: Record<string, unknown> = { code: wire.code, message: wire.message };
      if (wire.detail !== undefined) error.detail = wire.detail;
      reply.json(wire.status, { errors: [error] }, wire.headers);
    }
  };
}
