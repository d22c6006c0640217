import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { ImageStore, OverlaySnapshotter, hostPlatform, importBusybox, sha256, tarball, type ImageDetails } from '@berth/image';

const execFileAsync = promisify(execFile);
const jsonBlobOf = (value: unknown) => Buffer.from(JSON.stringify(value));
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** The blobs of a one-layer OCI image built by hand, and the index descriptor of its manifest. */
function ociImage(layer: Buffer, diffIds: string[], platform = { architecture: hostPlatform().architecture, os: 'linux' }) {
  const config = jsonBlobOf({ ...platform, rootfs: { type: 'layers', diff_ids: diffIds } });
  const manifest = jsonBlobOf({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  return { layer, config, manifest, descriptor: { mediaType: MANIFEST_TYPE, digest: sha256(manifest), size: manifest.length, platform } };
}

function ociArchive(blobs: Buffer[], manifests: object[]): Promise<Buffer> {
  return tarball([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    ...blobs.map((blob) => ({ name: `blobs/sha256/${sha256(blob).slice(7)}`, content: blob })),
    { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests }) },
  ]);
}

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('skopeo', ['--insecure-policy', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

interface SkopeoInspect {
  Digest: string;
  RepoTags: string[];
  Layers: string[];
  Env: string[];
  Architecture: string;
  Os: string;
}

/** Archive interop with skopeo (which reads and writes them the way podman does). */
describe('image archives', () => {
  let dir: string;
  let store: ImageStore;
  let busybox: ImageDetails;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-archives-'));
    store = await ImageStore.open(join(dir, 'source'));
    busybox = await importBusybox(store);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function freshStore(name: string): Promise<ImageStore> {
    return ImageStore.open(join(dir, name));
  }

  /** The same image, though a format conversion may re-serialise its config (so not necessarily the same ID). */
  function expectSameImage(loaded: ImageDetails) {
    expect(loaded.config.rootfs.diff_ids).toEqual(busybox.config.rootfs.diff_ids);
    expect(loaded.config.config).toEqual(busybox.config.config);
  }

  it('saves an OCI archive skopeo inspects, and loads it back', async () => {
    const archive = join(dir, 'busybox-oci.tar');
    await store.save(['busybox'], archive, { format: 'oci-archive' });
    const inspected = JSON.parse(await skopeo('inspect', `oci-archive:${archive}`)) as SkopeoInspect;
    expect(inspected.Digest).toBe(busybox.digest);
    expect(inspected.Layers).toEqual(busybox.manifest.layers.map((l) => l.digest));
    expect(inspected.Env).toEqual(busybox.config.config?.Env);
    const byName = JSON.parse(await skopeo('inspect', `oci-archive:${archive}:docker.io/library/busybox:latest`)) as SkopeoInspect;
    expect(byName.Digest).toBe(busybox.digest);

    const target = await freshStore('oci-roundtrip');
    expect(await target.load(archive)).toEqual([{ digest: busybox.digest, names: ['docker.io/library/busybox:latest'] }]);
    expectSameImage(await target.inspect('busybox'));
    expect((await target.inspect('busybox')).id).toBe(busybox.id);
  });

  it('saves a docker-archive skopeo reads and converts to an OCI archive berth loads', async () => {
    const archive = join(dir, 'busybox-docker.tar');
    await store.tag('busybox', 'example.com/tools/busybox:1');
    await store.save(['busybox', 'example.com/tools/busybox:1'], archive, { format: 'docker-archive' });
    const manifest = JSON.parse((await execFileAsync('tar', ['-xOf', archive, 'manifest.json'])).stdout);
    expect(manifest).toEqual([{ Config: `${busybox.id.slice(7)}.json`, RepoTags: ['busybox:latest', 'example.com/tools/busybox:1'], Layers: [`${busybox.config.rootfs.diff_ids[0]!.slice(7)}.tar`] }]);
    for (const source of [`docker-archive:${archive}`, `docker-archive:${archive}:example.com/tools/busybox:1`]) {
      const inspected = JSON.parse(await skopeo('inspect', source)) as SkopeoInspect;
      expect(inspected.Layers).toEqual(busybox.config.rootfs.diff_ids);
      expect(inspected.Env).toEqual(busybox.config.config?.Env);
    }

    const convertedPath = join(dir, 'converted-oci.tar');
    await skopeo('copy', '-q', `docker-archive:${archive}`, `oci-archive:${convertedPath}:docker.io/library/busybox:latest`);
    const target = await freshStore('docker-to-oci');
    const loaded = await target.load(convertedPath);
    expect(loaded).toHaveLength(1);
    expect(loaded[0]!.names).toEqual(['docker.io/library/busybox:latest']);
    const converted = await target.inspect('busybox');
    expectSameImage(converted);
    // skopeo gzips layers it writes into OCI archives: the compressed path, down to unpacking.
    expect(converted.manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip']);
    const snapshotter = await OverlaySnapshotter.open(join(dir, 'docker-to-oci'), target);
    const [lower] = await snapshotter.unpackImage('busybox');
    expect((await stat(join(lower!, 'bin/busybox'))).size).toBe((await stat('/bin/busybox')).size);
  });

  it('loads the docker-archive skopeo writes from an OCI archive, gzipped or not', async () => {
    const oci = join(dir, 'for-skopeo-oci.tar');
    await store.save([busybox.digest], oci, { format: 'oci-archive' });
    const docker = join(dir, 'from-skopeo-docker.tar');
    await skopeo('copy', '-q', `oci-archive:${oci}`, `docker-archive:${docker}:docker.io/library/busybox:latest`);

    const target = await freshStore('oci-to-docker');
    const [loaded] = await target.load(docker);
    expect(loaded!.names).toEqual(['docker.io/library/busybox:latest']);
    expectSameImage(await target.inspect('busybox'));

    const gzipped = join(dir, 'from-skopeo-docker.tar.gz');
    await writeFile(gzipped, gzipSync(await readFile(docker)));
    const fromGzip = await freshStore('docker-gzip');
    await fromGzip.load(gzipped);
    expectSameImage(await fromGzip.inspect('busybox'));
  });

  it('loads a multi-platform OCI layout, picking the manifest for this host', async () => {
    const hostLayer = await tarball([{ name: 'host', content: 'mine' }]);
    const otherLayer = await tarball([{ name: 'other', content: 'not mine' }]);
    const host = ociImage(hostLayer, [sha256(hostLayer)]);
    const other = ociImage(otherLayer, [sha256(otherLayer)], { architecture: 'sparc', os: 'linux' });
    const index = jsonBlobOf({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [other.descriptor, host.descriptor] });
    const archive = join(dir, 'multi-platform.tar');
    const blobs = [host.layer, host.config, host.manifest, other.layer, other.config, other.manifest, index];
    await writeFile(
      archive,
      await ociArchive(blobs, [
        { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'quay.io/multi/app:1' } },
        // A bare tag names no repository: that image loads unnamed.
        { ...other.descriptor, annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
      ]),
    );
    const target = await freshStore('multi-platform');
    expect(await target.load(archive)).toEqual([
      { digest: sha256(host.manifest), names: ['quay.io/multi/app:1'] },
      { digest: sha256(other.manifest), names: [] },
    ]);
    expect((await target.inspect('quay.io/multi/app:1')).config.rootfs.diff_ids).toEqual([sha256(hostLayer)]);
  });

  it('refuses an archive whose blobs do not match their digests, and prune frees what a removed image used', async () => {
    const target = await freshStore('tampered');
    const layer = await tarball([{ name: 'f', content: 'f' }]);
    const forged = await tarball([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: `blobs/sha256/${sha256('something else').slice(7)}`, content: layer },
      { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [] }) },
    ]);
    const forgedPath = join(dir, 'forged.tar');
    await writeFile(forgedPath, forged);
    await expect(target.load(forgedPath)).rejects.toThrow(/digest mismatch/);
    const notAnArchive = join(dir, 'empty.tar');
    await writeFile(notAnArchive, await tarball([{ name: 'readme', content: 'hi' }]));
    await expect(target.load(notAnArchive)).rejects.toThrow(/neither an OCI archive/);

    // A config that lies about its layer's diff ID could alias another image's unpacked snapshot.
    const lying = ociImage(layer, [sha256('not the layer')]);
    const lyingPath = join(dir, 'lying.tar');
    await writeFile(lyingPath, await ociArchive([lying.layer, lying.config, lying.manifest], [lying.descriptor]));
    await expect(target.load(lyingPath)).rejects.toThrow(/has diff ID sha256:[a-f0-9]+, the config says/);
    expect(await target.list()).toEqual([]);

    const archive = join(dir, 'busybox-prune.tar');
    await store.save(['busybox'], archive, { format: 'oci-archive' });
    await target.load(archive);
    const blobs = await target.content.list();
    expect(blobs.length).toBeGreaterThanOrEqual(3);
    await target.remove('busybox');
    const pruned = await target.prune();
    expect(pruned.reclaimedBytes).toBe(blobs.reduce((total, b) => total + b.size, 0));
    expect(await target.content.list()).toEqual([]);
  });
});
