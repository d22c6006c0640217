import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isBerthError } from '@berth/errors';
import { sha256, type Digest } from './digest';
import { ImageStore } from './image-store';
import { inspectLayer } from './layer';
import { DEFAULT_LAYER_LIMITS } from './layer-plan';
import { hostPlatform, MediaType } from './oci';
import { tarball, type TarballEntry } from './tarball';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** An OCI archive (or, with `docker`, a docker-archive) of one image whose only layer is `layer`. */
async function archiveOf(layer: Buffer, format: 'oci' | 'docker'): Promise<Buffer> {
  const config = json({ ...hostPlatform(), rootfs: { type: 'layers', diff_ids: [sha256(layer)] } });
  if (format === 'docker') {
    return tarball([
      { name: 'config.json', content: config },
      { name: 'layer.tar', content: layer },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'config.json', RepoTags: ['hostile:docker'], Layers: ['layer.tar'] }]) },
    ]);
  }
  const manifest = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
    layers: [{ mediaType: MediaType.ociLayer, digest: sha256(layer), size: layer.length }],
  });
  const descriptor = { mediaType: MediaType.ociManifest, digest: sha256(manifest), size: manifest.length, annotations: { 'io.containerd.image.name': 'docker.io/library/hostile:oci' } };
  return tarball([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    ...[layer, config, manifest].map((blob) => ({ name: `blobs/sha256/${sha256(blob).slice(7)}`, content: blob })),
    { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [descriptor] }) },
  ]);
}

const HOSTILE: TarballEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc', type: 'symlink', linkname: '/etc' },
  { name: 'etc/passwd', content: 'root::0:0::/:/bin/sh\n' },
];

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
    expect(await store.content.list()).toEqual([]);
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

  it('records repo digests: resolved, shown, untagged one at a time, kept by prune, dropped with the image', async () => {
    const image = await store.importRootfs(Readable.from(await layer('pulled')), 'reg.example/app:1');
    const indexDigest = sha256('an index');
    await store.addRepoDigest('reg.example/app', indexDigest, image.digest);
    await store.addRepoDigest('other.example/app', image.digest, image.digest);
    expect((await store.inspect('reg.example/app:1')).repoDigests).toEqual([`other.example/app@${image.digest}`, `reg.example/app@${indexDigest}`]);
    expect((await store.inspect(`reg.example/app@${indexDigest}`)).digest).toBe(image.digest);
    expect((await ImageStore.open(root)).repoDigestsOf(image.digest)).toHaveLength(2);
    expect(await store.remove(`reg.example/app@${indexDigest}`)).toEqual({ untagged: [`reg.example/app@${indexDigest}`], deleted: [] });
    // Removing the last tag removes the image, its repo digests with it (as docker rmi does).
    expect(await store.remove('reg.example/app:1')).toEqual({ untagged: ['reg.example/app:1'], deleted: [image.digest] });
    expect(store.repoDigestsOf(image.digest)).toEqual([]);
    // Known only by a repo digest (as after a pull by digest): not dangling, so prune keeps it.
    const byDigest = await store.importRootfs(Readable.from(await layer('by digest')));
    await store.addRepoDigest('reg.example/app', byDigest.digest, byDigest.digest);
    expect((await store.prune()).deletedImages).toEqual([]);
    expect(await store.remove(`reg.example/app@${byDigest.digest}`)).toEqual({ untagged: [], deleted: [byDigest.digest] });
  });

  it('keeps held blobs through a prune until they are released', async () => {
    const blob = await store.content.put(Buffer.from('downloaded, not yet registered'));
    const release = store.hold([blob.digest]);
    expect((await store.prune()).deletedBlobs).toBe(0);
    release();
    expect((await store.prune()).deletedBlobs).toBe(1);
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

  it('reads a layer that several images of one registration share once', async () => {
    const tar = await layer('shared');
    const { digest: layerDigest } = await store.content.put(tar);
    const manifests: { digest: Digest; names: string[] }[] = [];
    for (const cmd of ['a', 'b']) {
      const config = await store.content.put(json({ ...hostPlatform(), config: { Cmd: [cmd] }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
      const manifest = await store.content.put(
        json({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, ...config },
          layers: [{ mediaType: MediaType.ociLayer, digest: layerDigest, size: tar.length }],
        }),
      );
      manifests.push({ digest: manifest.digest, names: [cmd] });
    }
    const openRead = jest.spyOn(store.content, 'openRead');
    await store.exclusive(() => store.register(manifests));
    expect(openRead.mock.calls).toEqual([[layerDigest]]);
    expect((await store.list()).flatMap((i) => i.names).sort()).toEqual(['docker.io/library/a:latest', 'docker.io/library/b:latest']);
  });

  it('refuses a rootfs with an escaping entry at import, naming it, and keeps none of it', async () => {
    const kept = await store.importRootfs(Readable.from(await layer('kept')), 'kept');
    const blobs = await store.content.list();
    for (const source of [await tarball(HOSTILE), gzipSync(await tarball(HOSTILE))]) {
      const failure = await store.importRootfs(Readable.from(source), 'hostile').catch((err: unknown) => err);
      expect(isBerthError(failure, 'Invalid')).toBe(true);
      expect((failure as Error).message).toBe('layer "rootfs" is invalid: "etc/passwd": Forbidden: path goes through the symlink "etc", which could point outside the layer');
    }
    const path = join(root, 'hostile.tar');
    await writeFile(path, await tarball([{ name: 'ok', content: 'x' }, { name: 'h', type: 'link', linkname: '../../etc/shadow' }]));
    await expect(store.importRootfs(path, 'hostile')).rejects.toThrow(`layer "${path}" is invalid: "h": Forbidden: path escapes the layer root through ".."`);
    expect(await store.content.list()).toEqual(blobs);
    expect((await store.list()).map((i) => i.digest)).toEqual([kept.digest]);
    expect(await readdir(join(root, 'content', 'ingest'))).toEqual([]);
  });

  it.each(['oci', 'docker'] as const)('refuses a %s archive with an escaping layer at load, naming the entry, and keeps none of it', async (format) => {
    const kept = await store.importRootfs(Readable.from(await layer('kept')), 'kept');
    const blobs = await store.content.list();
    const hostile = await tarball(HOSTILE);
    const path = join(root, 'hostile-archive.tar');
    await writeFile(path, await archiveOf(hostile, format));
    const failure = await store.load(path).catch((err: unknown) => err);
    expect(isBerthError(failure, 'Invalid')).toBe(true);
    expect((failure as Error).message).toBe(`layer "${sha256(hostile)}" is invalid: "etc/passwd": Forbidden: path goes through the symlink "etc", which could point outside the layer`);
    expect(await store.content.list()).toEqual(blobs);
    expect((await store.list()).map((i) => i.digest)).toEqual([kept.digest]);
    // The same archive with a well-formed layer loads.
    await writeFile(path, await archiveOf(await layer('fine'), format));
    expect((await store.load(path))[0]!.names).toEqual([`docker.io/library/hostile:${format}`]);
  });

  it('refuses a compressed layer that expands past its limit as a decompression bomb', async () => {
    const bomb = gzipSync(await tarball([{ name: 'zeros', content: Buffer.alloc(4 * 1024 * 1024) }]));
    const { digest } = await store.content.put(bomb);
    const limits = { ...DEFAULT_LAYER_LIMITS, maxExpansion: 10, expansionAllowance: 1024 * 1024 };
    await expect(inspectLayer(store.content, digest, 'bomb', limits)).rejects.toThrow(
      `layer ${digest} expands to more than ${10 * bomb.length + 1024 * 1024} bytes (10 times its ${bomb.length} compressed bytes, plus 1048576): refused as a decompression bomb`,
    );
    await expect(inspectLayer(store.content, digest, 'bomb')).resolves.toEqual({ diffId: sha256(gunzipSync(bomb)), compression: 'gzip' });
  });
});
