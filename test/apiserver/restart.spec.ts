// berth server's lifecycle: flags, first start, restarts and crashes on the same data dir.
import { CoreV1Api } from '@kubernetes/client-node';
import { BERTH_BIN, freePort, kubeConfigFor, startBerthServer, TestServer } from '@berth/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dataDir: string;
const servers: TestServer[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'berth-restart-'));
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<TestServer> {
  const server = await startBerthServer({ dataDir });
  servers.push(server);
  return server;
}

function client(server: TestServer): CoreV1Api {
  return kubeConfigFor(server).makeApiClient(CoreV1Api);
}

test('first start writes PKI and kubeconfig; a restart keeps credentials and objects; SIGTERM exits 0', async () => {
  const first = await start();
  for (const file of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'admin.token']) {
    expect(statSync(join(dataDir, 'pki', file)).isFile()).toBe(true);
  }
  expect(statSync(join(dataDir, 'pki', 'ca.key')).mode & 0o077).toBe(0);
  const kubeconfig = readFileSync(first.kubeconfigPath, 'utf8');
  expect(kubeconfig).toContain(`server: https://127.0.0.1:${first.port}`);
  expect(kubeconfig).toContain('current-context: berth');
  const created = await client(first).createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'kept' }, data: { a: '1' } } });

  await first.stop();
  expect(first.process.exitCode).toBe(0);

  const second = await start();
  expect(second.token).toBe(first.token);
  expect(second.ca).toBe(first.ca);
  const read = await client(second).readNamespacedConfigMap({ name: 'kept', namespace: 'default' });
  expect(read.metadata?.uid).toBe(created.metadata?.uid);
  expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  expect(read.data).toEqual({ a: '1' });
});

test('SIGTERM exits 0 even when a client never closes its side of the connection', async () => {
  const server = await start();
  // A peer that went away without closing (its host vanished) looks like this: it never answers the FIN.
  const silent = connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
  await once(silent, 'connect');
  try {
    await server.stop(); // SIGKILL after 5 s, which would not be exit code 0
    expect(server.process.exitCode).toBe(0);
  } finally {
    silent.destroy();
  }
});

function runServer(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(BERTH_BIN, ['server', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('a second server on the data dir stops naming the first; kill -9 keeps every acknowledged write and frees the data dir', async () => {
  const first = await start();
  const core = client(first);
  const names: string[] = [];
  for (let i = 0; i < 20; i++) {
    const made = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `acked-${i}` }, data: { i: String(i) } } });
    names.push(made.metadata!.name!);
  }
  const beside = await runServer(['--data-dir', dataDir, '--https-port', String(await freePort()), '--bind-address', '127.0.0.1', '--disable-agent']);
  expect(beside).toEqual({ code: 1, stderr: `berth server: ${join(dataDir, 'state.db')} is in use by pid ${first.process.pid} (another berth server?)\n` });
  await first.kill9();

  const second = await start();
  const listed = await client(second).listNamespacedConfigMap({ namespace: 'default' });
  expect(listed.items.map((c) => c.metadata?.name).sort()).toEqual([...names].sort());
});

test('bad flags print one line and exit 1', async () => {
  for (const args of [['--https-port', 'abc'], ['--no-such-flag'], ['--log-level', 'loud']]) {
    const result = await runServer(['--data-dir', dataDir, ...args]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  }
});
