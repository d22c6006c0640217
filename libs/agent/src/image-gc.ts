import type { KubeObject } from '@berth/api';
import { errors, isBerthError } from '@berth/errors';
import type { Image, RuntimeClient } from '@berth/runtime-client';
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';

/** kubelet's image GC settings. */
export interface ImageGCPolicy {
  /** Disk use (percent of the image filesystem) at or above which images are removed (kubelet's --image-gc-high-threshold, 85). */
  highThresholdPercent: number;
  /** Disk use they are removed down to (kubelet's --image-gc-low-threshold, 80). */
  lowThresholdPercent: number;
  /** An image first seen on the node less than this long ago stays (kubelet's --minimum-image-ttl-duration, 2 minutes). */
  minAgeMs: number;
}

export const DEFAULT_IMAGE_GC: ImageGCPolicy = { highThresholdPercent: 85, lowThresholdPercent: 80, minAgeMs: 120_000 };

/** How often the agent looks at the image filesystem (kubelet's ImageGCPeriod). */
export const IMAGE_GC_PERIOD_MS = 5 * 60_000;

/** The size of the filesystem images live on, and what is left of it. */
export interface FsUsage {
  capacityBytes: number;
  availableBytes: number;
}

/** What statfs says of the filesystem holding `path` (runtimed's root, where its content store and snapshots live). */
export async function filesystemUsage(path: string): Promise<FsUsage> {
  const stats = await statfs(path);
  return { capacityBytes: stats.blocks * stats.bsize, availableBytes: stats.bavail * stats.bsize };
}

/** The thresholds as the flags give them: whole percentages, 0..100, low not above high (kubelet's validation). */
export function checkImageGCPolicy(policy: Pick<ImageGCPolicy, 'highThresholdPercent' | 'lowThresholdPercent'>): void {
  const { highThresholdPercent: high, lowThresholdPercent: low } = policy;
  for (const [flag, value] of [['--image-gc-high-threshold', high], ['--image-gc-low-threshold', low]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 100) throw errors.badRequest(`${flag} must be a whole percentage from 0 to 100 (got ${value})`);
  }
  if (low > high) throw errors.badRequest(`--image-gc-low-threshold (${low}) must not be above --image-gc-high-threshold (${high})`);
}

export type ImageGCRuntime = Pick<RuntimeClient, 'listImages' | 'listContainers' | 'removeImage'>;

export interface ImageGCOptions {
  runtime: ImageGCRuntime;
  /** The image filesystem's usage now. */
  usage(): Promise<FsUsage>;
  policy: ImageGCPolicy;
  /** Where the GC reports on the node (kubelet's FreeDiskSpaceFailed, ImageGCFailed). */
  events: { record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void };
  nodeName: string;
  logger: Logger;
}

export interface ImageGCResult {
  /** The images removed, by id. */
  removed: string[];
  freedBytes: number;
}

/** What the GC remembers of an image: when it first saw it, and when a container last used it. */
interface Seen {
  firstSeen: number;
  lastUsed: number;
}

/**
 * kubelet's image garbage collector. Every run notes when each image was first seen and, for images a
 * container (running or stopped) uses, that it is used now. When the image filesystem is at or above the
 * high threshold, images no container uses are removed, least recently used first (then oldest seen),
 * skipping those seen less than minAge ago, until what was freed brings use down to the low threshold.
 * Freeing less than that records FreeDiskSpaceFailed on the Node; a run that fails after a failed run
 * records ImageGCFailed. The times live in memory, as kubelet's do: after a restart every image counts
 * as first seen then, so nothing is removed within minAge of the agent's start.
 */
export class ImageGC {
  private readonly seen = new Map<string, Seen>();
  private previousFailed = false;

  constructor(private readonly options: ImageGCOptions) {}

  /** One GC pass; throws (after recording it) what kept it from running. */
  async reconcile(): Promise<ImageGCResult> {
    try {
      const result = await this.collect();
      this.previousFailed = false;
      return result;
    } catch (err) {
      const message = (err as Error).message;
      if (this.previousFailed) this.options.events.record(this.nodeRef(), 'Warning', 'ImageGCFailed', message);
      this.previousFailed = true;
      throw err;
    }
  }

  private nodeRef(): KubeObject {
    // kubelet's node reference: the Node by name, its uid the name too.
    return { apiVersion: 'v1', kind: 'Node', metadata: { name: this.options.nodeName, uid: this.options.nodeName } };
  }

  private async collect(): Promise<ImageGCResult> {
    const { runtime, policy, logger } = this.options;
    const now = Date.now();
    const images = await this.detectImages(now);
    const { capacityBytes, availableBytes } = await this.options.usage();
    if (!(capacityBytes > 0) || availableBytes > capacityBytes) {
      throw errors.internal(`invalid image filesystem usage: capacity ${capacityBytes} bytes, available ${availableBytes} bytes`);
    }
    const usedPercent = 100 - Math.floor((availableBytes * 100) / capacityBytes);
    if (usedPercent < policy.highThresholdPercent) return { removed: [], freedBytes: 0 };
    const toFree = Math.floor((capacityBytes * (100 - policy.lowThresholdPercent)) / 100) - availableBytes;
    logger.info({ usedPercent, highThresholdPercent: policy.highThresholdPercent, bytesToFree: toFree }, 'image filesystem above the high threshold: removing unused images');
    const candidates = images
      .filter((image) => !image.inUse)
      .map((image) => ({ image: image.image, seen: this.seen.get(image.image.id)! }))
      .sort((a, b) => a.seen.lastUsed - b.seen.lastUsed || a.seen.firstSeen - b.seen.firstSeen);
    const removed: string[] = [];
    let freedBytes = 0;
    for (const { image, seen } of candidates) {
      if (freedBytes >= toFree) break;
      if (now - seen.firstSeen < policy.minAgeMs) continue;
      try {
        await removeWholeImage(runtime, image);
      } catch (err) {
        // Taken into use since the list (a container was created meanwhile), or gone already: skipped.
        if (!isBerthError(err, 'Conflict') && !isBerthError(err, 'NotFound')) throw err;
        logger.info({ image: image.id, err: err.message }, 'image kept by the garbage collector');
        continue;
      }
      this.seen.delete(image.id);
      removed.push(image.id);
      freedBytes += image.size;
      logger.info({ image: image.id, names: image.names, size: image.size }, 'unused image removed');
    }
    if (freedBytes < toFree) {
      const message = `Failed to garbage collect required amount of images. Attempted to free ${toFree} bytes, but only found ${freedBytes} bytes eligible to free.`;
      this.options.events.record(this.nodeRef(), 'Warning', 'FreeDiskSpaceFailed', message);
      throw errors.unavailable(message);
    }
    return { removed, freedBytes };
  }

  /** The node's images, each with whether a container uses it; the remembered times brought up to date. */
  private async detectImages(now: number): Promise<Array<{ image: Image; inUse: boolean }>> {
    const { runtime } = this.options;
    const [images, containers] = await Promise.all([runtime.listImages(), runtime.listContainers({ all: true })]);
    const used = new Set<string>();
    for (const c of containers) for (const ref of [c.imageId, c.imageDigest, c.image]) if (ref) used.add(ref);
    const present = new Set<string>();
    const result = images.map((image) => {
      present.add(image.id);
      const inUse = [image.id, image.digest, ...image.names].some((ref) => used.has(ref));
      const seen = this.seen.get(image.id) ?? { firstSeen: now, lastUsed: 0 };
      if (inUse) seen.lastUsed = now;
      this.seen.set(image.id, seen);
      return { image, inUse };
    });
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id);
    return result;
  }
}

/** Removes every name of the image (the last removal deletes it), as CRI's RemoveImage by id does; no force, so an image a container took meanwhile stays. */
async function removeWholeImage(runtime: ImageGCRuntime, image: Image): Promise<void> {
  if (image.names.length === 0) {
    await runtime.removeImage(image.digest || image.id);
    return;
  }
  for (const name of image.names) await runtime.removeImage(name);
}
