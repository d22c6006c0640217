/**
 * skopeo (containers/image, the client podman and buildah share) against berth's registry handler served
 * over plain HTTP: an image built here as a `dir:` layout goes up, comes back byte for byte, and is copied to
 * a second repository (a cross-repository mount for every blob).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { sha256, tarball } from '@berth/image';
import { startBerthRegistry, type BerthRegistry } from './registries';

const run = promisify(execFile);

function skopeo(...args: string[]): Promise<{ stdout: string }> {
  // Asynchronous: the registry answering skopeo lives in this very process.
  return run('skopeo', args, { maxBuffer: 16 * 1024 * 1024 });
}

/** A two-layer OCI image as skopeo's `dir:` transport lays it out; returns its manifest. */
async function writeDirImage(dir: string): Promise<Buffer> {
  // Random content: a layer of ~3 MB that does not compress, so the upload streams many chunks.
  const big = await tarball([{ name: 'data/', type: 'directory' }, { name: 'data/random.bin', content: randomBytes(3 * 1024 * 1024) }]);
  const small = await tarball([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello from berth\n' }]);
  const layers = [gzipSync(big), gzipSync(small)];
  const diffIds = [big, small].map((l) => sha256(l));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: [{ created_by: 'test: random data' }, { created_by: 'test: hello' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
    }),
  );
  for (const blob of [config, ...layers]) writeFileSync(join(dir, sha256(blob).slice('sha256:'.length)), blob);
  writeFileSync(join(dir, 'manifest.json'), manifest);
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  return manifest;
}

/** An OCI image layout whose `multi` tag is an index of two single-layer images (amd64, arm64); returns the index. */
async function writeMultiPlatformLayout(dir: string): Promise<Buffer> {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => writeFileSync(join(blobs, sha256(data).slice('sha256:'.length)), data);
  const manifests = [];
  for (const architecture of ['amd64', 'arm64']) {
    const tar = await tarball([{ name: 'arch', content: `${architecture}\n` }]);
    const layer = gzipSync(tar);
    const config = Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
      }),
    );
    [layer, config, manifest].forEach(put);
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, platform: { architecture, os: 'linux' } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  put(index);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }],
    }),
  );
  return index;
}

describe('skopeo copy against berth registry', () => {
  let registry: BerthRegistry | undefined;
  let work: string;

  beforeAll(async () => {
    registry = await startBerthRegistry();
    work = mkdtempSync(join(tmpdir(), 'berth-skopeo-'));
  });

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('pushes a dir: image, pulls it back with the same digest, and copies it to another repository', async () => {
    const host = registry!.host;
    const source = join(work, 'source');
    const back = join(work, 'back');
    const again = join(work, 'again');
    for (const d of [source, back, again]) mkdirSync(d);
    const manifest = await writeDirImage(source);
    const digest = sha256(manifest);

    await skopeo('copy', '--quiet', '--dest-tls-verify=false', '--digestfile', join(work, 'pushed'), `dir:${source}`, `docker://${host}/test/app:1`);
    expect(readFileSync(join(work, 'pushed'), 'utf8').trim()).toBe(digest);

    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${host}/test/app:1`);
    expect(sha256(Buffer.from(raw.stdout))).toBe(digest);

    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${host}/test/app:1`, `dir:${back}`);
    expect(readFileSync(join(back, 'manifest.json')).equals(manifest)).toBe(true);
    for (const name of readdirSync(source).filter((n) => /^[a-f0-9]{64}$/.test(n))) {
      const data = readFileSync(join(back, name));
      expect(createHash('sha256').update(data).digest('hex')).toBe(name);
    }

    // Every blob is already in the registry: the second repository links them (skopeo mounts), none is stored twice.
    const blobsBefore = (await registry!.storage.content.digests()).length;
    await skopeo('copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/test/app:1`, `docker://${host}/other/app:2`);
    expect((await registry!.storage.content.digests()).length).toBe(blobsBefore);
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${host}/other/app:2`, `dir:${again}`);
    expect(readFileSync(join(again, 'manifest.json')).equals(manifest)).toBe(true);

    const tags = await skopeo('list-tags', '--tls-verify=false', `docker://${host}/test/app`);
    expect(JSON.parse(tags.stdout).Tags).toEqual(['1']);

    // The same image as a Docker schema 2 manifest (what docker pushes).
    await skopeo('copy', '--quiet', '--format', 'v2s2', '--dest-tls-verify=false', `dir:${source}`, `docker://${host}/test/docker:1`);
    const docker = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${host}/test/docker:1`);
    expect(JSON.parse(docker.stdout).mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const inspected = await skopeo('inspect', '--tls-verify=false', `docker://${host}/test/docker:1`);
    expect(JSON.parse(inspected.stdout).Layers).toEqual(JSON.parse(manifest.toString()).layers.map((l: { digest: string }) => l.digest));
  });

  it('pushes a multi-platform index with --all and reads it back whole', async () => {
    const host = registry!.host;
    const layout = join(work, 'layout');
    const index = await writeMultiPlatformLayout(layout);
    await skopeo('copy', '--quiet', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${host}/test/multi:1`);
    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${host}/test/multi:1`);
    expect(sha256(Buffer.from(raw.stdout))).toBe(sha256(index));
    const copy = join(work, 'copy');
    await skopeo('copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${host}/test/multi:1`, `oci:${copy}:multi`);
    for (const entry of JSON.parse(index.toString()).manifests as { digest: string }[]) {
      expect(readdirSync(join(copy, 'blobs', 'sha256'))).toContain(entry.digest.slice('sha256:'.length));
    }
    const arm = await skopeo('inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${host}/test/multi:1`);
    expect(JSON.parse(arm.stdout).Architecture).toBe('arm64');
  });
});
