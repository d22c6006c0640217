import { errors } from '@berth/errors';
import { ARCHIVE_FORMATS, ArchiveFormat, ImageStore, ImageSummary, OverlaySnapshotter } from '@berth/image';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerManager } from './containers';
import { diskUsage } from './files';
import type { VolumeStore } from './volumes';

export interface DiskUsageReport {
  images: UsageLine;
  containers: UsageLine;
  volumes: UsageLine;
  imageDetails: Array<{ image: ImageSummary; inUse: boolean; uniqueSize: number; containers: number }>;
  containerDetails: Array<{ id: string; name: string; image: string; state: string; size: number }>;
  volumeDetails: Array<{ name: string; links: number; size: number }>;
}

interface UsageLine {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** Image verbs over the node's image store, knowing which images containers use. */
export class ImageService {
  constructor(
    readonly store: ImageStore,
    private readonly snapshotter: OverlaySnapshotter,
    private readonly containers: ContainerManager,
    private readonly volumes: VolumeStore,
    private readonly scratchDir: string,
  ) {}

  private inUse(): Set<ImageSummary['digest']> {
    return this.containers.imagesInUse() as Set<ImageSummary['digest']>;
  }

  /** A file under the scratch dir for the section's length (archives need random access or a size). */
  private async withScratchFile<T>(section: (path: string) => Promise<T>): Promise<T> {
    await mkdir(this.scratchDir, { recursive: true });
    const path = join(this.scratchDir, `upload-${randomBytes(8).toString('hex')}`);
    try {
      return await section(path);
    } finally {
      await rm(path, { force: true });
    }
  }

  async import(body: AsyncIterable<Buffer>, options: { name: string; message: string; configJson: string }) {
    let config;
    try {
      config = options.configJson ? JSON.parse(options.configJson) : undefined;
    } catch {
      throw errors.badRequest('the image config is not valid JSON');
    }
    return this.store.importRootfs(body, options.name || undefined, { message: options.message || undefined, config });
  }

  load(body: AsyncIterable<Buffer>) {
    return this.withScratchFile(async (path) => {
      await pipeline(body, createWriteStream(path));
      return this.store.load(path);
    });
  }

  /** Saves into a scratch file and hands its bytes to `send` (the stream to the client). */
  save(refs: string[], format: string, send: (file: Readable) => Promise<void>): Promise<void> {
    const chosen = (format || 'docker-archive') as ArchiveFormat;
    if (!ARCHIVE_FORMATS.includes(chosen)) throw errors.badRequest(`unknown archive format "${format}": use ${ARCHIVE_FORMATS.join(' or ')}`);
    if (!refs.length) throw errors.badRequest('name at least one image to save');
    return this.withScratchFile(async (path) => {
      await this.store.save(refs, path, { format: chosen });
      await send(createReadStream(path, { highWaterMark: 256 * 1024 }));
    });
  }

  remove(ref: string, force: boolean) {
    return this.store.remove(ref, { force, inUse: this.inUse() });
  }

  async prune(all: boolean) {
    const result = await this.store.prune({ all, inUse: this.inUse() });
    await this.snapshotter.prune();
    return result;
  }

  async diskUsage(): Promise<DiskUsageReport> {
    const inUse = this.inUse();
    const imageUsage = await this.store.usage({ inUse });
    const containers = await this.containers.list({ all: true });
    const snapshotSizes = new Map((await this.snapshotter.usage()).containers.map((c) => [c.containerId, c.size]));
    const containerDetails = containers.map((c) => ({ id: c.id, name: c.name, image: c.image, state: c.state, size: snapshotSizes.get(c.id) ?? 0 }));
    const volumeUsers = this.containers.volumeUsers();
    const volumeDetails = [];
    for (const volume of await this.volumes.list()) {
      volumeDetails.push({ name: volume.name, links: (volumeUsers.get(volume.name) ?? []).length, size: await diskUsage(volume.mountpoint) });
    }
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const usersOf = (digest: string) => containers.filter((c) => this.containers.resolve(c.id).imageDigest === digest).length;
    return {
      images: { total: imageUsage.images.length, active: imageUsage.activeImages, size: imageUsage.totalSize, reclaimable: imageUsage.reclaimableSize },
      containers: {
        total: containers.length,
        active: containers.filter((c) => c.state === 'running').length,
        size: sum(containerDetails.map((c) => c.size)),
        reclaimable: sum(containerDetails.filter((c) => c.state !== 'running').map((c) => c.size)),
      },
      volumes: {
        total: volumeDetails.length,
        active: volumeDetails.filter((v) => v.links > 0).length,
        size: sum(volumeDetails.map((v) => v.size)),
        reclaimable: sum(volumeDetails.filter((v) => v.links === 0).map((v) => v.size)),
      },
      imageDetails: imageUsage.images.map((image) => ({ image, inUse: image.inUse, uniqueSize: image.uniqueSize, containers: usersOf(image.digest) })),
      containerDetails,
      volumeDetails,
    };
  }
}
