import { BerthError } from '@berth/errors';
import { kubeconfigYaml } from '@berth/client';
import { DockerConfig } from '@berth/registry-auth';
import type { Image, ImageProgress, RegistryAuth, RuntimeClient } from '@berth/runtime-client';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CLUSTER_REGISTRY_USER, registryAuthFor, type CredentialContext } from './credentials';
import { login, logout, pullForRun, pullImage, pushImage, type VerbOutput } from './registry';

const DIGEST = `sha256:${'d'.repeat(64)}`;

function captured(): VerbOutput & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: { isTTY: false, write: (text: string) => (out += text) },
    err: { write: (text: string) => (err += text) },
    stdout: () => out,
    stderr: () => err,
  };
}

const image = (over: Partial<Image> = {}): Image => ({
  id: `sha256:${'1'.repeat(64)}`,
  digest: DIGEST,
  names: ['docker.io/library/busybox:latest'],
  created: '2026-01-01T00:00:00Z',
  size: 100,
  ...over,
});

/** The two runtimed calls pull and push make, recording what they were asked. */
class FakeRuntime implements Pick<RuntimeClient, 'pullImage' | 'pushImage'> {
  calls: Array<{ verb: string; ref: string; auth?: RegistryAuth; platform?: string }> = [];
  local: Image | undefined;
  // What runtimed sends, as docker's daemon does.
  progress: ImageProgress[] = [
    { id: '', status: 'Pulling from library/busybox', current: 0, total: 0 },
    { id: 'a1b2c3d4e5f6', status: 'Pulling fs layer', current: 0, total: 0 },
    { id: 'a1b2c3d4e5f6', status: 'Downloading', current: 5, total: 10 },
    { id: 'a1b2c3d4e5f6', status: 'Pull complete', current: 0, total: 0 },
    { id: '', status: `Digest: ${DIGEST}`, current: 0, total: 0 },
  ];

  async pullImage(ref: string, options: { auth?: RegistryAuth; platform?: string; onProgress?: (p: ImageProgress) => void } = {}) {
    this.calls.push({ verb: 'pull', ref, auth: options.auth, platform: options.platform });
    for (const p of this.progress) options.onProgress?.(p);
    const pulled = image();
    const status = this.local?.digest === DIGEST ? `Status: Image is up to date for ${ref}` : `Status: Downloaded newer image for ${ref}`;
    options.onProgress?.({ id: '', status, current: 0, total: 0, image: pulled, digest: DIGEST });
    return { image: pulled, digest: DIGEST };
  }
  async pushImage(ref: string, options: { auth?: RegistryAuth; onProgress?: (p: ImageProgress) => void } = {}) {
    this.calls.push({ verb: 'push', ref, auth: options.auth });
    options.onProgress?.({ id: '', status: `The push refers to repository [${ref.replace(/:[^:/]*$/, '')}]`, current: 0, total: 0 });
    options.onProgress?.({ id: 'a1b2c3d4e5f6', status: 'Preparing', current: 0, total: 0 });
    options.onProgress?.({ id: 'a1b2c3d4e5f6', status: 'Pushed', current: 0, total: 0 });
    options.onProgress?.({ id: '', status: `${ref.slice(ref.lastIndexOf(':') + 1)}: digest: ${DIGEST} size: 527`, current: 0, total: 0, digest: DIGEST, size: 527 });
    return { digest: DIGEST, size: 527 };
  }
}

describe('pull, push, login, logout', () => {
  let dir: string;
  let context: CredentialContext;
  let servers: http.Server[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-registry-'));
    // No kubeconfig anywhere: only docker's config.json can give a credential.
    context = { env: { DOCKER_CONFIG: join(dir, 'docker') }, home: dir, berthKubeconfig: join(dir, 'no-kubeconfig.yaml'), registriesConfig: join(dir, 'no-registries.yaml'), certsDir: join(dir, 'certs.d') };
  });
  afterEach(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    servers = [];
    await rm(dir, { recursive: true, force: true });
  });

  async function listen(handler: http.RequestListener): Promise<number> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('pulls as docker prints it, with the config.json credential of the image\'s registry', async () => {
    const config = DockerConfig.empty();
    config.set('https://index.docker.io/v1/', { username: 'hub', password: 'pw' });
    await config.save(join(dir, 'docker', 'config.json'));

    const runtime = new FakeRuntime();
    const output = captured();
    await pullImage(runtime, 'busybox', { platform: 'linux/arm64' }, context, output);
    expect(runtime.calls).toEqual([{ verb: 'pull', ref: 'docker.io/library/busybox:latest', auth: { username: 'hub', password: 'pw' }, platform: 'linux/arm64' }]);
    expect(output.stdout()).toBe(
      [
        'Using default tag: latest',
        'latest: Pulling from library/busybox',
        'a1b2c3d4e5f6: Pulling fs layer',
        'a1b2c3d4e5f6: Pull complete',
        `Digest: ${DIGEST}`,
        'Status: Downloaded newer image for busybox:latest',
        'docker.io/library/busybox:latest',
        '',
      ].join('\n'),
    );
  });

  it('pulls before a run as docker run does: only a missing image (on stderr), always with --pull always, never with never', async () => {
    const runtime = Object.assign(new FakeRuntime(), {
      present: new Set<string>(),
      async inspectImage(ref: string) {
        if (!this.present.has(ref)) throw new BerthError('NotFound', `images "${ref}" not found`);
        return { image: image(), configJson: '{}', manifestJson: '{}' };
      },
    });
    let err = '';
    const stderr = { isTTY: false, write: (text: string) => (err += text) };
    await pullForRun(runtime, 'busybox', 'missing', context, stderr);
    expect(runtime.calls.map((c) => c.ref)).toEqual(['docker.io/library/busybox:latest']);
    expect(err).toBe(
      ["Unable to find image 'busybox:latest' locally", 'latest: Pulling from library/busybox', 'a1b2c3d4e5f6: Pulling fs layer', 'a1b2c3d4e5f6: Pull complete', `Digest: ${DIGEST}`, 'Status: Downloaded newer image for busybox:latest', ''].join('\n'),
    );
    runtime.present.add('busybox');
    await pullForRun(runtime, 'busybox', 'missing', context, stderr);
    await pullForRun(runtime, 'busybox', 'never', context, stderr);
    expect(runtime.calls).toHaveLength(1);
    await pullForRun(runtime, 'busybox', 'always', context, stderr);
    expect(runtime.calls).toHaveLength(2);
  });

  it('says an image is up to date when the name already meant that digest, and -q prints the name only', async () => {
    const runtime = new FakeRuntime();
    runtime.local = image();
    const output = captured();
    await pullImage(runtime, 'busybox:latest', {}, context, output);
    expect(output.stdout()).toContain('Status: Image is up to date for busybox:latest\n');
    expect(output.stdout()).not.toContain('Using default tag');
    expect(runtime.calls[0]!.auth).toBeUndefined();

    const quiet = captured();
    await pullImage(runtime, 'registry.example.com:5000/team/app@' + DIGEST, { quiet: true }, context, quiet);
    expect(quiet.stdout()).toBe(`registry.example.com:5000/team/app@${DIGEST}\n`);
  });

  it('pushes as docker prints it', async () => {
    const runtime = new FakeRuntime();
    const output = captured();
    await pushImage(runtime, 'registry.example.com:5000/team/app:1.0', {}, context, output);
    expect(runtime.calls).toEqual([{ verb: 'push', ref: 'registry.example.com:5000/team/app:1.0', auth: undefined }]);
    expect(output.stdout()).toBe(
      [
        'The push refers to repository [registry.example.com:5000/team/app]',
        'a1b2c3d4e5f6: Preparing',
        'a1b2c3d4e5f6: Pushed',
        `1.0: digest: ${DIGEST} size: 527`,
        '',
      ].join('\n'),
    );
    await expect(pushImage(runtime, `app@${DIGEST}`, {}, context, captured())).rejects.toThrow(/cannot push a digest reference/);
  });

  it('gives the kubeconfig\'s token to the registry the cluster advertises, only', async () => {
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    let advertise = true;
    const apiPort = await listen((req, res) => {
      if (advertise && req.url === '/api/v1/namespaces/kube-public/configmaps/local-registry-hosting' && req.headers.authorization === 'Bearer admin-token') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'local-registry-hosting', namespace: 'kube-public' }, data: { 'localRegistryHosting.v1': 'host: "10.9.8.7:5000"\nhelp: "https://example.com"\n' } }));
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"kind":"Status","code":404}');
    });
    await writeFile(kubeconfig, kubeconfigYaml({ server: `http://127.0.0.1:${apiPort}`, token: 'admin-token', insecureSkipTLSVerify: false }, { cluster: 'c', user: 'u' }), { mode: 0o600 });
    const withCluster = { ...context, kubeconfig };
    const token = { username: CLUSTER_REGISTRY_USER, password: 'admin-token' };
    expect(await registryAuthFor('10.9.8.7:5000', withCluster)).toEqual(token);
    // The API server's host as the kubeconfig names it, with the advertised port.
    expect(await registryAuthFor('127.0.0.1:5000', withCluster)).toEqual(token);
    expect(await registryAuthFor('127.0.0.1:5001', withCluster)).toBeUndefined();
    expect(await registryAuthFor('10.9.8.7:5001', withCluster)).toBeUndefined();
    expect(await registryAuthFor('registry.example.com', withCluster)).toBeUndefined();
    expect(await registryAuthFor('10.9.8.7:5000', context)).toBeUndefined();
    advertise = false;
    expect(await registryAuthFor('127.0.0.1:5000', withCluster)).toBeUndefined();
  });

  it('logs in against the registry, stores the credential 0600 beside what was there, and logs out', async () => {
    const basic = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;
    const port = await listen((req, res) => {
      if (req.headers.authorization === basic) return void res.writeHead(200).end('{}');
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end();
    });
    const server = `http://127.0.0.1:${port}`;
    const path = join(dir, 'docker', 'config.json');
    await mkdir(join(dir, 'docker'));
    await writeFile(path, JSON.stringify({ detachKeys: 'ctrl-e,e', auths: { 'other.example.com': { auth: 'b3RoZXI6cHc=' } } }));

    const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    (stdin as unknown as PassThrough).end('wonderland\n');
    const output = captured();
    await login(server, { username: 'alice', passwordStdin: true }, context, output, { stdin });
    expect(output.stdout()).toBe('Login Succeeded\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(path, 'utf8'));
    expect(written.detachKeys).toBe('ctrl-e,e');
    expect(written.auths).toEqual({ 'other.example.com': { auth: 'b3RoZXI6cHc=' }, [`127.0.0.1:${port}`]: { auth: Buffer.from('alice:wonderland').toString('base64') } });
    expect(await registryAuthFor(`127.0.0.1:${port}`, context)).toEqual({ username: 'alice', password: 'wonderland' });

    const wrong = captured();
    await expect(login(server, { username: 'alice', password: 'nope' }, context, wrong, { stdin })).rejects.toMatchObject({
      reason: 'Unauthorized',
      message: `login attempt to ${server}/v2/ failed with status: 401 Unauthorized`,
    });
    expect(wrong.stderr()).toBe('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');

    const out = captured();
    await logout(`127.0.0.1:${port}`, context, out);
    await logout(`127.0.0.1:${port}`, context, out);
    expect(out.stdout()).toBe(`Removing login credentials for 127.0.0.1:${port}\nNot logged in to 127.0.0.1:${port}\n`);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')).auths)).toEqual(['other.example.com']);
  });

  it('logs in through the token flow, and refuses a wrong password there too', async () => {
    const basic = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;
    const seen: string[] = [];
    const port = await listen((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url!.startsWith('/token')) {
        if (req.headers.authorization !== basic) return void res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"token":"t0ken","expires_in":300}');
      }
      if (req.headers.authorization === 'Bearer t0ken') return void res.writeHead(200).end('{}');
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${req.socket.localPort}/token",service="fake"` }).end();
    });
    const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const output = captured();
    await login(`http://127.0.0.1:${port}`, { username: 'alice', password: 'wonderland' }, context, output, { stdin });
    expect(output.stdout()).toBe('Login Succeeded\n');
    expect(seen).toEqual(['GET /v2/', 'GET /token?service=fake&account=alice', 'GET /v2/']);
    await expect(login(`http://127.0.0.1:${port}`, { username: 'alice', password: 'nope' }, context, captured(), { stdin })).rejects.toMatchObject({
      reason: 'Unauthorized',
      message: `login attempt to http://127.0.0.1:${port}/v2/ failed with status: 401 Unauthorized`,
    });
  });

  it('asks for the user and the password on a terminal, echoing only the user', async () => {
    const basic = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;
    const port = await listen((req, res) => {
      if (req.headers.authorization === basic) return void res.writeHead(200).end('{}');
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end();
    });
    const terminal = new PassThrough();
    const raw: boolean[] = [];
    const stdin = Object.assign(terminal, { isTTY: true, isRaw: false, setRawMode: (on: boolean) => raw.push(on) }) as unknown as NodeJS.ReadStream;
    let shown = '';
    const output: VerbOutput = {
      out: {
        isTTY: true,
        write: (text: string) => {
          shown += text;
          // Type each answer once its question is on the screen, a key at a time.
          const type = (answer: string) => setImmediate(() => [...answer].forEach((key) => terminal.write(key)));
          if (text === 'Username: ') type('alicx\u007fe\r');
          if (text === 'Password: ') type('wonderland\r');
          return true;
        },
      },
      err: { write: () => true },
    };
    await login(`http://127.0.0.1:${port}`, {}, context, output, { stdin });
    expect(shown).toBe('Username: alicx\b \be\nPassword: \nLogin Succeeded\n');
    expect(raw).toEqual([true, false, true, false]);
    expect(await registryAuthFor(`127.0.0.1:${port}`, context)).toEqual({ username: 'alice', password: 'wonderland' });
  });

  it('refuses what docker login refuses before asking the registry', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const output = captured();
    await expect(login('r.example.com', { username: 'a', password: 'b', passwordStdin: true }, context, output, { stdin })).rejects.toThrow('--password and --password-stdin are mutually exclusive');
    await expect(login('r.example.com', { passwordStdin: true }, context, output, { stdin })).rejects.toThrow('Must provide --username with --password-stdin');
    await expect(login('r.example.com', { username: 'a' }, context, output, { stdin })).rejects.toThrow('Cannot perform an interactive login from a non TTY device');
  });

  it('stops on a broken config.json with one line, before anything is pulled or written', async () => {
    await mkdir(join(dir, 'docker'));
    await writeFile(join(dir, 'docker', 'config.json'), '{"auths": {"x": 7}}');
    const runtime = new FakeRuntime();
    await expect(pullImage(runtime, 'busybox', {}, context, captured())).rejects.toThrow(/config\.json: auths\["x"\] is not an object$/);
    expect(runtime.calls).toEqual([]);
    await expect(logout('x', context, captured())).rejects.toThrow(/is not an object/);
    expect(await readFile(join(dir, 'docker', 'config.json'), 'utf8')).toBe('{"auths": {"x": 7}}');
  });
});
