import type { Container } from '@berth/api';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runProbe, type ProbeRuntime } from './probes';

/** Each probe starts a node process: generous on a busy machine. */
const SLOW = 20;
/** Network probes never exec or stop anything. */
const runtime = {} as ProbeRuntime;
const container: Container = { name: 'web', image: 'busybox', ports: [{ name: 'http', containerPort: 0 }] };

/** An HTTP server on one loopback address only, as a pod's server listens on the pod's IP. */
async function serveOn(address: string): Promise<{ server: Server; port: number }> {
  const server = createHttpServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('network probes', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => ({ server, port } = await serveOn('127.0.0.2')));
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const target = (podIP: string) => ({ containerId: 'c1', container: { ...container, ports: [{ name: 'http', containerPort: port }] }, networkNamespace: '', podIP });

  it("connect to the pod's IP unless the probe names a host", async () => {
    expect(await runProbe(runtime, { tcpSocket: { port }, timeoutSeconds: SLOW }, target('127.0.0.2'))).toEqual({ ok: true });
    expect(await runProbe(runtime, { httpGet: { path: '/healthz', port: 'http' }, timeoutSeconds: SLOW }, target('127.0.0.2'))).toEqual({ ok: true });
    // Nothing listens on the pod IP's port elsewhere: the address matters.
    expect((await runProbe(runtime, { tcpSocket: { port }, timeoutSeconds: SLOW }, target('127.0.0.3'))).ok).toBe(false);
    expect(await runProbe(runtime, { tcpSocket: { port, host: '127.0.0.2' }, timeoutSeconds: SLOW }, target('127.0.0.3'))).toEqual({ ok: true });
  });

  it('fail an HTTP probe on an error status, saying which', async () => {
    expect(await runProbe(runtime, { httpGet: { path: '/missing', port }, timeoutSeconds: SLOW }, target('127.0.0.2'))).toEqual({ ok: false, message: 'HTTP probe failed with statuscode: 404' });
  });
});
