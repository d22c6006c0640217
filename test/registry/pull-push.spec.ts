// runtimed's pull and push against Debian's docker-registry (distribution 2.8, the reference
// implementation), served over TLS with a CA made here and htpasswd auth.
import { isBerthError } from '@berth/errors';
import { busyboxRootfsTarball, ImageStore, tarball } from '@berth/image';
import type { ImageProgress } from '@berth/runtime-client';
import { createTestCA, freePort } from '@berth/testing';
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { RuntimedFixture, waitFor } from '../runtimed/support';
import { type BerthRegistry, startBerthRegistry } from './registries';

// bcrypt of "berth-pass" (the reference registry reads only bcrypt entries; htpasswd is not installed here).
const HTPASSWD = 'alice:$2b$05$berthtestsaltberthtesujDQfPpbGaBoBEq1Yb7PSxohiopbmVXy\n';
const AUTH = { username: 'alice', password: 'berth-pass' };

let lastProbeError = '';

/** HTTP status of GET https://ADDR/v2/ with `ca` trusted, or 0 while nothing answers. */
function probe(addr: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`https://${addr}/v2/`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => {
      lastProbeError = err.message;
      resolve(0);
    });
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

describe('pull and push against the reference registry', () => {
  let dir: string;
  let registry: ChildProcess | undefined;
  let registryLog = '';
  let addr: string;
  let ca: string;
  let fx: RuntimedFixture;
  const client = () => fx.client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
    const authority = await createTestCA();
    ca = authority.cert;
    const serving = await authority.issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'] });
    await writeFile(join(dir, 'ca.pem'), ca);
    await writeFile(join(dir, 'cert.pem'), serving.cert);
    await writeFile(join(dir, 'key.pem'), serving.key!);
    await writeFile(join(dir, 'htpasswd'), HTPASSWD);
    const port = await freePort();
    addr = `127.0.0.1:${port}`;
    await writeFile(
      join(dir, 'config.yml'),
      [
        'version: 0.1',
        'log: { level: info }',
        `storage: { filesystem: { rootdirectory: ${join(dir, 'storage')} }, delete: { enabled: true } }`,
        `http: { addr: "${addr}", tls: { certificate: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')} } }`,
        `auth: { htpasswd: { realm: berth-test, path: ${join(dir, 'htpasswd')} } }`,
      ].join('\n'),
    );
    registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, REGISTRY_HTTP_ADDR: addr } });
    registry.stdout!.on('data', (d) => (registryLog += d));
    registry.stderr!.on('data', (d) => (registryLog += d));
    await waitFor('docker-registry to serve', async () => {
      if (registry!.exitCode !== null) throw new Error(`docker-registry exited:\n${registryLog}`);
      return (await probe(addr, ca)) === 401;
    }).catch((err: Error) => {
      throw new Error(`${err.message} (${lastProbeError})\n${registryLog}`);
    });
    // docker.io is mirrored to the registry (the issue's offline setup): its TLS and the user from configs.
    const registriesYaml = join(dir, 'registries.yaml');
    await writeFile(
      registriesYaml,
      [
        'mirrors:',
        '  docker.io:',
        `    endpoint: ["https://${addr}"]`,
        'configs:',
        `  "${addr}":`,
        `    auth: { username: ${AUTH.username}, password: ${AUTH.password} }`,
        `    tls: { ca_file: ${join(dir, 'ca.pem')} }`,
      ].join('\n'),
    );
    fx = new RuntimedFixture({ args: ['--registries-config', registriesYaml] });
    await fx.start();
    // The cluster registry's way of being trusted: its CA through ConfigureRegistries.
    await fx.client.configureRegistries([{ host: addr, caPem: ca }]);
  });

  afterAll(async () => {
    await fx?.cleanup();
    if (registry && registry.exitCode === null) {
      const exited = new Promise((resolve) => registry!.once('exit', resolve));
      registry.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** A two-layer image (busybox and a file of its own) loaded into runtimed as `name`, built in a store of the test's. */
  async function loadTwoLayerImage(name: string): Promise<void> {
    const buildDir = await mkdtemp(join(tmpdir(), 'berth-build-'));
    try {
      const store = await ImageStore.open(buildDir);
      const extra = await tarball([{ name: 'greeting.txt', content: 'hello from the registry\n' }]);
      await store.createImage({
        layers: [createReadStream(await busyboxRootfsTarball()), Readable.from([extra])],
        config: { Cmd: ['cat', '/greeting.txt'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
        names: [name],
      });
      await store.save([name], join(buildDir, 'image.tar'), { format: 'oci-archive' });
      await client().loadImages(join(buildDir, 'image.tar'));
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
  }

  async function runToOutput(image: string): Promise<string> {
    const created = await client().createContainer({ image });
    try {
      await client().startContainer(created.id);
      expect(await client().waitContainer(created.id)).toMatchObject({ exitCode: 0 });
      let text = '';
      for await (const entry of client().logs(created.id)) text += entry.data.toString();
      return text;
    } finally {
      await client().removeContainer(created.id, { force: true });
    }
  }

  it('pushes a local image, pulls it back by tag, by digest and through a mirror, and runs it', async () => {
    const name = `${addr}/team/app:1`;
    await loadTwoLayerImage(name);

    const pushLines: ImageProgress[] = [];
    const pushed = await client().pushImage(name, { auth: AUTH, onProgress: (p) => pushLines.push(p) });
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pushed.size).toBeGreaterThan(0);
    expect(pushLines.filter((p) => p.status === 'Pushed')).toHaveLength(2);
    expect(pushLines[pushLines.length - 1]!.status).toBe(`1: digest: ${pushed.digest} size: ${pushed.size}`);

    await client().removeImage(name);
    expect(await client().listImages()).toEqual([]);

    const pullLines: ImageProgress[] = [];
    const pulled = await client().pullImage(name, { auth: AUTH, onProgress: (p) => pullLines.push(p) });
    expect(pulled.digest).toBe(pushed.digest);
    expect(pulled.image.names).toEqual([name]);
    expect(pulled.image.repoDigests).toEqual([`${addr}/team/app@${pushed.digest}`]);
    expect(pullLines.filter((p) => p.status === 'Pull complete')).toHaveLength(2);
    expect(await runToOutput(name)).toBe('hello from the registry\n');

    // By digest: the image comes back without a tag, known by its repo digest.
    await client().removeImage(pulled.image.id, true);
    const byDigest = await client().pullImage(`${addr}/team/app@${pushed.digest}`, { auth: AUTH });
    expect(byDigest.image.names).toEqual([]);
    expect(byDigest.image.repoDigests).toEqual([`${addr}/team/app@${pushed.digest}`]);
    expect(await runToOutput(`${addr}/team/app@${pushed.digest}`)).toBe('hello from the registry\n');

    // docker.io/team/app:1 through the mirror, with the credentials and CA registries.yaml gives it.
    const mirrored = await client().pullImage('team/app:1');
    expect(mirrored.digest).toBe(pushed.digest);
    expect(mirrored.image.names).toEqual(['docker.io/team/app:1']);
  });

  it("moves the image between the reference registry and berth's own", async () => {
    let berth: BerthRegistry | undefined;
    try {
      berth = await startBerthRegistry();
      await client().configureRegistries([
        { host: addr, caPem: ca },
        { host: berth.host, endpoint: berth.url },
      ]);
      const from = `${addr}/team/app:1`;
      const pulled = await client().pullImage(from, { auth: AUTH });
      const to = `${berth.host}/copied/app:2`;
      await client().tagImage(from, to);
      const pushed = await client().pushImage(to);
      expect(pushed.digest).toBe(pulled.digest);
      await client().removeImage(pulled.image.id, true);
      const back = await client().pullImage(to);
      expect(back.digest).toBe(pushed.digest);
      expect(await runToOutput(to)).toBe('hello from the registry\n');
    } finally {
      await client().configureRegistries([{ host: addr, caPem: ca }]);
      await berth?.stop();
    }
  });

  it('does not start on an invalid registries.yaml, saying which file and key', async () => {
    const bad = join(dir, 'bad-registries.yaml');
    await writeFile(bad, 'mirrors:\n  docker.io:\n    endpoint: ["ftp://x"]\n');
    const other = new RuntimedFixture({ args: ['--registries-config', bad] });
    try {
      await expect(other.start()).rejects.toThrow(`berth runtimed: ${bad}: mirrors["docker.io"].endpoint[0]: "ftp://x" must be http:// or https://`);
    } finally {
      await other.cleanup();
    }
  });

  it('says a bad password is one, and an unknown image is not found', async () => {
    const name = `${addr}/team/app:1`;
    const err = await client()
      .pullImage(name, { auth: { username: 'alice', password: 'wrong' } })
      .catch((e: unknown) => e);
    expect(isBerthError(err, 'Unauthorized')).toBe(true);
    expect((err as Error).message).toMatch(/incorrect username or password/);
    const missing = await client()
      .pullImage(`${addr}/team/nothing:1`, { auth: AUTH })
      .catch((e: unknown) => e);
    expect(isBerthError(missing, 'NotFound')).toBe(true);
    expect((missing as Error).message).toMatch(/manifest unknown/i);
  });
});
