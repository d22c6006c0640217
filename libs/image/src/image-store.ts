import { join } from 'node:path';
import { errors } from '@berth/errors';
import { readJsonIfExists, writeJsonAtomic } from '@berth/host';
import { loadArchive, saveArchive, type ArchiveFormat, type LoadedImage } from './archive';
import { ContentStore } from './content-store';
import { chainIds, isDigest, type Digest } from './digest';
import { inspectLayer, storeLayer, type StoredLayer } from './layer';
import { openInputFile } from './tar';
import {
  MANIFEST_MEDIA_TYPES,
  MediaType,
  hostPlatform,
  jsonBlob,
  type ContainerConfig,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
} from './oci';
import { familiarReference, normalizeReference, parseReference } from './reference';

interface ImageRecord {
  /** When this node first stored the image. */
  added: string;
}

interface ImageIndexFile {
  version: 1;
  /** Every image on the node, named or dangling, keyed by manifest digest. */
  images: Record<string, ImageRecord>;
  /** Normalised `repository:tag` → manifest digest. */
  names: Record<string, Digest>;
  /** `repository@digest` (the digest a registry knows the image by, maybe its index's) → manifest digest. */
  repoDigests?: Record<string, Digest>;
}

export interface ImageSummary {
  /** The image ID, as docker shows it: the digest of its config. */
  id: Digest;
  /** The manifest digest: the image's identity in the content store and in archives. */
  digest: Digest;
  /** Normalised names (`docker.io/library/busybox:latest`). */
  names: string[];
  /** When the image was built (its config's `created`), or when this node added it. */
  created: string;
  /** Bytes of the image's blobs: manifest, config and (possibly compressed) layers. */
  size: number;
  /** `repository@digest` for each registry the image was pulled from or pushed to (docker's RepoDigests). */
  repoDigests: string[];
}

export interface ImageDetails extends ImageSummary {
  manifest: ImageManifest;
  config: ImageConfig;
}

export interface ImageLayers {
  digest: Digest;
  layers: Descriptor[];
  diffIds: Digest[];
  /** `chainIds[i]` identifies layers 0..i stacked; the snapshotter keys unpacked layers by it. */
  chainIds: Digest[];
}

export interface RemoveResult {
  untagged: string[];
  /** Manifest digests of images that no longer exist (their blobs go at the next prune). */
  deleted: Digest[];
}

export interface PruneOptions {
  /** Also remove named images that no container uses (`image prune -a`), not just dangling ones. */
  all?: boolean;
  /** Manifest digests of images containers use; never pruned. */
  inUse?: ReadonlySet<Digest>;
}

export interface PruneResult {
  deletedImages: { digest: Digest; names: string[] }[];
  deletedBlobs: number;
  reclaimedBytes: number;
}

export interface ImageUsage {
  images: (ImageSummary & { inUse: boolean; uniqueSize: number })[];
  activeImages: number;
  /** Bytes of all blobs images reference (shared blobs counted once). */
  totalSize: number;
  /** Bytes that removing every image no container uses would free. */
  reclaimableSize: number;
  /** Every blob file in the content store, referenced or not. */
  blobs: { count: number; size: number };
}

export interface CreateImageOptions {
  /** Layer tarballs (plain or gzip), bottom first. */
  layers: AsyncIterable<Buffer>[];
  config?: ContainerConfig;
  history?: HistoryEntry[];
  names?: string[];
  created?: Date;
}

export interface ImportOptions {
  config?: ContainerConfig;
  /** Recorded as the history comment (docker import --message). */
  message?: string;
}

const IMAGE_ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/** Runs async sections one at a time: prune must never see a half-registered load. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The node's images: OCI manifests and configs in the content store, named by an index of
 * `repository:tag` → manifest digest persisted in `<root>/images.json`.
 */
export class ImageStore {
  private readonly indexPath: string;
  private readonly mutex = new Mutex();
  private readonly manifests = new Map<Digest, { manifest: ImageManifest; config: ImageConfig; size: number }>();
  /** Blobs a pull, build or commit stored that no image references yet: no prune or rolled-back load may delete them. */
  private readonly held = new Map<Digest, number>();

  private constructor(
    readonly root: string,
    readonly content: ContentStore,
    private index: ImageIndexFile,
  ) {
    this.indexPath = join(root, 'images.json');
  }

  static async open(root: string): Promise<ImageStore> {
    const content = new ContentStore(root);
    await content.init();
    const index = (await readJsonIfExists<ImageIndexFile>(join(root, 'images.json'))) ?? { version: 1, images: {}, names: {} };
    index.repoDigests ??= {};
    return new ImageStore(root, content, index);
  }

  /** Runs `section` with the index locked (archive loading registers many images under one lock). */
  exclusive<T>(section: () => Promise<T>): Promise<T> {
    return this.mutex.run(section);
  }

  /**
   * Runs `section`, which adds blobs and images, with the index locked; when it fails, the blobs it added
   * that no image references are removed again, so a refused import or load leaves nothing behind.
   */
  adding<T>(section: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const before = new Set(await this.content.digests());
      try {
        return await section();
      } catch (err) {
        await this.deleteUnreferenced(before);
        throw err;
      }
    });
  }

  /**
   * Keeps `digests` from being deleted as unreferenced (containerd's lease) until the returned release is
   * called: a pull downloads blobs, a build stores layers, before an image references them.
   */
  hold(digests: Iterable<Digest>): () => void {
    const list = [...digests];
    for (const d of list) this.held.set(d, (this.held.get(d) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const d of list) {
        const count = (this.held.get(d) ?? 1) - 1;
        if (count > 0) this.held.set(d, count);
        else this.held.delete(d);
      }
    };
  }

  /** Records that a registry knows the image `manifestDigest` as `repository@digest` (docker's RepoDigests). */
  addRepoDigest(repository: string, digest: Digest, manifestDigest: Digest): Promise<void> {
    return this.exclusive(async () => {
      if (!this.index.images[manifestDigest]) throw errors.notFound('images', manifestDigest);
      const key = `${parseReference(repository).repository}@${digest}`;
      const repoDigests = this.index.repoDigests!;
      // One digest per repository and image, as docker keeps it: a newer push or pull replaces the older.
      for (const [other, d] of Object.entries(repoDigests)) if (d === manifestDigest && other.startsWith(`${key.split('@')[0]}@`)) delete repoDigests[other];
      repoDigests[key] = manifestDigest;
      await this.persist();
    });
  }

  async list(): Promise<ImageSummary[]> {
    const summaries: ImageSummary[] = [];
    for (const digest of Object.keys(this.index.images) as Digest[]) summaries.push(await this.summary(digest));
    return summaries.sort((a, b) => b.created.localeCompare(a.created));
  }

  async inspect(ref: string): Promise<ImageDetails> {
    const digest = await this.resolve(ref);
    const { manifest, config } = await this.loadManifest(digest);
    return { ...(await this.summary(digest)), manifest, config };
  }

  /** The manifest digest `ref` names: a name (normalised like docker), `name@sha256:...`, an image ID or manifest digest, or a unique prefix of one. */
  async resolve(ref: string): Promise<Digest> {
    let nameError: unknown;
    try {
      const parsed = parseReference(ref);
      if (parsed.digest) {
        const byRepoDigest = this.index.repoDigests![`${parsed.repository}@${parsed.digest}`];
        if (byRepoDigest) return byRepoDigest;
        if (this.index.images[parsed.digest]) return parsed.digest;
      } else {
        const named = this.index.names[normalizeReference(ref)];
        if (named) return named;
      }
    } catch (err) {
      nameError = err;
    }
    const prefix = IMAGE_ID_PREFIX.exec(ref)?.[1];
    if (prefix) {
      const matches = new Set<Digest>();
      for (const digest of Object.keys(this.index.images) as Digest[]) {
        const id = (await this.loadManifest(digest)).manifest.config.digest;
        if (digest.slice(7).startsWith(prefix) || id.slice(7).startsWith(prefix)) matches.add(digest);
      }
      if (matches.size > 1) throw errors.badRequest(`image ID prefix "${ref}" is ambiguous: it matches ${matches.size} images`);
      const [only] = matches;
      if (only) return only;
    }
    if (nameError && !prefix) throw nameError;
    throw errors.notFound('images', ref);
  }

  async layers(ref: string): Promise<ImageLayers> {
    const digest = await this.resolve(ref);
    const { manifest, config } = await this.loadManifest(digest);
    const diffIds = config.rootfs.diff_ids;
    return { digest, layers: manifest.layers, diffIds, chainIds: chainIds(diffIds) };
  }

  /** Names `target` (normalised; moved from any image it named before) after the image `source` resolves to. */
  tag(source: string, target: string): Promise<void> {
    return this.exclusive(async () => {
      const digest = await this.resolve(source);
      const name = this.tagName(target);
      this.index.names[name] = digest;
      await this.persist();
    });
  }

  /**
   * Untags a name; an image left without names is removed (its blobs are freed by the next prune). Given an ID
   * or digest, removes the image and all its names, which needs `force` when it has several names. An image
   * containers use is only removed with `force`.
   */
  remove(ref: string, options: { force?: boolean; inUse?: ReadonlySet<Digest> } = {}): Promise<RemoveResult> {
    return this.exclusive(async () => {
      const digest = await this.resolve(ref);
      const repoDigest = this.repoDigestKey(ref);
      if (repoDigest && this.index.repoDigests![repoDigest] === digest && (this.namesOf(digest).length > 0 || this.repoDigestsOf(digest).length > 1)) {
        // `rmi name@sha256:…` of an image known by other names too: only that repo digest goes, as docker untags it.
        delete this.index.repoDigests![repoDigest];
        await this.persist();
        return { untagged: [repoDigest], deleted: [] };
      }
      const names = this.namesOf(digest);
      let byName: string | undefined;
      try {
        const normalized = normalizeReference(ref);
        if (this.index.names[normalized] === digest) byName = normalized;
      } catch {
        // not a name: an ID or digest
      }
      const untag = byName ? [byName] : names;
      if (!byName && names.length > 1 && !options.force) {
        throw errors.conflict('images', ref, `image is referenced in multiple repositories (${names.map(familiarReference).join(', ')}); untag them or force removal`);
      }
      const removesImage = untag.length === names.length;
      if (removesImage && options.inUse?.has(digest) && !options.force) {
        throw errors.conflict('images', ref, 'a container is using this image; remove the container first or force removal');
      }
      for (const name of untag) delete this.index.names[name];
      if (removesImage) this.forget(digest);
      await this.persist();
      return { untagged: untag, deleted: removesImage ? [digest] : [] };
    });
  }

  /** Removes dangling images (or, with `all`, every image no container uses), then every blob no image references. */
  prune(options: PruneOptions = {}): Promise<PruneResult> {
    return this.exclusive(async () => {
      const deletedImages: PruneResult['deletedImages'] = [];
      for (const digest of Object.keys(this.index.images) as Digest[]) {
        if (options.inUse?.has(digest)) continue;
        const names = this.namesOf(digest);
        // Dangling is neither named nor known by a repo digest (an image pulled by digest is not dangling).
        if ((names.length > 0 || this.repoDigestsOf(digest).length > 0) && !options.all) continue;
        for (const name of names) delete this.index.names[name];
        this.forget(digest);
        deletedImages.push({ digest, names });
      }
      if (deletedImages.length > 0) await this.persist();
      return { deletedImages, ...(await this.deleteUnreferenced()) };
    });
  }

  async usage(options: { inUse?: ReadonlySet<Digest> } = {}): Promise<ImageUsage> {
    const digests = Object.keys(this.index.images) as Digest[];
    const blobUsers = new Map<Digest, number>();
    const blobsByImage = new Map<Digest, Map<Digest, number>>();
    for (const digest of digests) {
      const blobs = await this.blobsOf(digest);
      blobsByImage.set(digest, blobs);
      for (const blob of blobs.keys()) blobUsers.set(blob, (blobUsers.get(blob) ?? 0) + 1);
    }
    const sizes = new Map<Digest, number>();
    for (const blobs of blobsByImage.values()) for (const [blob, size] of blobs) sizes.set(blob, size);
    const activeBlobs = new Set<Digest>();
    for (const digest of digests) if (options.inUse?.has(digest)) for (const blob of blobsByImage.get(digest)!.keys()) activeBlobs.add(blob);
    const sum = (blobs: Iterable<Digest>) => [...blobs].reduce((total, blob) => total + (sizes.get(blob) ?? 0), 0);
    const images: ImageUsage['images'] = [];
    for (const digest of digests) {
      const blobs = [...blobsByImage.get(digest)!.keys()];
      images.push({ ...(await this.summary(digest)), inUse: options.inUse?.has(digest) ?? false, uniqueSize: sum(blobs.filter((b) => blobUsers.get(b) === 1)) });
    }
    const allBlobs = await this.content.list();
    return {
      images,
      activeImages: images.filter((i) => i.inUse).length,
      totalSize: sum(sizes.keys()),
      reclaimableSize: sum([...sizes.keys()].filter((b) => !activeBlobs.has(b))),
      blobs: { count: allBlobs.length, size: allBlobs.reduce((total, b) => total + b.size, 0) },
    };
  }

  /** Builds an image from layer tarballs: stores them, writes its config and manifest, and names it. */
  createImage(options: CreateImageOptions, layerNames?: string[]): Promise<ImageDetails> {
    return this.adding(async () => {
      const names = (options.names ?? []).map((n) => this.tagName(n));
      const layers: Descriptor[] = [];
      const diffIds: Digest[] = [];
      for (const [i, source] of options.layers.entries()) {
        const stored = await storeLayer(this.content, source, layerNames?.[i] ?? `${i + 1} of ${options.layers.length}`);
        layers.push(stored.descriptor);
        diffIds.push(stored.diffId);
      }
      const config: ImageConfig = {
        created: (options.created ?? new Date()).toISOString(),
        ...hostPlatform(),
        config: options.config ?? {},
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: options.history ?? [],
      };
      const configBlob = await this.content.put(jsonBlob(config));
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, ...configBlob },
        layers,
      };
      const manifestBlob = await this.content.put(jsonBlob(manifest));
      // storeLayer computed the diff IDs from the stored blobs themselves.
      await this.register([{ digest: manifestBlob.digest, names }], { diffIdsVerified: true });
      return this.inspect(manifestBlob.digest);
    });
  }

  /**
   * An image of layers already in the content store (a build's, a commit's; hold them until this
   * returns): writes its config and manifest and names it.
   */
  createImageFromLayers(options: { layers: StoredLayer[]; config: Omit<ImageConfig, 'rootfs' | 'architecture' | 'os'>; names?: string[] }): Promise<ImageDetails> {
    return this.adding(async () => {
      const names = (options.names ?? []).map((n) => this.tagName(n));
      for (const layer of options.layers) {
        if (!(await this.content.has(layer.descriptor.digest))) throw errors.notFound('blobs', layer.descriptor.digest);
      }
      const config: ImageConfig = {
        ...hostPlatform(),
        ...options.config,
        rootfs: { type: 'layers', diff_ids: options.layers.map((l) => l.diffId) },
      };
      const configBlob = await this.content.put(jsonBlob(config));
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, ...configBlob },
        layers: options.layers.map((l) => l.descriptor),
      };
      const manifestBlob = await this.content.put(jsonBlob(manifest));
      await this.register([{ digest: manifestBlob.digest, names }], { diffIdsVerified: true });
      return this.inspect(manifestBlob.digest);
    });
  }

  /** `docker import`: a rootfs tarball (plain or gzip) becomes a one-layer image. */
  async importRootfs(source: string | AsyncIterable<Buffer>, name?: string, options: ImportOptions = {}): Promise<ImageDetails> {
    const created = new Date();
    const from = typeof source === 'string' ? source : '-';
    return this.createImage(
      {
        layers: [typeof source === 'string' ? await openInputFile(source) : source],
        names: name === undefined ? [] : [name],
        config: options.config,
        created,
        history: [{ created: created.toISOString(), created_by: 'berth image import', comment: options.message ?? `Imported from ${from}` }],
      },
      [typeof source === 'string' ? source : 'rootfs'],
    );
  }

  /** `docker load`: an OCI archive or docker-archive (gzipped or not) → images named as in the archive. */
  load(archivePath: string): Promise<LoadedImage[]> {
    return loadArchive(this, archivePath);
  }

  /** `docker save`: writes the images into one archive that skopeo, podman and docker read. */
  save(refs: string[], outPath: string, options: { format: ArchiveFormat }): Promise<void> {
    return saveArchive(this, refs, outPath, options.format);
  }

  /**
   * Adds images whose manifests, configs and layers are already in the content store, after checking of every
   * one that they are all there, that every layer unpacks safely and that its content matches the diff ID its
   * config claims (snapshots are keyed by those, so a lying config must not alias another image's layers).
   * Either all are added or none. Callers hold the lock (`adding`).
   */
  async register(images: { digest: Digest; names: string[] }[], options: { diffIdsVerified?: boolean; knownDiffIds?: ReadonlyMap<Digest, Digest> } = {}): Promise<void> {
    const named = images.map((image) => ({ digest: image.digest, names: image.names.map((n) => this.tagName(n)) }));
    // A layer several of the images share is read once: layer digest → the diff ID its content has.
    // `knownDiffIds`: layers whose content the caller already inspected (a pull does it while downloading).
    const diffIds = new Map<Digest, Digest>(options.knownDiffIds ?? []);
    // An image already in the index was verified when it was first added (a pull of what is here re-registers it).
    for (const image of named) if (!this.index.images[image.digest]) await this.verify(image.digest, diffIds, options);
    for (const image of named) {
      this.index.images[image.digest] ??= { added: new Date().toISOString() };
      for (const name of image.names) this.index.names[name] = image.digest;
    }
    await this.persist();
  }

  private async verify(manifestDigest: Digest, diffIds: Map<Digest, Digest>, options: { diffIdsVerified?: boolean }): Promise<void> {
    const { manifest, config } = await this.loadManifest(manifestDigest);
    if (manifest.layers.length !== config.rootfs.diff_ids.length) {
      throw errors.badRequest(`image ${manifestDigest} has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff IDs`);
    }
    for (const [i, layer] of manifest.layers.entries()) {
      const info = await this.content.info(layer.digest);
      if (!info) throw errors.badRequest(`image ${manifestDigest}: layer ${layer.digest} is missing`);
      if (info.size !== layer.size) throw errors.badRequest(`image ${manifestDigest}: layer ${layer.digest} has size ${info.size}, the manifest says ${layer.size}`);
      if (options.diffIdsVerified) continue;
      let diffId = diffIds.get(layer.digest);
      if (diffId === undefined) {
        diffId = (await inspectLayer(this.content, layer.digest, layer.digest)).diffId;
        diffIds.set(layer.digest, diffId);
      }
      if (diffId !== config.rootfs.diff_ids[i]) {
        throw errors.badRequest(`image ${manifestDigest}: layer ${layer.digest} has diff ID ${diffId}, the config says ${config.rootfs.diff_ids[i]}`);
      }
    }
  }

  /** `repository@digest` as the index keys it, when `ref` is a name with a digest. */
  private repoDigestKey(ref: string): string | undefined {
    try {
      const parsed = parseReference(ref);
      return parsed.digest ? `${parsed.repository}@${parsed.digest}` : undefined;
    } catch {
      return undefined;
    }
  }

  /** Drops an image and its repo digests from the index (its names are the caller's business). */
  private forget(digest: Digest): void {
    delete this.index.images[digest];
    for (const [key, d] of Object.entries(this.index.repoDigests!)) if (d === digest) delete this.index.repoDigests![key];
  }

  repoDigestsOf(digest: Digest): string[] {
    return Object.entries(this.index.repoDigests!)
      .filter(([, d]) => d === digest)
      .map(([key]) => key)
      .sort();
  }

  namesOf(digest: Digest): string[] {
    return Object.entries(this.index.names)
      .filter(([, d]) => d === digest)
      .map(([name]) => name)
      .sort();
  }

  async loadManifest(digest: Digest): Promise<{ manifest: ImageManifest; config: ImageConfig; size: number }> {
    const cached = this.manifests.get(digest);
    if (cached) return cached;
    const manifest = await this.content.readJson<ImageManifest>(digest);
    const mediaType = manifest.mediaType ?? MediaType.ociManifest;
    if (manifest.schemaVersion !== 2 || !MANIFEST_MEDIA_TYPES.includes(mediaType) || !manifest.config || !Array.isArray(manifest.layers)) {
      throw errors.badRequest(`blob ${digest} is not an image manifest (media type ${mediaType})`);
    }
    for (const descriptor of [manifest.config, ...manifest.layers]) {
      if (!isDigest(descriptor.digest)) throw errors.badRequest(`image manifest ${digest} references the unsupported digest "${descriptor.digest}"`);
    }
    const config = await this.content.readJson<ImageConfig>(manifest.config.digest);
    if (config.rootfs?.type !== 'layers' || !Array.isArray(config.rootfs.diff_ids) || !config.rootfs.diff_ids.every(isDigest)) {
      throw errors.badRequest(`image config ${manifest.config.digest} has no valid rootfs.diff_ids`);
    }
    const manifestSize = (await this.content.info(digest))?.size ?? 0;
    const size = manifestSize + manifest.config.size + manifest.layers.reduce((total, l) => total + l.size, 0);
    const entry = { manifest, config, size };
    this.manifests.set(digest, entry);
    return entry;
  }

  private tagName(name: string): string {
    const parsed = parseReference(name);
    if (parsed.digest) throw errors.badRequest(`cannot name an image "${name}": a name may not contain a digest`);
    return normalizeReference(name);
  }

  private async summary(digest: Digest): Promise<ImageSummary> {
    const { manifest, config, size } = await this.loadManifest(digest);
    return {
      id: manifest.config.digest,
      digest,
      names: this.namesOf(digest),
      repoDigests: this.repoDigestsOf(digest),
      created: config.created ?? this.index.images[digest]?.added ?? '',
      size,
    };
  }

  /** digest → size of every blob an image needs (manifest, config, layers). */
  private async blobsOf(digest: Digest): Promise<Map<Digest, number>> {
    const { manifest } = await this.loadManifest(digest);
    const blobs = new Map<Digest, number>([[digest, (await this.content.info(digest))?.size ?? 0]]);
    for (const descriptor of [manifest.config, ...manifest.layers]) blobs.set(descriptor.digest, descriptor.size);
    return blobs;
  }

  private async referencedBlobs(images: Digest[]): Promise<Set<Digest>> {
    const referenced = new Set<Digest>();
    for (const digest of images) for (const blob of (await this.blobsOf(digest)).keys()) referenced.add(blob);
    return referenced;
  }

  /** Deletes every blob that no image references and `keep` does not hold; says how many and their bytes. */
  private async deleteUnreferenced(keep: ReadonlySet<Digest> = new Set()): Promise<{ deletedBlobs: number; reclaimedBytes: number }> {
    const referenced = await this.referencedBlobs(Object.keys(this.index.images) as Digest[]);
    let deletedBlobs = 0;
    let reclaimedBytes = 0;
    for (const digest of await this.content.digests()) {
      if (keep.has(digest) || referenced.has(digest) || this.held.has(digest)) continue;
      const blob = await this.content.info(digest);
      if (!blob) continue;
      await this.content.delete(digest);
      this.manifests.delete(digest);
      deletedBlobs++;
      reclaimedBytes += blob.size;
    }
    return { deletedBlobs, reclaimedBytes };
  }

  private async persist(): Promise<void> {
    await writeJsonAtomic(this.indexPath, this.index);
  }
}
