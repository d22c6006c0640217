import type { Container } from '@berth/api';
import type { Pod } from '@berth/api';
import { startGrpcHealthServer, waitFor, type GrpcHealthServer } from '@berth/testing';
import * as grpc from '@grpc/grpc-js';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import pino from 'pino';
import { ProbeManager, runProbe, type ProbeRuntime, type ProbeTarget } from './probes';

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

describe('gRPC probes', () => {
  let health: GrpcHealthServer;
  // A gRPC server without the health service: the probe must say so rather than time out.
  const bare = new grpc.Server();
  let barePort: number;

  beforeAll(async () => {
    health = await startGrpcHealthServer('127.0.0.2');
    barePort = await new Promise<number>((resolve, reject) => bare.bindAsync('127.0.0.2:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  });
  afterAll(async () => {
    await health.close();
    bare.forceShutdown();
  });

  const target = (podIP: string) => ({ containerId: 'c1', container, networkNamespace: '', podIP });
  const probe = (port: number, service?: string) => ({ grpc: { port, ...(service !== undefined ? { service } : {}) }, timeoutSeconds: SLOW });

  it("call grpc.health.v1.Health/Check on the pod's IP: SERVING passes, anything else fails saying what the server answered", async () => {
    health.setStatus('', 'SERVING');
    expect(await runProbe(runtime, probe(health.port), target('127.0.0.2'))).toEqual({ ok: true });
    health.setStatus('', 'NOT_SERVING');
    expect(await runProbe(runtime, probe(health.port), target('127.0.0.2'))).toEqual({ ok: false, message: 'service unhealthy (responded with "NOT_SERVING")' });
    health.setStatus('', 'SERVING');
    expect((await runProbe(runtime, probe(health.port), target('127.0.0.3'))).ok).toBe(false);
  });

  it("ask about the probe's service", async () => {
    health.setStatus('web.v1.Api', 'SERVING');
    health.setStatus('web.v1.Admin', 'NOT_SERVING');
    expect(await runProbe(runtime, probe(health.port, 'web.v1.Api'), target('127.0.0.2'))).toEqual({ ok: true });
    expect((await runProbe(runtime, probe(health.port, 'web.v1.Admin'), target('127.0.0.2'))).ok).toBe(false);
    expect(await runProbe(runtime, probe(health.port, 'other'), target('127.0.0.2'))).toEqual({ ok: false, message: 'rpc error: code = 5 desc = unknown service' });
  });

  it('fail on a server without the health service, and on a port nothing listens on', async () => {
    expect(await runProbe(runtime, probe(barePort), target('127.0.0.2'))).toEqual({ ok: false, message: expect.stringMatching(/^this server doesn't implement the grpc health protocol/) });
    const closed = await runProbe(runtime, probe(1), target('127.0.0.2'));
    expect(closed).toEqual({ ok: false, message: expect.stringMatching(/^failed to connect service "127.0.0.2:1": .*ECONNREFUSED/) });
  });

  it('fail when the server does not answer within the timeout', async () => {
    const silent = createNetServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.2', resolve));
    try {
      const result = await runProbe(runtime, { grpc: { port: (silent.address() as AddressInfo).port }, timeoutSeconds: 1 }, target('127.0.0.2'));
      expect(result).toEqual({ ok: false, message: 'probe timed out after 1000ms' });
    } finally {
      silent.close();
    }
  });
});

describe('ProbeManager', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => ({ server, port } = await serveOn('127.0.0.2')));
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { terminationGracePeriodSeconds: 30, containers: [] } };
  const managed = () => {
    const changes: string[] = [];
    const stops: Array<[string, number]> = [];
    const events: string[] = [];
    const manager = new ProbeManager({
      runtime,
      logger: pino({ level: 'silent' }),
      events: { record: (_pod, type, reason, message) => void events.push(`${type} ${reason} ${message}`) },
      onChange: (key) => void changes.push(key),
      stop: async (_pod, target, grace) => void stops.push([target.containerId, grace]),
    });
    return { manager, changes, stops, events };
  };

  it('probes readiness and liveness only once the startup probe has passed; until then the container is neither started nor ready', async () => {
    const { manager, changes } = managed();
    const spec: Container = { ...container, startupProbe: { tcpSocket: { port }, timeoutSeconds: SLOW }, readinessProbe: { tcpSocket: { port }, timeoutSeconds: SLOW } };
    const target: ProbeTarget = { containerId: 'c1', container: spec, networkNamespace: '', podIP: '127.0.0.2' };
    try {
      manager.syncPod(pod, [target]);
      expect([manager.isStarted('u', 'c1', spec), manager.isReady('u', 'c1', spec)]).toEqual([false, false]);
      await waitFor(() => changes.length === 1, SLOW * 1000, 'the startup probe to pass');
      expect([manager.isStarted('u', 'c1', spec), manager.isReady('u', 'c1', spec)]).toEqual([true, false]);
      // The pod worker looks again and the readiness probe takes over.
      manager.syncPod(pod, [target]);
      await waitFor(() => changes.length === 2, SLOW * 1000, 'the readiness probe to pass');
      expect(manager.isReady('u', 'c1', spec)).toBe(true);
    } finally {
      manager.stop();
    }
  });

  it("stops a container that fails its startup probe, with the probe's own grace period", async () => {
    const { manager, stops, events } = managed();
    const spec: Container = { ...container, startupProbe: { tcpSocket: { port: 1 }, failureThreshold: 1, timeoutSeconds: SLOW, terminationGracePeriodSeconds: 5 } };
    try {
      manager.syncPod(pod, [{ containerId: 'c2', container: spec, networkNamespace: '', podIP: '127.0.0.2' }]);
      await waitFor(() => stops.length === 1, SLOW * 1000, 'the container to be stopped');
      expect(stops).toEqual([['c2', 5]]);
      expect(events).toContain('Normal Killing Container web failed startup probe, will be restarted');
      expect(manager.isStarted('u', 'c2', spec)).toBe(false);
    } finally {
      manager.stop();
    }
  });
});
