import { sha256 } from '@berth/image';
import { createTestCA, waitFor } from '@berth/testing';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ClusterRegistry, registryHost } from './cluster-registry';
import { DEFAULT_LIMITS } from './limits';

describe('ClusterRegistry', () => {
  let dataDir: string;
  let registry: ClusterRegistry | undefined;
  let ca: string;
  const logged: Array<{ msg: string; why?: string }> = [];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-cluster-registry-'));
  });

  afterEach(async () => {
    await registry?.stop();
    registry = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(gc: { intervalMs?: number; afterDeletes?: number }, port = 0): Promise<ClusterRegistry> {
    const testCA = await createTestCA();
    const issued = await testCA.issue({ subject: 'CN=berth-apiserver', ips: ['127.0.0.1'] });
    ca = testCA.cert;
    const started = await ClusterRegistry.start({
      dataDir,
      port,
      bindAddress: '127.0.0.1',
      advertisedAddress: '127.0.0.1',
      anonymousPull: true,
      credentials: { serverCertPem: issued.cert, serverKeyPem: issued.key!, caCertPem: ca, adminToken: 'admin-token', nodeSecret: 'join-secret' },
      limits: DEFAULT_LIMITS,
      logger: pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
      gc,
    });
    registry ??= started;
    return started;
  }

  function send(method: string, path: string, body?: Buffer): Promise<number> {
    const port = Number(registry!.host.split(':')[1]);
    const headers: Record<string, string> = { Authorization: `Basic ${Buffer.from('x:admin-token').toString('base64')}` };
    if (body) headers['Content-Length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, ca, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('serves under <data dir>/registry on its port, and collects its garbage in the background after so many deletes', async () => {
    await start({ afterDeletes: 2 });
    expect(registry!.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(statSync(join(dataDir, 'registry', 'repositories')).isDirectory()).toBe(true);
    const blobs = [randomBytes(64), randomBytes(64)];
    for (const blob of blobs) expect(await send('POST', `/v2/app/blobs/uploads/?digest=${sha256(blob)}`, blob)).toBe(201);
    expect(await send('DELETE', `/v2/app/blobs/${sha256(blobs[0]!)}`)).toBe(202);
    expect(logged.filter((line) => line.msg === 'registry garbage collected')).toEqual([]);
    expect(await send('DELETE', `/v2/app/blobs/${sha256(blobs[1]!)}`)).toBe(202);
    await waitFor(() => logged.some((line) => line.msg === 'registry garbage collected' && line.why === '2 deletes'));
  });

  test('collects periodically', async () => {
    logged.length = 0;
    await start({ intervalMs: 50 });
    await waitFor(() => logged.filter((line) => line.msg === 'registry garbage collected' && line.why === 'periodic').length >= 2);
  });

  test('on-demand collections, asked for at once, each report what went', async () => {
    const cluster = await start({});
    const [first, second] = await Promise.all([cluster.collectGarbage({ dryRun: true, deleteUntagged: false }), cluster.collectGarbage({ dryRun: false, deleteUntagged: true })]);
    expect(first).toMatchObject({ blobsDeleted: 0, deleted: [] });
    expect(second).toMatchObject({ blobsDeleted: 0, manifestsDeleted: 0 });
  });

  test('a port in use stops the start with one line that names the flag', async () => {
    const first = await start({});
    const port = Number(first.host.split(':')[1]);
    await expect(start({}, port)).rejects.toThrow(`the registry port 127.0.0.1:${port} is in use (--registry-port; 0 runs no registry)`);
  });

  test('a registry host names an IPv6 address in brackets', () => {
    expect(registryHost('10.0.0.1', 5000)).toBe('10.0.0.1:5000');
    expect(registryHost('fd00::1', 5000)).toBe('[fd00::1]:5000');
  });
});
