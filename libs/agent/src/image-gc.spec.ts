import { errors } from '@berth/errors';
import type { Container, Image, ListContainersOptions } from '@berth/runtime-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { checkImageGCPolicy, DEFAULT_IMAGE_GC, filesystemUsage, ImageGC, type FsUsage, type ImageGCRuntime } from './image-gc';

const MB = 1024 * 1024;

/** A node's images on a disk of 1000 MB: removing one frees its size. */
class ImageDisk implements ImageGCRuntime {
  images: Image[] = [];
  /** The images containers use, by image id. */
  usedBy = new Set<string>();
  /** Names whose removal the runtime refuses (a container took the image meanwhile). */
  refuse = new Set<string>();
  removals: string[] = [];
  availableBytes = 0;
  readonly capacityBytes = 1000 * MB;

  add(id: string, sizeMb: number, names = [`${id}:1`]): void {
    this.images.push({ id, digest: `sha256:m${id}`, names, created: '', size: sizeMb * MB });
  }

  usage = async (): Promise<FsUsage> => ({ capacityBytes: this.capacityBytes, availableBytes: this.availableBytes });

  async listImages(): Promise<Image[]> {
    return this.images.map((i) => ({ ...i, names: [...i.names] }));
  }

  async listContainers(_options?: ListContainersOptions): Promise<Container[]> {
    return [...this.usedBy].map((imageId) => ({ id: `c-${imageId}`, image: 'whatever', imageId, imageDigest: '', state: 'exited' }) as Container);
  }

  async removeImage(ref: string): Promise<{ untagged: string[]; deleted: string[] }> {
    this.removals.push(ref);
    if (this.refuse.has(ref)) throw errors.conflict('images', ref, 'a container is using this image');
    const image = this.images.find((i) => i.names.includes(ref) || i.digest === ref);
    if (!image) throw errors.notFound('images', ref);
    image.names = image.names.filter((n) => n !== ref);
    if (image.names.length === 0) {
      this.images = this.images.filter((i) => i !== image);
      this.availableBytes += image.size;
      return { untagged: [ref], deleted: [image.id] };
    }
    return { untagged: [ref], deleted: [] };
  }
}

describe('ImageGC', () => {
  let disk: ImageDisk;
  let gc: ImageGC;
  let events: string[];
  let now: number;
  let clock: jest.SpyInstance;

  beforeEach(() => {
    disk = new ImageDisk();
    events = [];
    now = Date.parse('2026-12-07T03:00:00Z');
    clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    gc = new ImageGC({
      runtime: disk,
      usage: disk.usage,
      policy: DEFAULT_IMAGE_GC,
      events: { record: (obj, type, reason, message) => void events.push(`${obj.kind}/${obj.metadata.name} ${type} ${reason} ${message}`) },
      nodeName: 'n1',
      logger: pino({ level: 'silent' }),
    });
  });
  afterEach(() => clock.mockRestore());

  it('does nothing below the high threshold', async () => {
    disk.add('a', 100);
    disk.availableBytes = 160 * MB; // 84 % used
    now += 3_600_000;
    await gc.reconcile();
    now += 3_600_000;
    expect(await gc.reconcile()).toEqual({ removed: [], freedBytes: 0 });
    expect(disk.removals).toEqual([]);
  });

  it('above the high threshold removes unused images least recently used first, down to the low threshold', async () => {
    disk.add('old', 30);
    disk.add('used', 300);
    disk.add('newer', 40, ['newer:1', 'newer:2']);
    disk.add('newest', 50);
    disk.usedBy.add('used');
    disk.availableBytes = 500 * MB;
    await gc.reconcile(); // first seen now
    // 'newer' was used a minute later, 'newest' later still: used images are the last to go.
    now += 60_000;
    disk.usedBy.add('newer');
    await gc.reconcile();
    now += 60_000;
    disk.usedBy.delete('newer');
    disk.usedBy.add('newest');
    await gc.reconcile();
    disk.usedBy.delete('newest');
    now += 60_000;
    // 87 % used: 200 MB must be free (80 %), 130 MB available, so 70 MB to free: 'old' (30) then 'newer' (40).
    disk.availableBytes = 130 * MB;
    expect(await gc.reconcile()).toEqual({ removed: ['old', 'newer'], freedBytes: 70 * MB });
    expect(disk.removals).toEqual(['old:1', 'newer:1', 'newer:2']);
    expect(disk.images.map((i) => i.id)).toEqual(['used', 'newest']);
    expect(events).toEqual([]);
  });

  it('keeps images seen less than the minimum age, and says FreeDiskSpaceFailed on the Node when it cannot free enough', async () => {
    disk.add('young', 100);
    disk.add('busy', 500);
    disk.usedBy.add('busy');
    disk.availableBytes = 100 * MB; // 90 % used: 100 MB to free
    await expect(gc.reconcile()).rejects.toThrow('Failed to garbage collect required amount of images. Attempted to free 104857600 bytes, but only found 0 bytes eligible to free.');
    expect(disk.removals).toEqual([]);
    expect(events).toEqual(['Node/n1 Warning FreeDiskSpaceFailed Failed to garbage collect required amount of images. Attempted to free 104857600 bytes, but only found 0 bytes eligible to free.']);
    // A second failed run in a row: ImageGCFailed too.
    await expect(gc.reconcile()).rejects.toThrow();
    expect(events.at(-1)).toMatch(/^Node\/n1 Warning ImageGCFailed Failed to garbage collect/);
    // Two minutes after it was first seen the young image may go.
    now += DEFAULT_IMAGE_GC.minAgeMs;
    expect(await gc.reconcile()).toEqual({ removed: ['young'], freedBytes: 100 * MB });
  });

  it('skips an image the runtime refuses to remove (taken into use meanwhile) and goes on with the next', async () => {
    disk.add('taken', 50);
    disk.add('free', 50);
    disk.refuse.add('taken:1');
    disk.availableBytes = 150 * MB; // 85 %: 50 MB to free
    await gc.reconcile().catch(() => undefined);
    now += DEFAULT_IMAGE_GC.minAgeMs;
    expect(await gc.reconcile()).toEqual({ removed: ['free'], freedBytes: 50 * MB });
  });

  it('refuses a filesystem that reports more available than its capacity', async () => {
    disk.availableBytes = 2000 * MB;
    await expect(gc.reconcile()).rejects.toThrow('invalid image filesystem usage');
  });
});

describe('filesystemUsage', () => {
  it('reads the capacity and what is left of the filesystem holding a directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-image-gc-'));
    try {
      const usage = await filesystemUsage(dir);
      expect(usage.capacityBytes).toBeGreaterThan(0);
      expect(usage.availableBytes).toBeGreaterThanOrEqual(0);
      expect(usage.availableBytes).toBeLessThanOrEqual(usage.capacityBytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('checkImageGCPolicy', () => {
  it('accepts the defaults and refuses thresholds out of range or crossed, naming the flag', () => {
    expect(() => checkImageGCPolicy(DEFAULT_IMAGE_GC)).not.toThrow();
    expect(() => checkImageGCPolicy({ highThresholdPercent: 101, lowThresholdPercent: 80 })).toThrow('--image-gc-high-threshold must be a whole percentage from 0 to 100 (got 101)');
    expect(() => checkImageGCPolicy({ highThresholdPercent: 70, lowThresholdPercent: 80 })).toThrow('--image-gc-low-threshold (80) must not be above --image-gc-high-threshold (70)');
  });
});
