/**
 * The registry of a real `berth server` (its HTTPS port, the cluster's credentials, the advertisement, the
 * garbage collection) against the clients that must work with it: raw requests for the status codes and
 * challenges, then buildah, skopeo and podman, each with its storage in a temp dir and the cluster CA in a
 * cert dir of its own, so they touch nothing of the machine's.
 */
import { ensureNodeCredential } from '@berth/agent';
import { parseJoinToken, type ClusterConnection } from '@berth/client';
import { sha256 } from '@berth/image';
import { freePort, runBerth, startBerthServer, type TestServer } from '@berth/testing';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  code?: string;
}

interface Credential {
  headers?: Record<string, string>;
  /** A node's client certificate. */
  node?: Pick<ClusterConnection, 'clientCert' | 'clientKey'>;
}

/** One HTTPS request to the registry, trusting the cluster CA. */
function registryRequest(server: TestServer, port: number, method: string, path: string, credential: Credential = {}, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: server.ca,
        cert: credential.node?.clientCert,
        key: credential.node?.clientKey,
        agent: false,
        headers: { ...(body ? { 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' } : {}), ...credential.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { errors?: { code?: string }[] }).errors?.[0]?.code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, code });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const basic = (user: string, password: string): Credential => ({ headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
const bearer = (token: string): Credential => ({ headers: { Authorization: `Bearer ${token}` } });

/** A command's exit code and output; never throws (the test says what it expected). */
function tool(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file and directory under `dir`, backdated by `ms`: the collection's grace period is over for them. */
function backdate(dir: string, ms: number): void {
  const when = new Date(Date.now() - ms);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: false }) as string[]) utimesSync(join(dir, entry), when, when);
  utimesSync(dir, when, when);
}

/** A one-layer image pushed with raw requests as the admin; its manifest's text. */
async function pushTinyImage(server: TestServer, port: number, reference: string): Promise<string> {
  const [repository, tag] = reference.split(':') as [string, string];
  const admin = basic('admin', server.token);
  const layer = randomBytes(512);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  for (const blob of [layer, config]) {
    expect(await registryRequest(server, port, 'POST', `/v2/${repository}/blobs/uploads/?digest=${sha256(blob)}`, admin, blob)).toMatchObject({ status: 201 });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  const put = await registryRequest(server, port, 'PUT', `/v2/${repository}/manifests/${tag}`, {
    headers: { ...admin.headers, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  }, Buffer.from(manifest));
  expect(put.status).toBe(201);
  return manifest;
}

/** A node's client certificate, got as an agent gets it: a key of its own, a CSR sent with the join token. */
async function joinNode(server: TestServer, dataDir: string, nodeName: string): Promise<ClusterConnection> {
  const joinSecret = parseJoinToken(readFileSync(join(server.dataDir, 'token'), 'utf8').trim())!.secret;
  return ensureNodeCredential({ dataDir, nodeName, server: { server: server.url, ca: server.ca, insecureSkipTLSVerify: false, token: joinSecret } });
}

describe('the cluster registry of berth server', () => {
  let server: TestServer;
  let port: number;
  let work: string;
  let certDir: string;
  let host: string;
  /** buildah and podman, on storage of their own (vfs: plain directories, nothing mounted). */
  let containers: (command: 'buildah' | 'podman', ...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  let authFile: string;

  beforeAll(async () => {
    port = await freePort();
    server = await startBerthServer({ registryPort: port });
    host = `127.0.0.1:${port}`;
    work = mkdtempSync(join(tmpdir(), 'berth-cluster-registry-'));
    // The cluster CA as containers/image reads a cert dir: every *.crt is a CA.
    certDir = join(work, 'certs');
    mkdirSync(certDir);
    copyFileSync(join(server.dataDir, 'pki', 'ca.crt'), join(certDir, 'ca.crt'));
    authFile = join(work, 'auth.json');
    // containers/image wants the file REGISTRY_AUTH_FILE names to exist.
    writeFileSync(authFile, '{"auths":{}}\n', { mode: 0o600 });
    const storage = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs'];
    const env = { ...process.env, REGISTRY_AUTH_FILE: authFile, TMPDIR: work };
    containers = (command, ...args) => tool(command, [...storage, ...(command === 'podman' ? ['--events-backend', 'none', '--tmpdir', join(work, 'podman-tmp')] : []), ...args], env);
  }, 120_000);

  afterAll(async () => {
    await containers?.('buildah', 'rm', '--all');
    await server?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('without a credential /v2/ and pushes are 401 with the Bearer challenge; anonymous pulls pass; a push with an anonymous token is 403; the admin token pushes', async () => {
    const v2 = await registryRequest(server, port, 'GET', '/v2/');
    expect(v2).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(v2.headers['www-authenticate']).toBe(`Bearer realm="https://${host}/v2/token",service="berth"`);
    expect(v2.headers['docker-distribution-api-version']).toBe('registry/2.0');

    const push = await registryRequest(server, port, 'POST', '/v2/team/app/blobs/uploads/');
    expect(push).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(push.headers['www-authenticate']).toBe(`Bearer realm="https://${host}/v2/token",service="berth",scope="repository:team/app:pull,push"`);
    // Anonymous pull is on: a pull gets past authorization to the registry's own answer.
    expect(await registryRequest(server, port, 'GET', '/v2/team/app/manifests/1')).toMatchObject({ status: 404, code: 'MANIFEST_UNKNOWN' });

    const anonymous = JSON.parse((await registryRequest(server, port, 'GET', '/v2/token?service=berth&scope=repository:team/app:pull,push')).body) as { token: string };
    expect(await registryRequest(server, port, 'GET', '/v2/', bearer(anonymous.token))).toMatchObject({ status: 200 });
    expect(await registryRequest(server, port, 'POST', '/v2/team/app/blobs/uploads/', bearer(anonymous.token))).toMatchObject({ status: 403, code: 'DENIED' });

    // HTTP Basic with any user name and the admin token; wrong ones are 401.
    expect(await registryRequest(server, port, 'GET', '/v2/', basic('anyone', server.token))).toMatchObject({ status: 200 });
    expect(await registryRequest(server, port, 'GET', '/v2/', basic('anyone', 'not-the-token'))).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(await registryRequest(server, port, 'POST', '/v2/team/app/blobs/uploads/', basic('anyone', server.token))).toMatchObject({ status: 202 });

    // The token flow: a token for the admin's credentials grants the push it asked for.
    const tokenAnswer = await registryRequest(server, port, 'GET', '/v2/token?service=berth&scope=repository:team/app:pull,push', basic('me', server.token));
    expect(tokenAnswer.status).toBe(200);
    const issued = JSON.parse(tokenAnswer.body) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(issued).toMatchObject({ access_token: issued.token, expires_in: 300 });
    expect(Date.parse(issued.issued_at)).not.toBeNaN();
    expect(await registryRequest(server, port, 'POST', '/v2/team/app/blobs/uploads/', bearer(issued.token))).toMatchObject({ status: 202 });
    expect(await registryRequest(server, port, 'GET', '/v2/token?scope=repository:team/app:push', basic('me', 'wrong'))).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  test('the server advertises the registry in kube-public/local-registry-hosting', async () => {
    const answer = await server.fetch('/api/v1/namespaces/kube-public/configmaps/local-registry-hosting');
    expect(answer.status).toBe(200);
    const data = (JSON.parse(answer.body) as { data: Record<string, string> }).data;
    expect(data['localRegistryHosting.v1']).toMatch(new RegExp(`^host: "${host}"\nhelp: ".+"\n$`));
    // By default it stands in for docker.io on every node.
    expect(data.mirrorOf).toBe('docker.io');
    expect(await runBerth(['--kubeconfig', server.kubeconfigPath, 'registry', 'host', '--mirrors'])).toMatchObject({ code: 0, stdout: `${host}\nmirror of docker.io\n` });
  });

  test('buildah pushes an image; skopeo copies it out and back in; podman logs in, pulls and pushes', async () => {
    const file = join(work, 'hello.txt');
    writeFileSync(file, `hello ${randomBytes(8).toString('hex')}\n`);
    expect(await containers('buildah', 'from', '--name', 'hello', 'scratch')).toMatchObject({ code: 0 });
    expect(await containers('buildah', 'copy', 'hello', file, '/hello.txt')).toMatchObject({ code: 0 });
    expect(await containers('buildah', 'commit', 'hello', 'localhost/hello:1')).toMatchObject({ code: 0 });
    const pushed = await containers('buildah', 'push', '--cert-dir', certDir, '--creds', `berth:${server.token}`, 'localhost/hello:1', `docker://${host}/apps/hello:1`);
    expect(pushed).toMatchObject({ code: 0 });

    // Out anonymously (the token flow with no credential), in again with the admin's.
    const dir = join(work, 'hello-dir');
    expect(await tool('skopeo', ['copy', '--src-cert-dir', certDir, `docker://${host}/apps/hello:1`, `dir:${dir}`])).toMatchObject({ code: 0 });
    expect(await tool('skopeo', ['copy', '--dest-cert-dir', certDir, '--dest-creds', `x:${server.token}`, `dir:${dir}`, `docker://${host}/apps/copy:1`])).toMatchObject({
      code: 0,
    });
    const manifest = readFileSync(join(dir, 'manifest.json'));
    const inspected = await tool('skopeo', ['inspect', '--cert-dir', certDir, `docker://${host}/apps/copy:1`]);
    expect(inspected.code).toBe(0);
    expect((JSON.parse(inspected.stdout) as { Digest: string }).Digest).toBe(sha256(manifest));
    // Without credentials a push is refused, with the wrong ones too.
    const anonymous = await tool('skopeo', ['copy', '--dest-cert-dir', certDir, `dir:${dir}`, `docker://${host}/apps/anonymous:1`]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/denied/);
    const wrong = await tool('skopeo', ['copy', '--dest-cert-dir', certDir, '--dest-creds', 'x:wrong', `dir:${dir}`, `docker://${host}/apps/wrong:1`]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|invalid username\/password/i);

    expect(await containers('podman', 'login', '--cert-dir', certDir, '-u', 'nobody-in-particular', '-p', 'wrong', host)).toMatchObject({ code: 125 });
    const login = await containers('podman', 'login', '--cert-dir', certDir, '-u', 'nobody-in-particular', '-p', server.token, host);
    expect(login).toMatchObject({ code: 0, stdout: 'Login Succeeded!\n' });
    expect(await containers('podman', 'pull', '--cert-dir', certDir, `${host}/apps/copy:1`)).toMatchObject({ code: 0 });
    expect(await containers('podman', 'tag', `${host}/apps/copy:1`, `${host}/apps/podman:2`)).toMatchObject({ code: 0 });
    expect(await containers('podman', 'push', '--cert-dir', certDir, `${host}/apps/podman:2`)).toMatchObject({ code: 0 });
    const tags = await registryRequest(server, port, 'GET', '/v2/apps/podman/tags/list');
    expect(JSON.parse(tags.body)).toEqual({ name: 'apps/podman', tags: ['2'] });
  }, 300_000);

  test('berth registry gc removes a blob nothing references and keeps the images', async () => {
    const admin = basic('admin', server.token);
    const orphan = randomBytes(4096);
    const digest = sha256(orphan);
    const uploaded = await registryRequest(server, port, 'POST', `/v2/apps/orphans/blobs/uploads/?digest=${digest}`, admin, orphan);
    expect(uploaded.status).toBe(201);
    const image = await registryRequest(server, port, 'GET', '/v2/apps/hello/manifests/1', {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(image.status).toBe(200);
    const referenced = (JSON.parse(image.body) as { config: { digest: string }; layers: { digest: string }[] }).layers[0]!.digest;
    // The collection keeps what was pushed in the last hour (a push may be under way): this is all older.
    backdate(join(server.dataDir, 'registry'), 2 * 3600_000);

    const kubeconfig = ['--kubeconfig', server.kubeconfigPath];
    const dryRun = await runBerth([...kubeconfig, 'registry', 'gc', '--dry-run']);
    expect(dryRun).toMatchObject({ code: 0, stderr: '' });
    expect(dryRun.stdout).toBe(`blob eligible for deletion: ${digest}\n1 blobs eligible for deletion, 0.0 MB\n`);
    expect(await registryRequest(server, port, 'HEAD', `/v2/apps/orphans/blobs/${digest}`)).toMatchObject({ status: 200 });

    expect(await runBerth([...kubeconfig, 'registry', 'gc'])).toMatchObject({ code: 0, stdout: 'removed 1 blobs, 0.0 MB\n', stderr: '' });
    expect(await registryRequest(server, port, 'HEAD', `/v2/apps/orphans/blobs/${digest}`)).toMatchObject({ status: 404 });
    expect(await registryRequest(server, port, 'HEAD', `/v2/apps/hello/blobs/${referenced}`)).toMatchObject({ status: 200 });
    expect(await tool('skopeo', ['inspect', '--cert-dir', certDir, `docker://${host}/apps/hello:1`])).toMatchObject({ code: 0 });
    expect(await runBerth([...kubeconfig, 'registry', 'gc'])).toMatchObject({ code: 0, stdout: 'removed 0 blobs, 0.0 MB\n' });
  }, 120_000);
});

describe('the cluster registry without anonymous pull, and turned off', () => {
  let server: TestServer | undefined;
  let port: number;
  let nodeDir: string;
  let dataDir: string;

  beforeAll(async () => {
    nodeDir = mkdtempSync(join(tmpdir(), 'berth-registry-node-'));
    dataDir = mkdtempSync(join(tmpdir(), 'berth-registry-closed-'));
  });

  afterAll(async () => {
    await server?.cleanup();
    rmSync(nodeDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('--registry-anonymous-pull=false: a pull needs a credential; a node certificate pulls and is challenged when it pushes', async () => {
    port = await freePort();
    server = await startBerthServer({ dataDir, registryPort: port, extraArgs: ['--registry-anonymous-pull=false'] });
    const pull = await registryRequest(server, port, 'GET', '/v2/apps/hello/manifests/1');
    expect(pull).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(pull.headers['www-authenticate']).toBe(`Bearer realm="https://127.0.0.1:${port}/v2/token",service="berth",scope="repository:apps/hello:pull"`);
    const anonymous = JSON.parse((await registryRequest(server, port, 'GET', '/v2/token?service=berth&scope=repository:apps/hello:pull')).body) as { token: string };
    expect(await registryRequest(server, port, 'GET', '/v2/apps/hello/manifests/1', bearer(anonymous.token))).toMatchObject({ status: 403, code: 'DENIED' });

    const node = await joinNode(server, nodeDir, 'registry-node');
    const asNode: Credential = { node };
    expect(await registryRequest(server, port, 'GET', '/v2/', asNode)).toMatchObject({ status: 200 });
    expect(await registryRequest(server, port, 'GET', '/v2/apps/hello/manifests/1', asNode)).toMatchObject({ status: 404, code: 'MANIFEST_UNKNOWN' });
    // A push with the node certificate alone is challenged for a credential that may push (a node's runtimed
    // pushing with the admin token answers it), as a token of too narrow a scope is.
    const nodePush = await registryRequest(server, port, 'POST', '/v2/apps/hello/blobs/uploads/', asNode);
    expect(nodePush).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(nodePush.headers['www-authenticate']).toBe(`Bearer realm="https://127.0.0.1:${port}/v2/token",service="berth",scope="repository:apps/hello:pull,push"`);
    // Nodes find the registry in its advertisement: the node authorizer lets them read kube-public's ConfigMaps.
    const advertisement = await registryRequest(server, server.port, 'GET', '/api/v1/namespaces/kube-public/configmaps/local-registry-hosting', asNode);
    expect(advertisement.status).toBe(200);
    expect(advertisement.body).toContain(`host: \\"127.0.0.1:${port}\\"`);
    // The admin's still works; the join token is no registry credential.
    expect(await registryRequest(server, port, 'GET', '/v2/apps/hello/manifests/1', basic('a', server.token))).toMatchObject({ status: 404 });
    const joinSecret = parseJoinToken(readFileSync(join(server.dataDir, 'token'), 'utf8').trim())!.secret;
    expect(await registryRequest(server, port, 'GET', '/v2/apps/hello/manifests/1', basic('a', joinSecret))).toMatchObject({ status: 403 });
    // The registry's data is in the data dir.
    expect(statSync(join(dataDir, 'registry')).isDirectory()).toBe(true);

    // skopeo as a node: its client certificate in the cert dir (containers/image reads *.cert and *.key) pulls.
    const tiny = await pushTinyImage(server, port, 'apps/tiny:1');
    const certDir = join(nodeDir, 'certs');
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'ca.crt'), server.ca);
    const withoutCredential = await tool('skopeo', ['inspect', '--raw', '--cert-dir', certDir, `docker://127.0.0.1:${port}/apps/tiny:1`]);
    expect(withoutCredential.code).not.toBe(0);
    expect(withoutCredential.stderr).toMatch(/unauthorized|authentication required|denied/i);
    writeFileSync(join(certDir, 'client.cert'), node.clientCert!);
    writeFileSync(join(certDir, 'client.key'), node.clientKey!, { mode: 0o600 });
    const asNodeByCertificate = await tool('skopeo', ['inspect', '--raw', '--cert-dir', certDir, `docker://127.0.0.1:${port}/apps/tiny:1`]);
    expect(asNodeByCertificate).toMatchObject({ code: 0, stdout: tiny });
  }, 120_000);

  test('restarted with --registry-port 0, the server serves no registry and withdraws the advertisement; the admin gc endpoint says so', async () => {
    expect(server).toBeDefined();
    expect((await server!.fetch('/api/v1/namespaces/kube-public/configmaps/local-registry-hosting')).status).toBe(200);
    await server!.stop();
    server = await startBerthServer({ dataDir });
    expect((await server.fetch('/api/v1/namespaces/kube-public/configmaps/local-registry-hosting')).status).toBe(404);
    await expect(registryRequest(server, port, 'GET', '/v2/')).rejects.toThrow(/ECONNREFUSED/);
    const gc = await runBerth(['--kubeconfig', server.kubeconfigPath, 'registry', 'gc']);
    expect(gc).toMatchObject({ code: 1, stdout: '' });
    expect(gc.stderr).toMatch(/this server runs no registry \(--registry-port 0\)/);
    expect(await runBerth(['--kubeconfig', server.kubeconfigPath, 'registry', 'host'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/advertises no registry/) });
  }, 120_000);
});
