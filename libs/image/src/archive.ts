import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';
import { errors } from '@berth/errors';
import type { ContentStore } from './content-store';
import { digestHex, isDigest, type Digest } from './digest';
import type { ImageStore } from './image-store';
import { blobCompression, openLayerTar } from './layer';
import { Annotation, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType, hostPlatform, jsonBlob, type Descriptor, type ImageIndex, type ImageManifest } from './oci';
import { familiarReference, normalizeReference } from './reference';
import { decompressed, entryName, openInputFile, tarEntries } from './tar';

export const ARCHIVE_FORMATS = ['oci-archive', 'docker-archive'] as const;
export type ArchiveFormat = (typeof ARCHIVE_FORMATS)[number];

export interface LoadedImage {
  digest: Digest;
  names: string[];
}

/** Metadata files are small; anything bigger in their place is refused rather than held in memory. */
const MAX_METADATA_BYTES = 16 * 1024 * 1024;
const METADATA_FILES = new Set(['index.json', 'oci-layout', 'manifest.json', 'repositories']);
const BLOB_PATH = /^blobs\/sha256\/([a-f0-9]{64})$/;
const MAX_SYMLINK_HOPS = 16;

/** What an archive held: metadata documents in memory, every other file ingested into the content store. */
interface ArchiveContents {
  metadata: Map<string, Buffer>;
  blobs: Map<string, Digest>;
  symlinks: Map<string, string>;
}

async function readBody(body: AsyncIterable<Buffer>, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_METADATA_BYTES) throw errors.badRequest(`archive member "${name}" is too large for a metadata file`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readArchive(content: ContentStore, archivePath: string): Promise<ArchiveContents> {
  const contents: ArchiveContents = { metadata: new Map(), blobs: new Map(), symlinks: new Map() };
  const { stream } = await decompressed(await openInputFile(archivePath), `archive ${archivePath}`);
  for await (const entry of tarEntries(stream, `archive ${archivePath}`)) {
    const name = entryName(entry.header);
    if (entry.header.type === 'symlink') {
      contents.symlinks.set(name, posix.normalize(posix.join(posix.dirname(name), entry.header.linkname)));
      entry.resume();
    } else if (entry.header.type !== 'file' && entry.header.type !== 'contiguous-file') {
      entry.resume();
    } else if (BLOB_PATH.test(name)) {
      const expected = `sha256:${BLOB_PATH.exec(name)![1]}` as Digest;
      contents.blobs.set(name, (await content.ingest(entry, { digest: expected, size: entry.header.size })).digest);
    } else if (METADATA_FILES.has(name) || (name.endsWith('.json') && entry.header.size <= MAX_METADATA_BYTES)) {
      contents.metadata.set(name, await readBody(entry, name));
    } else {
      contents.blobs.set(name, (await content.ingest(entry, { size: entry.header.size })).digest);
    }
  }
  return contents;
}

function parseJson<T>(data: Buffer, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    throw errors.badRequest(`${what} is not valid JSON`);
  }
}

function resolveSymlinks(contents: ArchiveContents, path: string): string {
  let current = posix.normalize(path);
  for (let hop = 0; hop < MAX_SYMLINK_HOPS; hop++) {
    const next = contents.symlinks.get(current);
    if (next === undefined) return current;
    current = next;
  }
  throw errors.badRequest(`archive member "${path}" is a symlink loop`);
}

/** The digest of an archive member, putting metadata-sized members into the content store when first needed. */
async function memberBlob(content: ContentStore, contents: ArchiveContents, path: string): Promise<Digest> {
  const resolved = resolveSymlinks(contents, path);
  const blob = contents.blobs.get(resolved);
  if (blob) return blob;
  const data = contents.metadata.get(resolved);
  if (!data) throw errors.badRequest(`archive member "${path}" is missing`);
  return (await content.put(data)).digest;
}

/** The name an OCI index entry carries: containerd's full-name annotation, or a ref.name that is a full reference. */
function annotatedName(descriptor: Descriptor): string | undefined {
  const annotations = descriptor.annotations ?? {};
  const name = annotations[Annotation.containerdName] ?? annotations[Annotation.refName];
  // A bare ref.name such as "latest" is only a tag: without a repository there is nothing to name the image.
  if (!name || !/[/:]/.test(name)) return undefined;
  return normalizeReference(name);
}

/** An index entry may be a multi-platform index: pick the manifest for this host. */
async function imageManifestFor(content: ContentStore, descriptor: Descriptor, depth = 0): Promise<Digest> {
  if (!isDigest(descriptor.digest)) throw errors.badRequest(`unsupported digest "${descriptor.digest}" in archive index`);
  if (MANIFEST_MEDIA_TYPES.includes(descriptor.mediaType)) return descriptor.digest;
  if (!INDEX_MEDIA_TYPES.includes(descriptor.mediaType) || depth > 4) {
    throw errors.badRequest(`archive index entry ${descriptor.digest} has unsupported media type "${descriptor.mediaType}"`);
  }
  const index = await content.readJson<ImageIndex>(descriptor.digest);
  const host = hostPlatform();
  const candidates = (index.manifests ?? []).filter((m) => !m.platform || (m.platform.os === host.os && m.platform.architecture === host.architecture));
  if (candidates.length === 0) throw errors.badRequest(`image index ${descriptor.digest} has no manifest for ${host.os}/${host.architecture}`);
  return imageManifestFor(content, candidates[0]!, depth + 1);
}

async function loadOciLayout(store: ImageStore, contents: ArchiveContents): Promise<LoadedImage[]> {
  const index = parseJson<ImageIndex>(contents.metadata.get('index.json')!, 'index.json');
  const images = new Map<Digest, string[]>();
  for (const descriptor of index.manifests ?? []) {
    const digest = await imageManifestFor(store.content, descriptor);
    const name = annotatedName(descriptor);
    const names = images.get(digest) ?? [];
    if (name && !names.includes(name)) names.push(name);
    images.set(digest, names);
  }
  return [...images].map(([digest, names]) => ({ digest, names }));
}

interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** A docker-archive describes images in manifest.json; berth stores each as an OCI manifest over the same blobs. */
async function loadDockerArchive(store: ImageStore, contents: ArchiveContents): Promise<LoadedImage[]> {
  const entries = parseJson<DockerArchiveEntry[]>(contents.metadata.get('manifest.json')!, 'manifest.json');
  if (!Array.isArray(entries)) throw errors.badRequest('manifest.json is not a docker-archive manifest list');
  const loaded: LoadedImage[] = [];
  for (const entry of entries) {
    const config = await store.content.info(await memberBlob(store.content, contents, entry.Config));
    const layers: Descriptor[] = [];
    for (const path of entry.Layers ?? []) {
      const digest = await memberBlob(store.content, contents, path);
      const info = (await store.content.info(digest))!;
      const gzip = (await blobCompression(store.content, digest)) === 'gzip';
      layers.push({ mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest, size: info.size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: config!.digest, size: config!.size },
      layers,
    };
    const digest = (await store.content.put(jsonBlob(manifest))).digest;
    loaded.push({ digest, names: (entry.RepoTags ?? []).map(normalizeReference) });
  }
  return loaded;
}

/**
 * Loads an OCI archive (oci-layout + index.json + blobs/, as `podman save --format oci-archive` and skopeo
 * write) or a docker-archive (manifest.json + config + layer tars, as `docker save` writes), either possibly
 * gzipped, and names the images as the archive does.
 */
export function loadArchive(store: ImageStore, archivePath: string): Promise<LoadedImage[]> {
  return store.adding(async () => {
    const contents = await readArchive(store.content, archivePath);
    let images: LoadedImage[];
    if (contents.metadata.has('index.json') && contents.metadata.has('oci-layout')) images = await loadOciLayout(store, contents);
    else if (contents.metadata.has('manifest.json')) images = await loadDockerArchive(store, contents);
    else throw errors.badRequest(`${archivePath} is neither an OCI archive (oci-layout, index.json) nor a docker-archive (manifest.json)`);
    await store.register(images);
    return images;
  });
}

async function addEntry(archive: Pack, name: string, body: Buffer | { path: string; size: number }): Promise<void> {
  const header = { name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 };
  if (Buffer.isBuffer(body)) {
    await new Promise<void>((resolve, reject) => archive.entry({ ...header, size: body.length }, body, (err) => (err ? reject(err) : resolve())));
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const sink = archive.entry({ ...header, size: body.size }, (err) => (err ? reject(err) : resolve()));
    // tar-stream's entry sink is a streamx Writable; it behaves as a Node writable for write/drain/end.
    const out = sink as unknown as NodeJS.WritableStream;
    (async () => {
      for await (const chunk of createReadStream(body.path)) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
    })().catch((err: Error) => {
      sink.destroy(err);
      reject(err);
    });
  });
}

function addDirectory(archive: Pack, name: string): Promise<void> {
  return new Promise((resolve, reject) =>
    archive.entry({ name, type: 'directory', mode: 0o755, mtime: new Date(0), uid: 0, gid: 0 }, (err) => (err ? reject(err) : resolve())),
  );
}

interface SaveImage {
  digest: Digest;
  names: string[];
}

async function imagesToSave(store: ImageStore, refs: string[]): Promise<SaveImage[]> {
  const images = new Map<Digest, string[]>();
  for (const ref of refs) {
    const digest = await store.resolve(ref);
    const names = images.get(digest) ?? [];
    let asName: string | undefined;
    try {
      asName = normalizeReference(ref);
    } catch {
      // an ID
    }
    // As `docker save ID`: an image saved by ID or digest is saved without names.
    if (asName && store.namesOf(digest).includes(asName) && !names.includes(asName)) names.push(asName);
    images.set(digest, names);
  }
  return [...images].map(([digest, names]) => ({ digest, names }));
}

async function writeOciArchive(store: ImageStore, images: SaveImage[], archive: Pack): Promise<void> {
  await addEntry(archive, 'oci-layout', jsonBlob({ imageLayoutVersion: '1.0.0' }));
  await addDirectory(archive, 'blobs');
  await addDirectory(archive, 'blobs/sha256');
  const written = new Set<Digest>();
  const manifests: Descriptor[] = [];
  for (const image of images) {
    const { manifest } = await store.loadManifest(image.digest);
    for (const blob of [manifest.config.digest, ...manifest.layers.map((l) => l.digest), image.digest]) {
      if (written.has(blob)) continue;
      written.add(blob);
      const info = (await store.content.info(blob)) ?? { size: 0 };
      await addEntry(archive, `blobs/sha256/${digestHex(blob)}`, { path: store.content.path(blob), size: info.size });
    }
    const descriptor: Descriptor = {
      mediaType: manifest.mediaType ?? MediaType.ociManifest,
      digest: image.digest,
      size: (await store.content.info(image.digest))!.size,
    };
    if (image.names.length === 0) manifests.push(descriptor);
    for (const name of image.names) {
      manifests.push({ ...descriptor, annotations: { [Annotation.containerdName]: name, [Annotation.refName]: name } });
    }
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  await addEntry(archive, 'index.json', jsonBlob(index));
}

/** docker-archive layers are plain tars named by diff ID; compressed layers are expanded into `scratch` first. */
async function writeDockerArchive(store: ImageStore, images: SaveImage[], archive: Pack, scratch: string): Promise<void> {
  const written = new Set<string>();
  const entries: DockerArchiveEntry[] = [];
  for (const image of images) {
    const { manifest, config } = await store.loadManifest(image.digest);
    const configName = `${digestHex(manifest.config.digest)}.json`;
    if (!written.has(configName)) {
      written.add(configName);
      await addEntry(archive, configName, await store.content.read(manifest.config.digest));
    }
    const layerNames: string[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      const layerName = `${digestHex(config.rootfs.diff_ids[i]!)}.tar`;
      layerNames.push(layerName);
      if (written.has(layerName)) continue;
      written.add(layerName);
      let path = store.content.path(layer.digest);
      if ((await blobCompression(store.content, layer.digest)) !== 'none') {
        path = join(scratch, layerName);
        await pipeline((await openLayerTar(store.content, layer.digest)).tar, createWriteStream(path));
      }
      await addEntry(archive, layerName, { path, size: (await stat(path)).size });
      if (path !== store.content.path(layer.digest)) await rm(path);
    }
    entries.push({ Config: configName, RepoTags: image.names.map(familiarReference), Layers: layerNames });
  }
  await addEntry(archive, 'manifest.json', jsonBlob(entries));
}

/** Writes the images `refs` name into one archive at `outPath` (replaced atomically). */
export async function saveArchive(store: ImageStore, refs: string[], outPath: string, format: ArchiveFormat): Promise<void> {
  if (refs.length === 0) throw errors.badRequest('save needs at least one image');
  if (!ARCHIVE_FORMATS.includes(format)) throw errors.badRequest(`unknown archive format "${format}": use ${ARCHIVE_FORMATS.join(' or ')}`);
  const images = await imagesToSave(store, refs);
  const temp = `${outPath}.${process.pid}.tmp`;
  const scratch = await mkdtemp(join(tmpdir(), 'berth-save-'));
  const archive = pack();
  const output = createWriteStream(temp);
  const written = new Promise<void>((resolve, reject) => {
    output.on('finish', resolve);
    output.on('error', reject);
    archive.on('error', reject);
  });
  archive.pipe(output);
  try {
    if (format === 'oci-archive') await writeOciArchive(store, images, archive);
    else await writeDockerArchive(store, images, archive, scratch);
    archive.finalize();
    await written;
    await rename(temp, outPath);
  } catch (err) {
    archive.destroy(err as Error);
    output.destroy();
    await rm(temp, { force: true });
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
