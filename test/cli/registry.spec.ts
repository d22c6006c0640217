import { createTestCA, freePort, runBerth, startBerthServer, type BerthResult, type TestServer } from '@berth/testing';
import { startReferenceRegistry, type RunningRegistry } from '../registry/registries';
import { RuntimedFixture } from '../runtimed/support';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(180_000);

/** bcrypt of "wonderland" (cost 4), the htpasswd entry distribution's registry checks. */
const HTPASSWD = 'alice:$2b$04$W0VzuX6t7PsGJ.JF2U5jj.P7U9ZMP8ZP4FVNiN..sU9OCi/l43vSW\n';

function expectOneLineFailure(result: BerthResult, message: string | RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr.trimEnd()).toMatch(message);
  expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
}

/** Debian's docker-registry over TLS with a test CA (its PEM in `caFile`, which the CLI trusts through NODE_EXTRA_CA_CERTS), behind htpasswd. */
async function startDockerRegistry(dir: string): Promise<RunningRegistry & { caFile: string }> {
  const ca = await createTestCA();
  const issued = await ca.issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'] });
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.cert);
  return { ...(await startReferenceRegistry({ tls: { cert: issued.cert, key: issued.key!, ca: ca.cert }, htpasswd: HTPASSWD })), caFile };
}

describe('berth login, logout and create secret docker-registry', () => {
  let server: TestServer;
  let registry: Awaited<ReturnType<typeof startDockerRegistry>> | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const berth = (args: string[], input?: string) => runBerth(args, { env, input });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-cli-registry-'));
    server = await startBerthServer();
    registry = await startDockerRegistry(dir);
    env = { ...process.env, KUBECONFIG: server.kubeconfigPath, DOCKER_CONFIG: join(dir, 'docker'), NODE_EXTRA_CA_CERTS: registry.caFile };
  });

  afterAll(async () => {
    await registry?.stop();
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in to docker-registry with --password-stdin, keeping the credential 0600, and logs out', async () => {
    const host = registry!.host;
    const login = await berth(['login', host, '-u', 'alice', '--password-stdin'], 'wonderland\n');
    expect(login).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    const path = join(dir, 'docker', 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8')).auths[host]).toEqual({ auth: Buffer.from('alice:wonderland').toString('base64') });

    const logout = await berth(['logout', host]);
    expect(logout).toMatchObject({ code: 0, stdout: `Removing login credentials for ${host}\n` });
    expect(JSON.parse(readFileSync(path, 'utf8')).auths).toEqual({});
    expect((await berth(['logout', host])).stdout).toBe(`Not logged in to ${host}\n`);
  });

  it('refuses a wrong password with one line and exit code 1, writing nothing', async () => {
    const host = registry!.host;
    const result = await berth(['login', host, '-u', 'alice', '-p', 'queen-of-hearts']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `WARNING! Using --password via the CLI is insecure. Use --password-stdin.\nError response from registry: login attempt to https://${host}/v2/ failed with status: 401 Unauthorized\n`,
    );
    expectOneLineFailure(await berth(['login', host, '-u', 'alice']), /^error: Cannot perform an interactive login from a non TTY device$/);
  });

  it('stops on a config.json that is not JSON with one line', async () => {
    const broken = join(dir, 'broken');
    rmSync(broken, { recursive: true, force: true });
    mkdirSync(broken);
    writeFileSync(join(broken, 'config.json'), '{"auths": ');
    const result = await runBerth(['logout', 'x.example.com'], { env: { ...env, DOCKER_CONFIG: broken } });
    expectOneLineFailure(result, /config\.json: not valid JSON/);
  });

  it('refuses a malformed image name with one line before looking for a runtimed', async () => {
    const result = await runBerth(['pull', 'Bad_Name'], { env: { ...env, BERTH_RUNTIME_SOCKET: join(dir, 'no-runtimed.sock') } });
    expectOneLineFailure(result, /^error: invalid reference format "Bad_Name"/);
  });

  it('creates a kubernetes.io/dockerconfigjson secret as kubectl does', async () => {
    const created = await berth(['create', 'secret', 'docker-registry', 'regcred', '--docker-server=reg.example.com:5000', '--docker-username=u', '--docker-password=p', '--docker-email=e@example.com']);
    expect(created).toMatchObject({ code: 0, stdout: 'secret/regcred created\n' });
    const secret = JSON.parse((await berth(['get', 'secret', 'regcred', '-o', 'json'])).stdout);
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString())).toEqual({
      auths: { 'reg.example.com:5000': { username: 'u', password: 'p', email: 'e@example.com', auth: Buffer.from('u:p').toString('base64') } },
    });

    const file = join(dir, 'config-for-secret.json');
    writeFileSync(file, JSON.stringify({ auths: { 'a.example.com': { auth: Buffer.from('a:b').toString('base64') } } }));
    expect(await berth(['create', 'secret', 'docker-registry', 'fromfile', `--from-file=.dockerconfigjson=${file}`])).toMatchObject({ code: 0, stdout: 'secret/fromfile created\n' });

    writeFileSync(file, 'not json');
    expectOneLineFailure(await berth(['create', 'secret', 'docker-registry', 'bad', `--from-file=.dockerconfigjson=${file}`]), /config-for-secret\.json: not valid JSON/);
    expectOneLineFailure(await berth(['create', 'secret', 'docker-registry', 'nouser', '--docker-password=p']), /either --from-file or the combination of --docker-username, --docker-password and --docker-server is required/);
  });

  it('has the API server refuse a dockerconfigjson secret that is not a docker config', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'garbled' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from('{"auths": [').toString('base64') },
    };
    const result = await berth(['apply', '-f', '-'], JSON.stringify(manifest));
    expectOneLineFailure(result, /Secret "garbled" is invalid: data\[\.dockerconfigjson\]: Invalid value: "<secret contents redacted>"/);
  });
});

describe('berth pull and push through a node runtimed, against docker-registry', () => {
  let registry: Awaited<ReturnType<typeof startDockerRegistry>> | undefined;
  let runtimed: RuntimedFixture | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const berth = (args: string[], input?: string) => runBerth(args, { env, input, timeoutMs: 120_000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-cli-pull-'));
    registry = await startDockerRegistry(dir);
    const registriesConfig = join(dir, 'registries.yaml');
    writeFileSync(registriesConfig, `configs:\n  "${registry.host}":\n    tls:\n      ca_file: ${registry.caFile}\n`);
    runtimed = new RuntimedFixture({ args: ['--registries-config', registriesConfig] });
    await runtimed.start();
    // No kubeconfig: credentials come from docker's config.json only.
    env = { ...runtimed.env, KUBECONFIG: join(dir, 'no-kubeconfig'), DOCKER_CONFIG: join(dir, 'docker'), NODE_EXTRA_CA_CERTS: registry.caFile };
  });

  afterAll(async () => {
    await runtimed?.cleanup();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes with the login\'s credential, pulls back, and shows the repo digest as docker does', async () => {
    const host = registry!.host;
    const name = `${host}/team/busybox:1.0`;
    await runtimed!.importBusybox(name);

    const anonymous = await berth(['push', name]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(anonymous.stderr).toMatch(/unauthorized|authentication required|401/i);

    expect(await berth(['login', host, '-u', 'alice', '--password-stdin'], 'wonderland')).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    const pushed = await berth(['push', name]);
    expect(pushed).toMatchObject({ code: 0 });
    const pushLines = pushed.stdout.trimEnd().split('\n');
    expect(pushLines[0]).toBe(`The push refers to repository [${host}/team/busybox]`);
    expect(pushLines.slice(1, -1).filter((line) => !/^[0-9a-f]{12}: \S/.test(line))).toEqual([]);
    const pushDigest = /^1\.0: digest: (sha256:[0-9a-f]{64}) size: \d+$/.exec(pushLines[pushLines.length - 1]!)?.[1];
    expect(pushDigest).toBeDefined();

    expect((await berth(['rmi', name])).code).toBe(0);
    const pulled = await berth(['pull', name]);
    expect(pulled).toMatchObject({ code: 0 });
    const pullLines = pulled.stdout.trimEnd().split('\n');
    expect(pullLines[0]).toBe('1.0: Pulling from team/busybox');
    expect(pullLines.slice(-3)).toEqual([`Digest: ${pushDigest}`, `Status: Downloaded newer image for ${name}`, name]);
    expect(pulled.stdout).not.toContain('\x1b[');
    expect(pulled.stdout).not.toMatch(/Downloading/);

    const again = await berth(['pull', '-q', name]);
    expect(again).toMatchObject({ code: 0, stdout: `${name}\n` });
    expect((await berth(['pull', name])).stdout).toContain(`Status: Image is up to date for ${name}\n`);

    const listed = await berth(['images', '--digests', `${host}/team/busybox`]);
    const [header, row] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(row!.split(/\s{2,}/).slice(0, 3)).toEqual([`${host}/team/busybox`, '1.0', pushDigest]);
    expect((await berth(['images', 'nothing/like/this'])).stdout.trimEnd().split('\n')).toHaveLength(1);

    const inspected = JSON.parse((await berth(['image', 'inspect', name])).stdout);
    expect(inspected[0].RepoDigests).toEqual([`${host}/team/busybox@${pushDigest}`]);

    expect(await berth(['tag', name, `${host}/team/busybox:copy`])).toMatchObject({ code: 0 });
    expect((await berth(['push', '-q', `${host}/team/busybox:copy`])).stdout).toBe(`${host}/team/busybox:copy\n`);
  });
});

describe('berth push and login to the cluster registry, with the kubeconfig alone', () => {
  let server: TestServer | undefined;
  let runtimed: RuntimedFixture | undefined;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let host: string;
  const berth = (args: string[], input?: string) => runBerth(args, { env, input, timeoutMs: 120_000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-cli-cluster-registry-'));
    const registryPort = await freePort();
    server = await startBerthServer({ registryPort });
    host = `127.0.0.1:${registryPort}`;
    // runtimed trusts the cluster CA for it, as an agent's ConfigureRegistries would have it.
    writeFileSync(join(dir, 'ca.crt'), server.ca);
    writeFileSync(join(dir, 'registries.yaml'), `configs:\n  "${host}":\n    tls:\n      ca_file: ${join(dir, 'ca.crt')}\n`);
    runtimed = new RuntimedFixture({ args: ['--registries-config', join(dir, 'registries.yaml')] });
    await runtimed.start();
    env = { ...runtimed.env, KUBECONFIG: server.kubeconfigPath, DOCKER_CONFIG: join(dir, 'docker') };
  });

  afterAll(async () => {
    await runtimed?.cleanup();
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes with the kubeconfig\'s token and no login, then logs in trusting the cluster CA', async () => {
    const advertisement = await server!.fetch('/api/v1/namespaces/kube-public/configmaps/local-registry-hosting');
    expect(advertisement.body).toContain(`host: \\"${host}\\"`);
    await runtimed!.importBusybox(`${host}/app:1`);
    const pushed = await berth(['push', `${host}/app:1`]);
    expect(pushed).toMatchObject({ code: 0 });
    expect(pushed.stdout).toMatch(new RegExp(`^The push refers to repository \\[${host}/app\\]\n[^]*\n1: digest: sha256:[0-9a-f]{64} size: \\d+\n$`));

    expect(await berth(['login', host, '-u', 'anyone', '--password-stdin'], server!.token)).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    const refused = await berth(['login', host, '-u', 'anyone', '--password-stdin'], 'not-the-token');
    expectOneLineFailure(refused, new RegExp(`^Error response from registry: login attempt to https://${host}/v2/ failed with status: 401 Unauthorized$`));
  });
});
