// Several berth servers on one NATS store share one identity, kept in the store sealed with the server token.
import { freePort, kubectlFor, runBerth, startBerthServer, startNatsServer, type Kubectl, type TestNatsServer, type TestServer } from '@berth/testing';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let nats: TestNatsServer | undefined;
const servers: TestServer[] = [];
const kubectls: Kubectl[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
});

afterAll(async () => {
  for (const k of kubectls) k.cleanup();
  for (const s of servers) await s.cleanup();
  await nats?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('two servers with one token present one CA, accept one admin kubeconfig and one join token, and see the same objects', async () => {
  const store = `${nats!.url}?bucket=shared_identity`;
  // Started together on the empty store: create-if-absent picks the identity.
  const [first, second] = await Promise.all([
    startBerthServer({ store, extraArgs: ['--token', 'shared-secret-token'] }),
    startBerthServer({ store, extraArgs: ['--token', 'shared-secret-token'] }),
  ]);
  servers.push(first, second);
  expect(second.ca).toBe(first.ca);
  expect(second.token).toBe(first.token);
  expect(readFileSync(join(second.dataDir, 'token'), 'utf8')).toBe(readFileSync(join(first.dataDir, 'token'), 'utf8'));
  // Each server has a serving certificate of its own.
  expect(readFileSync(join(second.dataDir, 'pki', 'server.crt'), 'utf8')).not.toBe(readFileSync(join(first.dataDir, 'pki', 'server.crt'), 'utf8'));

  // The first server's kubeconfig, the server URL switched: TLS verifies and the credential is accepted.
  const kubectl = kubectlFor(first);
  kubectls.push(kubectl);
  await kubectl.ok(['create', 'configmap', 'via-first', '--from-literal=a=1']);
  const read = await kubectl.ok(['--server', second.url, 'get', 'configmap', 'via-first', '-o', 'jsonpath={.data.a}']);
  expect(read).toBe('1');
  await kubectl.ok(['--server', second.url, 'create', 'configmap', 'via-second']);
  await kubectl.ok(['get', 'configmap', 'via-second']);
});

test('a server given the wrong token stops with one line, exit 1', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-wrong-token-'));
  dirs.push(dataDir);
  const port = await freePort();
  const result = await runBerth([
    'server', '--data-dir', dataDir, '--https-port', String(port), '--bind-address', '127.0.0.1', '--registry-port', '0',
    '--disable-agent', '--disable-scheduler', '--disable-controller-manager',
    '--store', `${nats!.url}?bucket=shared_identity`, '--token', 'not-the-token',
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe("berth server: the token does not open this cluster's bootstrap data\n");
});
