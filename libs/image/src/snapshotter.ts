import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { errors, field, isBerthError } from '@berth/errors';
import { digestHex, type Digest } from './digest';
import type { ImageStore } from './image-store';
import { openLayerTar } from './layer';
import { listMounts, mountOverlay, unmount, type MountInfo } from './mount';
import { unpackLayer } from './unpack';

/** A mount as the OCI runtime spec describes one (what a runtime passes to runc or mounts itself). */
/** Where unpacking a layer of an image stands: being unpacked, or there. */
export type UnpackPhase = 'extracting' | 'done';

export interface Mount {
  type: 'overlay';
  source: 'overlay';
  options: string[];
}

export interface ContainerSnapshot {
  containerId: string;
  /** Manifest digest of the image the rootfs came from. */
  image: Digest;
  /** Unpacked layers, topmost first (overlay's lowerdir order). */
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  mounts: Mount[];
}

export interface SnapshotUsage {
  layers: { count: number; size: number };
  containers: { containerId: string; size: number }[];
}

/** 64 bits of the chain ID: unique among a node's layers, short enough for deep stacks. */
const shortName = (layerName: string) => layerName.slice(0, 16);
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const METADATA_FILE = 'snapshot.json';
const EMPTY_LAYER = 'empty';
/** The image a snapshot of no image (a build step's) records. */
const EMPTY_DIGEST: Digest = `sha256:${'0'.repeat(64)}`;

/** A layer to stack: its chain ID (the snapshot's key) and its blob in the content store. */
export interface LayerRef {
  chainId: Digest;
  blob: Digest;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Bytes on disk under `dir`, each inode once. */
async function diskUsage(dir: string, seen = new Set<number>()): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const st = await lstat(path);
    if (seen.has(st.ino)) continue;
    seen.add(st.ino);
    total += st.blocks * 512;
    if (entry.isDirectory()) total += await diskUsage(path, seen);
  }
  return total;
}

/**
 * Overlay snapshots under `<root>/snapshots/`: each layer unpacked once into `layers/<chain ID hex>/` and
 * shared read-only by every container whose image has that layer stack; each container gets its own
 * `containers/<id>/{upper,work}`.
 */
export class OverlaySnapshotter {
  private readonly baseDir: string;
  private readonly linksDir: string;
  private readonly layersDir: string;
  private readonly containersDir: string;
  private readonly scratchDir: string;
  private readonly unpacking = new Map<string, Promise<string>>();

  private constructor(
    readonly root: string,
    private readonly images: ImageStore,
  ) {
    const base = join(root, 'snapshots');
    this.baseDir = base;
    this.linksDir = join(base, 'l');
    this.layersDir = join(base, 'layers');
    this.containersDir = join(base, 'containers');
    this.scratchDir = join(base, 'unpacking');
  }

  static async open(root: string, images: ImageStore): Promise<OverlaySnapshotter> {
    // Overlay options are comma- and colon-separated lists of paths; such characters in our root would corrupt them.
    if (/[,:]/.test(root)) throw errors.invalid('OverlaySnapshotter', root, [field.invalid('root', root, 'must not contain "," or ":"')]);
    await mkdir(root, { recursive: true });
    const snapshotter = new OverlaySnapshotter(await realpath(root), images);
    await mkdir(snapshotter.layersDir, { recursive: true });
    await mkdir(snapshotter.containersDir, { recursive: true });
    await mkdir(snapshotter.linksDir, { recursive: true });
    // Half-unpacked layers and half-made container dirs from a crash are never referenced.
    await rm(snapshotter.scratchDir, { recursive: true, force: true });
    await mkdir(snapshotter.scratchDir, { recursive: true });
    return snapshotter;
  }

  /** Unpacks whatever layers of the image are missing and gives the container its own upper and work dirs. */
  async prepare(containerId: string, imageRef: string): Promise<ContainerSnapshot> {
    const image = await this.images.layers(imageRef);
    if (image.layers.length === 0) throw errors.badRequest(`image ${imageRef} has no layers to make a root filesystem from`);
    return this.prepareLayers(containerId, image.layers.map((l, i) => ({ chainId: image.chainIds[i]!, blob: l.digest })), image.digest);
  }

  /**
   * A snapshot of layers that need not make an image yet (a build step's parent): each is unpacked once by
   * its chain ID from its blob in the content store. No layers (FROM scratch) gives an empty root.
   * `image` is recorded as the snapshot's image (what imagesInUse reports), if there is one.
   */
  async prepareLayers(containerId: string, layers: readonly LayerRef[], image?: Digest): Promise<ContainerSnapshot> {
    this.checkId(containerId);
    const dir = this.containerDir(containerId);
    if (await exists(dir)) throw errors.alreadyExists('snapshots', containerId);
    const lowerDirs: string[] = [];
    for (const layer of layers) lowerDirs.unshift(await this.unpackOnce(layer.chainId, layer.blob, [...lowerDirs]));
    if (lowerDirs.length === 0) lowerDirs.push(await this.emptyLayer());
    const snapshot = this.describe(containerId, image ?? EMPTY_DIGEST, lowerDirs);
    const temp = join(this.scratchDir, `container-${randomBytes(6).toString('hex')}`);
    await mkdir(join(temp, 'upper'), { recursive: true });
    await mkdir(join(temp, 'work'));
    await writeFile(join(temp, METADATA_FILE), JSON.stringify({ image: snapshot.image, lowerDirs }));
    try {
      await rename(temp, dir);
    } catch (err) {
      await rm(temp, { recursive: true, force: true });
      if (['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw errors.alreadyExists('snapshots', containerId);
      throw err;
    }
    return snapshot;
  }

  /** The empty lower dir under a FROM scratch root (overlay needs at least one lower dir). */
  private async emptyLayer(): Promise<string> {
    const dir = join(this.layersDir, EMPTY_LAYER);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  /**
   * Unpacks every layer of an image (containerd's unpack-on-pull), returning the lower dirs topmost first.
   * `onLayer` hears of each layer in order: `extracting` when it is being unpacked (here or by a call at the
   * same moment; not when it was unpacked before), `done` once it is there.
   */
  async unpackImage(imageRef: string, onLayer?: (layer: Digest, phase: UnpackPhase) => void): Promise<string[]> {
    const image = await this.images.layers(imageRef);
    const lowerDirs: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      lowerDirs.unshift(await this.unpackOnce(image.chainIds[i]!, layer.digest, [...lowerDirs], () => onLayer?.(layer.digest, 'extracting')));
      onLayer?.(layer.digest, 'done');
    }
    return lowerDirs;
  }

  async get(containerId: string): Promise<ContainerSnapshot> {
    this.checkId(containerId);
    let metadata: { image: Digest; lowerDirs: string[] };
    try {
      metadata = JSON.parse(await readFile(join(this.containerDir(containerId), METADATA_FILE), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw errors.notFound('snapshots', containerId);
      throw err;
    }
    return this.describe(containerId, metadata.image, metadata.lowerDirs);
  }

  async list(): Promise<ContainerSnapshot[]> {
    const snapshots: ContainerSnapshot[] = [];
    for (const name of await readdir(this.containersDir)) {
      if (!CONTAINER_ID.test(name)) continue;
      try {
        snapshots.push(await this.get(name));
      } catch (err) {
        // removed while we listed
        if (!isBerthError(err, 'NotFound')) throw err;
      }
    }
    return snapshots;
  }

  /**
   * Mounts the container's root filesystem at `target` (an existing directory). mount(2) takes at most one page
   * of options, which absolute lowerdirs exceed at about 40 layers; like docker's overlay2 `l/` links, short
   * relative links (`l/<16 hex>` → `../layers/<chain ID>`) resolved from the snapshots dir fit over 127 layers.
   */
  async mount(containerId: string, target: string): Promise<void> {
    const snapshot = await this.get(containerId);
    const links: string[] = [];
    for (const lowerDir of snapshot.lowerDirs) links.push(await this.shortLink(basename(lowerDir)));
    const options = [`lowerdir=${links.join(':')}`, `upperdir=${snapshot.upperDir}`, `workdir=${snapshot.workDir}`];
    await mountOverlay(target, options, this.baseDir);
  }

  /** Unmounts `target`; nothing to do when nothing is mounted there. */
  async unmount(target: string): Promise<void> {
    const path = await realpath(target).catch(() => target);
    const mounted = (await listMounts()).filter((m) => m.mountPoint === path);
    for (let i = 0; i < mounted.length; i++) await unmount(path);
  }

  /** Unmounts every mount of the container's rootfs (wherever it is) and removes its upper and work dirs. */
  async remove(containerId: string): Promise<boolean> {
    this.checkId(containerId);
    const dir = this.containerDir(containerId);
    for (const mount of (await this.mountsOf(containerId)).reverse()) await unmount(mount.mountPoint);
    if (!(await exists(dir))) return false;
    await rm(dir, { recursive: true, force: true });
    return true;
  }

  async imagesInUse(): Promise<Set<Digest>> {
    return new Set((await this.list()).map((s) => s.image).filter((d) => d !== EMPTY_DIGEST));
  }

  /** Removes unpacked layers that neither a container nor an image in the store needs. */
  async prune(): Promise<{ removedLayers: number }> {
    const needed = new Set<string>();
    for (const snapshot of await this.list()) for (const dir of snapshot.lowerDirs) needed.add(dir);
    for (const image of await this.images.list()) {
      for (const chainId of (await this.images.layers(image.digest)).chainIds) needed.add(this.layerDir(chainId));
    }
    let removedLayers = 0;
    for (const name of await readdir(this.layersDir)) {
      const dir = join(this.layersDir, name);
      if (needed.has(dir) || this.unpacking.has(name) || name === EMPTY_LAYER) continue;
      await rm(join(this.linksDir, shortName(name)), { force: true });
      await rm(dir, { recursive: true, force: true });
      removedLayers++;
    }
    return { removedLayers };
  }

  async usage(): Promise<SnapshotUsage> {
    const layerNames = await readdir(this.layersDir);
    let layerBytes = 0;
    const seen = new Set<number>();
    for (const name of layerNames) layerBytes += await diskUsage(join(this.layersDir, name), seen);
    const containers: SnapshotUsage['containers'] = [];
    for (const snapshot of await this.list()) containers.push({ containerId: snapshot.containerId, size: await diskUsage(snapshot.upperDir) });
    return { layers: { count: layerNames.length, size: layerBytes }, containers };
  }

  /** Overlay mounts whose upper dir is this container's, plus anything mounted inside its directory. */
  private async mountsOf(containerId: string): Promise<MountInfo[]> {
    const dir = this.containerDir(containerId);
    const upper = `upperdir=${join(dir, 'upper')}`;
    return (await listMounts()).filter(
      (m) => (m.fsType === 'overlay' && m.superOptions.split(',').includes(upper)) || m.mountPoint.startsWith(`${dir}/`),
    );
  }

  private async unpackOnce(chainId: Digest, blob: Digest, lowerDirs: string[], onExtracting: () => void = () => undefined): Promise<string> {
    const key = digestHex(chainId);
    const dir = this.layerDir(chainId);
    const inFlight = this.unpacking.get(key);
    if (inFlight) {
      onExtracting();
      return inFlight;
    }
    if (await exists(dir)) return dir;
    onExtracting();
    const work = (async () => {
      const temp = join(this.scratchDir, `${key}-${randomBytes(6).toString('hex')}`);
      await mkdir(temp, { mode: 0o755 });
      try {
        await unpackLayer((await openLayerTar(this.images.content, blob)).tar, temp, { layerName: blob, lowerDirs });
        await rename(temp, dir);
      } catch (err) {
        await rm(temp, { recursive: true, force: true });
        if (['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '') && (await exists(dir))) return dir;
        throw err;
      }
      return dir;
    })();
    this.unpacking.set(key, work);
    try {
      return await work;
    } finally {
      this.unpacking.delete(key);
    }
  }

  /** `l/<short>` relative to the snapshots dir, created on first use. */
  private async shortLink(layerName: string): Promise<string> {
    const link = join(this.linksDir, shortName(layerName));
    const pointsTo = join('..', 'layers', layerName);
    try {
      await symlink(pointsTo, link);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await readlink(link);
      if (existing !== pointsTo) throw errors.internal(`snapshot link ${link} points to ${existing}, not ${pointsTo}`);
    }
    return relative(this.baseDir, link);
  }

  private describe(containerId: string, image: Digest, lowerDirs: string[]): ContainerSnapshot {
    const dir = this.containerDir(containerId);
    const upperDir = join(dir, 'upper');
    const workDir = join(dir, 'work');
    return {
      containerId,
      image,
      lowerDirs,
      upperDir,
      workDir,
      mounts: [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowerDirs.join(':')}`, `upperdir=${upperDir}`, `workdir=${workDir}`] }],
    };
  }

  private layerDir(chainId: Digest): string {
    return join(this.layersDir, digestHex(chainId));
  }

  private containerDir(containerId: string): string {
    return join(this.containersDir, containerId);
  }

  private checkId(containerId: string): void {
    if (!CONTAINER_ID.test(containerId)) {
      throw errors.invalid('snapshots', containerId, [field.invalid('containerId', containerId, 'must be 1-128 letters, digits, "_", "." or "-", starting with a letter or digit')]);
    }
  }
}
