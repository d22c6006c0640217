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
  });
});
