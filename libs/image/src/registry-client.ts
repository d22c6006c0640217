import type { IncomingMessage } from 'node:http';
import type { BlobWriter } from './content-store';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { PassThrough, Transform } from 'node:stream';
import { BerthError, errors } from '@berth/errors';
import { sha256, type Digest } from './digest';
import { inspectLayerStream } from './layer';
import type { ImageStore, ImageSummary } from './image-store';
import { MediaType, type Descriptor, type ImageManifest } from './oci';
import { parseReference, type ImageReference } from './reference';
import { RegistryResolver, type RegistryCredentials, type RegistryEndpoint } from './registry-config';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, parseManifest, parsePlatform, selectPlatform } from './registry-manifest';
import { RegistryAuthCache, RegistryTransport, isTransient, readBody, responseError } from './registry-http';
import type { UnpackPhase } from './snapshotter';

/** One line of docker's progress display (runtimed's ImageProgress without the final fields). */
export interface RegistryProgress {
  /** A layer's short digest, or '' for the image. */
  id: string;
  status: string;
  current: number;
  total: number;
}

export interface PullOptions {
  auth?: RegistryCredentials;
  /** os/arch[/variant]; this host's when empty. */
  platform?: string;
  onProgress?: (p: RegistryProgress) => void;
  /**
   * Unpacks the registered image (runtimed's snapshotter), telling `onLayer` as each layer is being unpacked
   * and is there: docker's per-layer "Extracting" and "Pull complete".
   */
  unpack?: (manifestDigest: Digest, onLayer: (layer: Digest, phase: UnpackPhase) => void) => Promise<unknown>;
}

export interface PullResult {
  image: ImageSummary;
  /** The digest the registry knows the image by (its index's, for a multi-platform image). */
  digest: Digest;
  /** The name already named this very image (docker's "Image is up to date"). */
  upToDate: boolean;
}

export interface PushOptions {
  auth?: RegistryCredentials;
  onProgress?: (p: RegistryProgress) => void;
}

export interface RegistryClientOptions {
  /** Blobs downloaded or uploaded at once by one pull or push (docker: 3). */
  concurrency?: number;
  /** Attempts of a blob download after the first when the transfer breaks. */
  retries?: number;
  /** The first back-off between attempts; doubled each time, up to 10 s. */
  backoffMs?: number;
  /** Blobs up to this size are uploaded in one PUT; larger ones POST, PATCH (streamed), PUT. */
  monolithicUploadBytes?: number;
}

/** One endpoint of a registry with the transport and credential that reach it. */
interface Remote {
  transport: RegistryTransport;
  endpoint: RegistryEndpoint;
  creds?: RegistryCredentials;
}

interface Download {
  /** The layer's diff ID, inspected as it arrived (undefined for a config). */
  done: Promise<Digest | undefined>;
  listeners: Set<(current: number) => void>;
}

const DEFAULTS: Required<RegistryClientOptions> = { concurrency: 3, retries: 5, backoffMs: 500, monolithicUploadBytes: 1024 * 1024 };
const PROGRESS_STEP = 512 * 1024;

const shortId = (digest: Digest) => digest.slice(7, 19);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `docker.io/library/busybox` → registry `docker.io`, path `library/busybox`. */
export function splitRepository(repository: string): { registry: string; path: string } {
  const slash = repository.indexOf('/');
  return { registry: repository.slice(0, slash), path: repository.slice(slash + 1) };
}

/**
 * inspectLayerStream fed while a layer downloads, so the layer is checked and its diff ID known when the
 * last byte lands, instead of reading it again afterwards; started over when the download is.
 */
class StreamingInspection {
  private feed!: PassThrough;
  private result!: Promise<{ diffId: Digest | undefined }>;
  private settled = false;

  constructor(private readonly blob: Descriptor) {
    this.restart();
  }

  restart(): void {
    this.feed?.destroy();
    const feed = new PassThrough();
    this.feed = feed;
    this.settled = false;
    this.result = inspectLayerStream(feed, this.blob.size, this.blob.digest, this.blob.digest);
    this.result.then(
      () => this.feed === feed && (this.settled = true),
      () => this.feed === feed && (this.settled = true),
    );
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.settled) return;
    if (!this.feed.write(chunk)) await Promise.race([once(this.feed, 'drain').catch(() => undefined), this.result.catch(() => undefined)]);
  }

  /** The diff ID of everything written; the layer's refusal when it is no safe tar. */
  async finish(): Promise<Digest> {
    this.feed.end();
    return (await this.result).diffId ?? this.blob.digest;
  }

  abort(): void {
    this.feed.destroy();
    this.result.catch(() => undefined);
  }
}

/** Runs `task` over `items`, `limit` at a time; the first failure stops new starts and is thrown once all running ones end. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

/**
 * The distribution-spec client of a node: pulls images into the ImageStore and pushes them out. One client
 * serves every pull of the node, so a blob many pulls want at the same moment is downloaded once; the
 * resolver (registries.yaml and the configured hosts) can be replaced while it runs (`configure`).
 */
export class RegistryClient {
  private transport: RegistryTransport;
  private readonly authCache = new RegistryAuthCache();
  private readonly downloads = new Map<Digest, Download>();
  private readonly options: Required<RegistryClientOptions>;

  constructor(
    private readonly store: ImageStore,
    resolver: RegistryResolver = new RegistryResolver(),
    options: RegistryClientOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.transport = new RegistryTransport(resolver, this.authCache);
  }

  get resolver(): RegistryResolver {
    return this.transport.resolver;
  }

  /** Uses new registry settings from now on (pulls under way finish with the old). */
  configure(resolver: RegistryResolver): void {
    const old = this.transport;
    this.transport = new RegistryTransport(resolver, this.authCache);
    old.close();
  }

  close(): void {
    this.transport.close();
  }

  /**
   * `docker pull`: resolves `ref` on the mirrors in order, then on the registry itself, picks the platform's
   * manifest from an index, downloads config and layers (verified, resumed, single-flighted), registers the
   * image under its name and repo digest, and unpacks it.
   */
  async pull(ref: string, options: PullOptions = {}): Promise<PullResult> {
    const reference = parseReference(ref);
    const platform = parsePlatform(options.platform);
    const progress = options.onProgress ?? (() => undefined);
    const transport = this.transport;
    const { registry, path } = splitRepository(reference.repository);
    const failures: { endpoint: RegistryEndpoint; err: unknown }[] = [];
    let found: { endpoint: RegistryEndpoint; creds?: RegistryCredentials; digest: Digest; manifestDigest: Digest; manifestBytes: Buffer; manifest: ImageManifest } | undefined;
    for (const endpoint of transport.resolver.pullEndpoints(registry, path)) {
      const creds = options.auth ?? transport.resolver.credentials(endpoint);
      try {
        found = { endpoint, creds, ...(await this.resolveManifest({ transport, endpoint, creds }, reference, platform)) };
        break;
      } catch (err) {
        failures.push({ endpoint, err });
      }
    }
    if (!found) throw pullFailure(ref, failures);
    const { endpoint, creds, digest, manifestDigest, manifestBytes, manifest } = found;
    progress({ id: '', status: `Pulling from ${reference.repository.replace(/^docker\.io\/(library\/)?/, '')}`, current: 0, total: 0 });
    const blobs = [manifest.config, ...manifest.layers];
    const release = this.store.hold([manifestDigest, ...blobs.map((b) => b.digest)]);
    let upToDate = false;
    // The layers the node had before this pull (docker's "Already exists").
    const present = new Set<Digest>();
    try {
      const layerIds = new Set(manifest.layers.map((l) => l.digest));
      const knownDiffIds = new Map<Digest, Digest>();
      // Layers the node has say so at once; the rest are fetched, at most `concurrency` blobs at a time, and
      // those queued behind the first ones say "Waiting" until their turn, as docker's.
      for (const layer of manifest.layers) {
        if (!this.downloads.has(layer.digest) && (await this.store.content.has(layer.digest))) present.add(layer.digest);
      }
      for (const layer of manifest.layers) progress({ id: shortId(layer.digest), status: present.has(layer.digest) ? 'Already exists' : 'Pulling fs layer', current: 0, total: 0 });
      const fetched = blobs.filter((b) => !present.has(b.digest));
      for (const blob of fetched.slice(this.options.concurrency)) if (layerIds.has(blob.digest)) progress({ id: shortId(blob.digest), status: 'Waiting', current: 0, total: 0 });
      await eachLimited(fetched, this.options.concurrency, async (blob) => {
        const isLayer = layerIds.has(blob.digest);
        const diffId = await this.fetchBlob({ transport, endpoint, creds }, blob, isLayer, isLayer ? progress : () => undefined);
        if (diffId) knownDiffIds.set(blob.digest, diffId);
      });
      await this.store.content.put(manifestBytes, { digest: manifestDigest });
      const names = reference.tag ? [`${reference.repository}:${reference.tag}`] : [];
      const before = await this.store.resolve(names[0] ?? `${reference.repository}@${digest}`).catch(() => undefined);
      upToDate = before === manifestDigest;
      await this.store.adding(() => this.store.register([{ digest: manifestDigest, names }], { knownDiffIds }));
      await this.store.addRepoDigest(reference.repository, digest, manifestDigest);
    } finally {
      release();
    }
    if (options.unpack) {
      const sizes = new Map(manifest.layers.map((l) => [l.digest, l.size]));
      const extracted = new Set<Digest>();
      await options.unpack(manifestDigest, (layer, phase) => {
        if (!sizes.has(layer)) return;
        if (phase === 'extracting') {
          extracted.add(layer);
          progress({ id: shortId(layer), status: 'Extracting', current: 0, total: sizes.get(layer)! });
          // A layer the node had before and had unpacked already is done with "Already exists".
        } else if (extracted.has(layer) || !present.has(layer)) progress({ id: shortId(layer), status: 'Pull complete', current: 0, total: 0 });
      });
    }
    progress({ id: '', status: `Digest: ${digest}`, current: 0, total: 0 });
    const image = (await this.store.list()).find((i) => i.digest === manifestDigest);
    if (!image) throw errors.conflict('images', ref, 'the image was removed while it was being pulled');
    return { image, digest, upToDate };
  }

  /** The manifest for `reference` on one endpoint: by tag or digest, an index resolved to the platform's entry, digests checked. */
  private async resolveManifest(remote: Remote, reference: ImageReference, platform: ReturnType<typeof parsePlatform>) {
    const { endpoint } = remote;
    const top = await this.fetchManifest(remote, reference.digest ?? reference.tag!, reference.digest);
    const what = `${endpoint.base.host}/${endpoint.path}@${top.digest}`;
    const doc = parseManifest(top.bytes, top.contentType, `manifest ${what}`);
    if (doc.kind === 'manifest') return { digest: top.digest, manifestDigest: top.digest, manifestBytes: top.bytes, manifest: doc.manifest };
    const entry = selectPlatform(doc.index, platform, `image index ${what}`);
    const chosen = await this.fetchManifest(remote, entry.digest, entry.digest);
    const inner = parseManifest(chosen.bytes, chosen.contentType, `manifest ${endpoint.base.host}/${endpoint.path}@${chosen.digest}`);
    if (inner.kind !== 'manifest') throw errors.badRequest(`image index ${what} points at another index for its platform: nested indexes are not followed`);
    return { digest: top.digest, manifestDigest: chosen.digest, manifestBytes: chosen.bytes, manifest: inner.manifest };
  }

  /** GET a manifest (bounded); its digest is what its bytes hash to, and must be what was asked for or what the registry claims. */
  private async fetchManifest({ transport, endpoint, creds }: Remote, tagOrDigest: string, expected?: Digest) {
    const url = new URL(`${endpoint.path}/manifests/${tagOrDigest}`, endpoint.base);
    const res = await transport.request(endpoint, creds, { method: 'GET', url, headers: { accept: MANIFEST_ACCEPT }, scopes: [`repository:${endpoint.path}:pull`] });
    const what = `manifest ${endpoint.base.host}/${endpoint.path}:${tagOrDigest}`;
    if (res.statusCode !== 200) throw await responseError(res, what);
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, what);
    const digest = sha256(bytes);
    if (expected && digest !== expected) throw errors.badRequest(`${what}: the registry sent content with digest ${digest}, not the ${expected} asked for`);
    const claimed = res.headers['docker-content-digest'];
    if (typeof claimed === 'string' && claimed.startsWith('sha256:') && claimed !== digest) {
      throw errors.badRequest(`${what}: the registry says its digest is ${claimed}, but its content has digest ${digest}`);
    }
    return { bytes, digest, contentType: res.headers['content-type'] };
  }

  /** A blob into the content store once however many pulls want it now; later callers wait on the first's download. */
  private async fetchBlob(remote: Remote, blob: Descriptor, isLayer: boolean, progress: (p: RegistryProgress) => void): Promise<Digest | undefined> {
    const id = shortId(blob.digest);
    const running = this.downloads.get(blob.digest);
    if (!running && (await this.store.content.has(blob.digest))) {
      progress({ id, status: 'Already exists', current: 0, total: 0 });
      return undefined;
    }
    const report = (current: number) => progress({ id, status: 'Downloading', current, total: blob.size });
    let download = this.downloads.get(blob.digest);
    if (!download) {
      const listeners = new Set<(current: number) => void>();
      const done = this.download(remote, blob, isLayer, (current) => listeners.forEach((l) => l(current))).finally(() => this.downloads.delete(blob.digest));
      download = { done, listeners };
      this.downloads.set(blob.digest, download);
    } else progress({ id, status: 'Waiting', current: 0, total: 0 });
    download.listeners.add(report);
    let diffId: Digest | undefined;
    try {
      diffId = await download.done;
    } finally {
      download.listeners.delete(report);
    }
    progress({ id, status: 'Verifying Checksum', current: 0, total: 0 });
    progress({ id, status: 'Download complete', current: 0, total: 0 });
    return diffId;
  }

  /** Downloads one blob, resuming with `Range` from what it has after a broken transfer, with back-off between attempts. */
  private async download(remote: Remote, blob: Descriptor, isLayer: boolean, onBytes: (current: number) => void): Promise<Digest | undefined> {
    const { transport, endpoint, creds } = remote;
    const writer = await this.store.content.writer({ digest: blob.digest, size: blob.size });
    const inspection = isLayer ? new StreamingInspection(blob) : undefined;
    const restart = async () => {
      await writer.reset();
      inspection?.restart();
    };
    const url = new URL(`${endpoint.path}/blobs/${blob.digest}`, endpoint.base);
    const what = `blob ${endpoint.base.host}/${endpoint.path}@${blob.digest}`;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const headers = writer.offset > 0 ? { range: `bytes=${writer.offset}-` } : {};
          const res = await transport.request(endpoint, creds, { method: 'GET', url, headers, scopes: [`repository:${endpoint.path}:pull`] });
          if (res.statusCode === 206 && writer.offset > 0) {
            const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1];
            if (Number(start) !== writer.offset) {
              res.resume();
              await restart();
              throw errors.unavailable(`${what}: the registry answered a range request from ${writer.offset} with ${res.headers['content-range'] ?? 'no Content-Range'}`);
            }
          } else if (res.statusCode === 200) {
            if (writer.offset > 0) await restart();
          } else throw await responseError(res, what);
          await this.receive(res, writer, inspection, onBytes);
          // The response ended cleanly (a cut connection is an error in receive): the registry sent less than the manifest says.
          if (writer.offset < blob.size) throw errors.badRequest(`${what}: the registry sent ${writer.offset} bytes, the manifest says ${blob.size}`);
          await writer.commit();
          if (!inspection) return undefined;
          try {
            return await inspection.finish();
          } catch (err) {
            // Its digest is right but it is no layer berth unpacks: nothing else can want this blob.
            await this.store.content.delete(blob.digest);
            throw err;
          }
        } catch (err) {
          if (!isTransient(err) || attempt >= this.options.retries) throw err;
          await sleep(Math.min(10_000, this.options.backoffMs * 2 ** attempt));
        }
      }
    } finally {
      await writer.abort();
      inspection?.abort();
    }
  }

  private async receive(res: IncomingMessage, writer: BlobWriter, inspection: StreamingInspection | undefined, onBytes: (current: number) => void): Promise<void> {
    let reported = writer.offset;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        await writer.write(chunk);
        await inspection?.write(chunk);
        if (writer.offset - reported >= PROGRESS_STEP) {
          reported = writer.offset;
          onBytes(writer.offset);
        }
      }
    } catch (err) {
      res.destroy();
      // A body cut short is a network failure (worth a resumed try); a blob larger than it should be is not.
      if (err instanceof BerthError) throw err;
      throw errors.unavailable(`the transfer broke after ${writer.offset} bytes: ${(err as Error).message}`);
    }
    onBytes(writer.offset);
  }

  /**
   * `docker push`: every layer and the config that the registry lacks is uploaded (or mounted from another
   * repository of the same registry the image came from), then the manifest by tag. Returns the manifest's
   * digest and size, recorded as the image's repo digest.
   */
  async push(ref: string, options: PushOptions = {}): Promise<{ digest: Digest; size: number }> {
    const reference = parseReference(ref);
    if (reference.digest) throw errors.badRequest(`cannot push "${ref}": push a name with a tag, not a digest`);
    const manifestDigest = await this.store.resolve(ref);
    const { manifest } = await this.store.loadManifest(manifestDigest);
    const manifestBytes = await this.store.content.read(manifestDigest);
    const progress = options.onProgress ?? (() => undefined);
    const transport = this.transport;
    const { registry, path } = splitRepository(reference.repository);
    const endpoint = transport.resolver.defaultEndpoint(registry, path);
    const creds = options.auth ?? transport.resolver.credentials(endpoint);
    const sources = this.store
      .repoDigestsOf(manifestDigest)
      .map((key) => splitRepository(parseReference(key).repository))
      .filter((r) => r.registry === registry && r.path !== path)
      .map((r) => r.path);
    progress({ id: '', status: `The push refers to repository [${reference.repository.replace(/^docker\.io\//, '')}]`, current: 0, total: 0 });
    for (const layer of manifest.layers) progress({ id: shortId(layer.digest), status: 'Preparing', current: 0, total: 0 });
    await eachLimited(manifest.layers, this.options.concurrency, (layer) => this.pushBlob({ transport, endpoint, creds }, layer, sources, progress));
    await this.pushBlob({ transport, endpoint, creds }, manifest.config, sources, () => undefined);
    const url = new URL(`${path}/manifests/${reference.tag}`, endpoint.base);
    const res = await transport.request(endpoint, creds, {
      method: 'PUT',
      url,
      headers: { 'content-type': manifest.mediaType ?? MediaType.ociManifest, 'content-length': manifestBytes.length },
      body: manifestBytes,
      scopes: [`repository:${path}:pull,push`],
    });
    if (res.statusCode !== 201 && res.statusCode !== 200 && res.statusCode !== 202) throw await responseError(res, `manifest ${reference.repository}:${reference.tag}`);
    res.resume();
    const digest = sha256(manifestBytes);
    await this.store.addRepoDigest(reference.repository, digest, manifestDigest);
    return { digest, size: manifestBytes.length };
  }

  private async pushBlob({ transport, endpoint, creds }: Remote, blob: Descriptor, sources: string[], progress: (p: RegistryProgress) => void): Promise<void> {
    const id = shortId(blob.digest);
    const path = endpoint.path;
    const scopes = [`repository:${path}:pull,push`];
    const what = `blob ${endpoint.base.host}/${path}@${blob.digest}`;
    const head = await transport.request(endpoint, creds, { method: 'HEAD', url: new URL(`${path}/blobs/${blob.digest}`, endpoint.base), scopes });
    head.resume();
    if (head.statusCode === 200) {
      progress({ id, status: 'Layer already exists', current: 0, total: 0 });
      return;
    }
    if (head.statusCode !== 404) throw await responseError(head, what);
    let location: URL | undefined;
    for (const from of sources) {
      const url = new URL(`${path}/blobs/uploads/`, endpoint.base);
      url.searchParams.set('mount', blob.digest);
      url.searchParams.set('from', from);
      const res = await transport.request(endpoint, creds, { method: 'POST', url, headers: { 'content-length': 0 }, scopes: [...scopes, `repository:${from}:pull`] });
      if (res.statusCode === 201) {
        res.resume();
        progress({ id, status: `Mounted from ${from.replace(/^library\//, '')}`, current: 0, total: 0 });
        return;
      }
      if (res.statusCode !== 202) throw await responseError(res, `mounting ${what} from ${from}`);
      res.resume();
      location = this.uploadLocation(res, endpoint, what);
      break;
    }
    if (!location) {
      const res = await transport.request(endpoint, creds, { method: 'POST', url: new URL(`${path}/blobs/uploads/`, endpoint.base), headers: { 'content-length': 0 }, scopes });
      if (res.statusCode !== 202) throw await responseError(res, `starting the upload of ${what}`);
      res.resume();
      location = this.uploadLocation(res, endpoint, what);
    }
    const file = this.store.content.path(blob.digest);
    if (blob.size > this.options.monolithicUploadBytes) {
      let sent = 0;
      let reported = 0;
      const counting = () =>
        createReadStream(file).pipe(
          new Transform({
            transform(chunk: Buffer, _encoding, done) {
              sent += chunk.length;
              if (sent - reported >= PROGRESS_STEP || sent === blob.size) {
                reported = sent;
                progress({ id, status: 'Pushing', current: sent, total: blob.size });
              }
              done(null, chunk);
            },
          }),
        );
      const patch = await transport.request(endpoint, creds, {
        method: 'PATCH',
        url: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size, 'content-range': `0-${blob.size - 1}` },
        body: counting,
        scopes,
      });
      if (patch.statusCode !== 202 && patch.statusCode !== 204) throw await responseError(patch, `uploading ${what}`);
      patch.resume();
      location = this.uploadLocation(patch, endpoint, what, location);
      location.searchParams.set('digest', blob.digest);
      const put = await transport.request(endpoint, creds, { method: 'PUT', url: location, headers: { 'content-length': 0 }, scopes });
      if (put.statusCode !== 201) throw await responseError(put, `completing the upload of ${what}`);
      put.resume();
    } else {
      const data = await this.store.content.read(blob.digest);
      location.searchParams.set('digest', blob.digest);
      const put = await transport.request(endpoint, creds, {
        method: 'PUT',
        url: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': data.length },
        body: data,
        scopes,
      });
      if (put.statusCode !== 201) throw await responseError(put, `uploading ${what}`);
      put.resume();
      progress({ id, status: 'Pushing', current: data.length, total: blob.size });
    }
    progress({ id, status: 'Pushed', current: 0, total: 0 });
  }

  private uploadLocation(res: IncomingMessage, endpoint: RegistryEndpoint, what: string, fallback?: URL): URL {
    const location = res.headers.location;
    if (!location) {
      if (fallback) return fallback;
      throw errors.badRequest(`${what}: the registry started an upload without a Location`);
    }
    let url: URL;
    try {
      url = new URL(location, endpoint.base);
    } catch {
      throw errors.badRequest(`${what}: the upload Location "${location.slice(0, 200)}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw errors.badRequest(`${what}: the upload Location is not http(s)`);
    return url;
  }
}

/** Every endpoint failed: the most telling error (an answer over a network failure), naming each endpoint's. */
function pullFailure(ref: string, failures: { endpoint: RegistryEndpoint; err: unknown }[]): Error {
  const described = failures.map((f) => `${f.endpoint.base.host}: ${(f.err as Error).message}`);
  const answer = failures.find((f) => !isTransient(f.err) && (f.err as BerthError).reason !== 'NotFound') ?? failures.find((f) => !isTransient(f.err)) ?? failures[failures.length - 1];
  const chosen = answer?.err;
  const message = `pulling ${ref}: ${described.join('; ')}`;
  if (chosen instanceof BerthError) return new BerthError(chosen.reason, message, chosen.details);
  return errors.unavailable(message);
}
