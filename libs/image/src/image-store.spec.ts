import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { isBerthError } from '@berth/errors';
import { sha256 } from './digest';
import { ImageStore } from './image-store';
import { MediaType } from './oci';
import { tarball } from './tarball';

describe('ImageStore', () => {
  let root: string;
  let store: ImageStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-images-'));
    store = await ImageStore.open(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const layer = (content: string) => tarball([{ name: 'file', content }]);

  it('imports a plain rootfs tarball as a one-layer OCI image named like docker', async () => {
    const tar = await layer('plain');
    const image = await store.importRootfs(Readable.from(tar), 'app', { config: { Cmd: ['sh'], Env: ['A=1'], WorkingDir: '/w' }, message: 'hi' });
    expect(image.names).toEqual(['docker.io/library/app:latest']);
    expect(image.manifest.mediaType).toBe(MediaType.ociManifest);
    expect(image.manifest.layers).toEqual([{ mediaType: MediaType.ociLayer, digest: sha256(tar), size: tar.length }]);
    expect(image.config.rootfs.diff_ids).toEqual([sha256(tar)]);
    expect(image.config.config).toEqual({ Cmd: ['sh'], Env: ['A=1'], WorkingDir: '/w' });
    expect(image.config.history).toEqual([expect.objectContaining({ created_by: 'berth image import', comment: 'hi' })]);
    expect(image.id).toBe(image.manifest.config.digest);
    for (const ref of ['app', 'app:latest', 'docker.io/library/app:latest', image.id, image.id.slice(7, 19), image.digest, `app@${image.digest}`]) {
      expect((await store.inspect(ref)).digest).toBe(image.digest);
    }
  });

  it('imports a gzipped tarball keeping it compressed, with the diff ID of its plain content', async () => {
    const tar = await layer('zipped');
    const image = await store.importRootfs(Readable.from(gzipSync(tar)), 'zipped:1');
    expect(image.manifest.layers[0]!.mediaType).toBe(MediaType.ociLayerGzip);
    expect(image.config.rootfs.diff_ids).toEqual([sha256(tar)]);
  });

  it('refuses a file that is not a tarball', async () => {
    await expect(store.importRootfs(Readable.from(Buffer.alloc(2048, 1)), 'junk')).rejects.toThrow(/not a valid tar archive/);
    expect(await store.list()).toEqual([]);
  });

  it('names the file it cannot read', async () => {
    const failure = await store.importRootfs(join(root, 'missing.tar'), 'missing').catch((err: unknown) => err);
    expect(isBerthError(failure, 'BadRequest')).toBe(true);
    expect((failure as Error).message).toMatch(/cannot read .*missing.tar: ENOENT/);
  });

  it('keeps names across reopening', async () => {
    const image = await store.importRootfs(Readable.from(await layer('x')), 'kept');
    const reopened = await ImageStore.open(root);
    expect((await reopened.inspect('kept')).digest).toBe(image.digest);
    expect((await reopened.inspect(image.id.slice(7, 19))).digest).toBe(image.digest);
  });

  it('tags, untags, and prunes dangling images and their blobs', async () => {
    const first = await store.importRootfs(Readable.from(await layer('one')), 'app:1');
    await store.tag('app:1', 'quay.io/me/app:stable');
    expect((await store.inspect('quay.io/me/app:stable')).names).toEqual(['docker.io/library/app:1', 'quay.io/me/app:stable']);

    const removeById = await store.remove(first.id).catch((err: unknown) => err);
    expect(isBerthError(removeById, 'Conflict')).toBe(true);
    expect(await store.remove('quay.io/me/app:stable')).toEqual({ untagged: ['quay.io/me/app:stable'], deleted: [] });

    // Moving app:1 to a new image leaves the first one dangling.
    const second = await store.importRootfs(Readable.from(await layer('two')), 'app:1');
    expect((await store.inspect(first.digest)).names).toEqual([]);
    const before = (await store.content.list()).length;
    const pruned = await store.prune();
    expect(pruned.deletedImages).toEqual([{ digest: first.digest, names: [] }]);
    expect(pruned.deletedBlobs).toBe(3);
    expect((await store.content.list()).length).toBe(before - 3);
    for (const blob of [first.digest, first.id, first.manifest.layers[0]!.digest]) expect(await store.content.has(blob)).toBe(false);
    expect((await store.list()).map((i) => i.digest)).toEqual([second.digest]);
    await expect(store.inspect(first.digest)).rejects.toThrow(/not found/);
  });

  it('removes an image with its last name, refusing while a container uses it', async () => {
    const image = await store.importRootfs(Readable.from(await layer('used')), 'used');
    const inUse = new Set([image.digest]);
    expect(isBerthError(await store.remove('used', { inUse }).catch((err: unknown) => err), 'Conflict')).toBe(true);
    expect((await store.prune({ all: true, inUse })).deletedImages).toEqual([]);
    expect(await store.remove('used')).toEqual({ untagged: ['docker.io/library/used:latest'], deleted: [image.digest] });
    expect((await store.prune()).deletedBlobs).toBe(3);
    expect(await store.content.list()).toEqual([]);
  });

  it('reports usage with shared blobs counted once', async () => {
    const tar = await layer('shared');
    const a = await store.importRootfs(Readable.from(tar), 'a', { config: { Cmd: ['a'] } });
    const b = await store.importRootfs(Readable.from(tar), 'b', { config: { Cmd: ['b'] } });
    const usage = await store.usage({ inUse: new Set([a.digest]) });
    expect(usage.activeImages).toBe(1);
    const blobBytes = usage.blobs.size;
    expect(usage.totalSize).toBe(blobBytes);
    const sharedLayer = tar.length;
    expect(usage.reclaimableSize).toBe(b.size - sharedLayer);
    expect(usage.images.find((i) => i.digest === b.digest)!.uniqueSize).toBe(b.size - sharedLayer);
  });
});
