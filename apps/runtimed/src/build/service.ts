import { applyChanges } from '@berth/dockerfile';
import { changesTar, storeLayer, upperDirChanges, type ImageDetails, type ImageStore, type OverlaySnapshotter } from '@berth/image';
import type { ImageHistoryEntry } from '@berth/runtime-client';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerManager } from '../containers';
import type { BuildCache } from './cache';
import { receiveContext } from './context';
import { Builder, type BuildRequest, type ImagePuller } from './executor';
import { Progress, type BuildEvent } from './progress';
import { RUNTIME_MOUNTPOINTS, type BuildWorker } from './worker';

export interface CommitRequest {
  container: string;
  name: string;
  message: string;
  author: string;
  changes: string[];
  pause: boolean;
}

/** The sandbox files runtimed binds into a pod's containers: absent from the image, they are no change of the container's. */
const SANDBOX_FILES = ['etc/hosts', 'etc/resolv.conf', 'etc/hostname'];

/** `berth build`, `commit` and `history` on the node's image store. */
export class BuildService {
  constructor(
    private readonly deps: {
      images: ImageStore;
      snapshotter: OverlaySnapshotter;
      containers: ContainerManager;
      worker: BuildWorker;
      cache: BuildCache;
      /** Pulls an image through runtimed's registry client (FROM and COPY --from images not on the node, or all with --pull). */
      pull: ImagePuller;
      scratchDir: string;
      logger: Logger;
    },
  ) {}

  /** Receives the context, runs the Dockerfile, reports progress through `emit`; the image built. */
  async build(request: BuildRequest, context: AsyncIterable<Buffer>, emit: (event: BuildEvent) => void): Promise<ImageDetails> {
    const dir = join(this.deps.scratchDir, `build-${randomBytes(8).toString('hex')}`);
    const progress = new Progress(emit);
    try {
      await mkdir(dir, { recursive: true });
      await progress.vertex('[internal] load build context').run(async (v) => {
        const { bytes } = await receiveContext(context, join(dir, 'context'));
        v.detail(`transferring context: ${bytes}B done`);
      });
      const builder = new Builder({ images: this.deps.images, worker: this.deps.worker, cache: this.deps.cache, pull: this.deps.pull }, request, join(dir, 'context'), dir, progress);
      const image = await builder.build();
      this.deps.logger.info({ image: image.id, names: image.names }, 'image built');
      return image;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** docker commit: the container's changes as a new layer on its image, with `changes` applied to the config. */
  async commit(request: CommitRequest): Promise<ImageDetails> {
    const record = this.deps.containers.resolve(request.container);
    const base = await this.deps.images.inspect(record.imageDigest);
    const config = applyChanges(base.config.config, request.changes);
    const snapshot = await this.deps.snapshotter.get(record.id);
    const candidates = [...RUNTIME_MOUNTPOINTS, ...SANDBOX_FILES];
    const exclude = new Set<string>();
    for (const path of candidates) {
      let inImage = false;
      for (const dir of snapshot.lowerDirs) if (await lstat(join(dir, path)).then(() => true, () => false)) inImage = true;
      if (!inImage) exclude.add(path);
    }
    const changes = await upperDirChanges(snapshot.upperDir, { exclude });
    const layers = base.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: base.config.rootfs.diff_ids[i]! }));
    let release = () => undefined as void;
    if (changes.length) {
      const layer = await storeLayer(this.deps.images.content, changesTar(changes), `commit of ${record.name}`);
      release = this.deps.images.hold([layer.descriptor.digest]);
      layers.push(layer);
    }
    try {
      const created = new Date().toISOString();
      return await this.deps.images.createImageFromLayers({
        layers,
        names: request.name ? [request.name] : [],
        config: {
          created,
          ...(request.author ? { author: request.author } : {}),
          config,
          history: [
            ...(base.config.history ?? []),
            {
              created,
              created_by: record.args.join(' '),
              ...(request.author ? { author: request.author } : {}),
              ...(request.message ? { comment: request.message } : {}),
              ...(changes.length ? {} : { empty_layer: true }),
            },
          ],
        },
      });
    } finally {
      release();
    }
  }

  /** Drops cache records whose layers are gone (after an image prune); with `all`, every record (builder prune). */
  pruneCache(all = false): Promise<number> {
    return this.deps.cache.prune(all);
  }

  /** docker history: newest step first, each with its layer's size (0 for config steps). */
  async history(ref: string): Promise<ImageHistoryEntry[]> {
    const image = await this.deps.images.inspect(ref);
    const layers = [...image.manifest.layers];
    const lines: ImageHistoryEntry[] = (image.config.history ?? []).map((entry) => {
      const layer = entry.empty_layer ? undefined : layers.shift();
      return {
        id: '<missing>',
        created: entry.created ?? '',
        createdBy: entry.created_by ?? '',
        size: layer?.size ?? 0,
        comment: entry.comment ?? '',
        emptyLayer: entry.empty_layer ?? false,
      };
    });
    lines.reverse();
    if (lines[0]) lines[0].id = image.id;
    return lines;
  }
}
