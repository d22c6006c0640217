/**
 * The node DNS server against a real apiserver with its control loops (the Endpoints controller fills in
 * headless Services), on 127.0.0.1 and a free port: Services, Endpoints and Pods reach it through the real
 * list/watch path; Node's resolver (c-ares) is the client; a fake upstream stands for the host's resolvers.
 */
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import { type Pod, resourceForKind, type Service, type ServiceSpec } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { decodeMessage, encodeMessage, type NodeDns, Rcode, RecordClass, RecordType, startNodeDns } from '@berth/dns';
import { freePort, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import pino from 'pino';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

const SERVICES = resourceForKind('v1', 'Service')!;
const PODS = resourceForKind('v1', 'Pod')!;
const NAMESPACES = resourceForKind('v1', 'Namespace')!;
const NODE = 'dns-node';
/** How long a change may take to be answered; it is normally well under a second. */
const CHANGE_MS = 5000;

describe('node DNS against a real apiserver', () => {
  let server: TestServer;
  let client: KubeClient;
  let upstream: FakeUpstream;
  let dns: NodeDns;
  let resolver: Resolver;

  beforeAll(async () => {
    server = await startBerthServer({ controlLoops: true });
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    upstream = await startFakeUpstream({
      records: { 'example.com': ['93.184.215.14'], 'big.example.com': Array.from({ length: 60 }, (_, i) => `10.1.${i}.1`) },
      truncateOverUdp: ['big.example.com'],
      silent: ['silent.example.com'],
    });
    dns = await startNodeDns({
      client,
      nodeName: NODE,
      address: '127.0.0.1',
      port: await freePort(),
      interfaceName: null,
      upstreams: [`${upstream.address}:${upstream.port}`],
      logger: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }),
    });
    resolver = clientResolver();
  });

  afterAll(async () => {
    await dns?.stop();
    await upstream?.close();
    client?.close();
    await server?.cleanup();
  });

  /** A c-ares client of the node DNS; from localAddress when given (a pod's address on loopback). */
  function clientResolver(localAddress?: string): Resolver {
    const r = new Resolver({ timeout: 5000, tries: 1 });
    r.setServers([`127.0.0.1:${dns.port}`]);
    if (localAddress) r.setLocalAddress(localAddress);
    return r;
  }

  const createService = (namespace: string, name: string, spec: ServiceSpec) =>
    client.create<Service>(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec });

  /** A pod on this node as its kubelet would report it: Running with ip, Ready or not. */
  async function runPod(namespace: string, name: string, labels: Record<string, string>, ip: string, ready: boolean, hostname?: string): Promise<Pod> {
    const pod = await client.create<Pod>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace, name, labels },
      spec: { nodeName: NODE, ...(hostname ? { hostname, subdomain: labels.app } : {}), containers: [{ name: 'main', image: 'busybox:1.36' }] },
    });
    return setReady(pod, ip, ready);
  }

  function setReady(pod: Pod, ip: string, ready: boolean): Promise<Pod> {
    const now = new Date().toISOString();
    const status = ready ? 'True' : 'False';
    return client.updateStatus<Pod>(PODS, {
      ...pod,
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: ['Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status, lastTransitionTime: now })) },
    });
  }

  /** The sorted addresses of name, or the error code (ENOTFOUND, ENODATA, ESERVFAIL, ...). */
  const lookup = (name: string, via = resolver) =>
    via.resolve4(name).then(
      (ips) => ips.sort(),
      (err: NodeJS.ErrnoException) => err.code,
    );

  const answers = (name: string, expected: unknown, via = resolver) =>
    waitFor(async () => {
      const got = await lookup(name, via);
      return JSON.stringify(got) === JSON.stringify(expected) ? got : undefined;
    }, CHANGE_MS, `${name} → ${JSON.stringify(expected)}`);

  it('answers a new Service with its ClusterIP, and NXDOMAIN once it is deleted', async () => {
    expect(await lookup('web.default.svc.cluster.local')).toBe('ENOTFOUND');
    const service = await createService('default', 'web', { ports: [{ name: 'http', port: 80 }] });
    const clusterIP = service.spec!.clusterIP!;
    expect(clusterIP).toMatch(/^10\.96\./);
    await answers('web.default.svc.cluster.local', [clusterIP]);
    expect(await lookup('WEB.Default.SVC.cluster.local.')).toEqual([clusterIP]);
    expect(await resolver.resolve6('web.default.svc.cluster.local').catch((err) => err.code)).toBe('ENODATA');
    expect(await resolver.resolveSrv('_http._tcp.web.default.svc.cluster.local')).toEqual([
      { name: 'web.default.svc.cluster.local', port: 80, priority: 0, weight: 100 },
    ]);
    expect(await resolver.reverse(clusterIP)).toEqual(['web.default.svc.cluster.local']);

    await client.delete(SERVICES, 'web', { namespace: 'default' });
    await answers('web.default.svc.cluster.local', 'ENOTFOUND');
  });

  it('answers a headless Service with its ready pods, following readiness', async () => {
    await createService('shop', 'db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'sql', port: 5432 }] });
    const first = await runPod('shop', 'db-0', { app: 'db' }, '10.88.7.10', true, 'db-0');
    const second = await runPod('shop', 'db-1', { app: 'db' }, '10.88.7.11', false, 'db-1');
    await answers('db.shop.svc.cluster.local', ['10.88.7.10']);
    await answers('db-0.db.shop.svc.cluster.local', ['10.88.7.10']);
    expect(await lookup('db-1.db.shop.svc.cluster.local')).toBe('ENOTFOUND');

    await setReady(second, '10.88.7.11', true);
    await answers('db.shop.svc.cluster.local', ['10.88.7.10', '10.88.7.11']);
    expect(await lookup('db-1.db.shop.svc.cluster.local')).toEqual(['10.88.7.11']);
    const srv = await resolver.resolveSrv('_sql._tcp.db.shop.svc.cluster.local');
    expect(srv.map((r) => `${r.name}:${r.port}`).sort()).toEqual(['db-0.db.shop.svc.cluster.local:5432', 'db-1.db.shop.svc.cluster.local:5432']);

    await setReady(first, '10.88.7.10', false);
    await answers('db.shop.svc.cluster.local', ['10.88.7.11']);
  });

  it('answers NAME in the asking pod\'s namespace and NAME.NS, and forwards them when no such Service exists', async () => {
    const api = await createService('shop', 'api', { ports: [{ port: 8080 }] });
    const other = await createService('default', 'api', { ports: [{ port: 8080 }] });
    // A pod of namespace shop on this node at 127.0.0.2, so queries from that address are its queries.
    await runPod('shop', 'client', { app: 'client' }, '127.0.0.2', true);
    const fromPod = clientResolver('127.0.0.2');
    await answers('api', [api.spec!.clusterIP!], fromPod);
    await answers('api', [other.spec!.clusterIP!]);
    expect(await lookup('api.shop')).toEqual([api.spec!.clusterIP!]);
    expect(await lookup('api.default')).toEqual([other.spec!.clusterIP!]);

    expect(await lookup('example.com')).toEqual(['93.184.215.14']);
    expect(await lookup('nothing')).toBe('ENOTFOUND');
    expect(upstream.queries.map((q) => q.name)).toEqual(expect.arrayContaining(['example.com', 'nothing']));
    expect(upstream.queries.map((q) => q.name)).not.toContain('api');
  });

  it('forwards other names: a truncated answer is fetched over TCP, a silent upstream gives SERVFAIL', async () => {
    const big = await lookup('big.example.com');
    expect(big).toHaveLength(60);
    expect(upstream.queries.filter((q) => q.name === 'big.example.com').map((q) => q.transport)).toEqual(expect.arrayContaining(['udp', 'tcp']));
    // c-ares retries a SERVFAIL and reports a timeout in the end, so the answer itself is looked at.
    const silent = decodeMessage(await udpExchange(dns.port, aQuery(0x5555, 'silent.example.com')));
    expect(silent.header).toMatchObject({ id: 0x5555, qr: true, rcode: Rcode.SERVFAIL });
  });

  it('answers ExternalName Services with the CNAME and the target\'s addresses', async () => {
    await createService('default', 'ext', { type: 'ExternalName', externalName: 'example.com' });
    await answers('ext.default.svc.cluster.local', ['93.184.215.14']);
    expect(await resolver.resolveCname('ext.default.svc.cluster.local')).toEqual(['example.com']);
  });

  it('keeps the client\'s id over UDP and TCP, answers pipelined TCP queries, and FORMERR to garbage', async () => {
    const created = await createService('default', 'tcp-check', { ports: [{ port: 80 }] });
    await answers('tcp-check.default.svc.cluster.local', [created.spec!.clusterIP!]);

    const overTcp = await tcpExchange(dns.port, [aQuery(0x1111, 'tcp-check.default.svc.cluster.local'), aQuery(0x2222, 'example.com')]);
    expect(overTcp.map((m) => [m.header.id, m.header.rcode, m.answers.length]).sort()).toEqual([
      [0x1111, Rcode.NOERROR, 1],
      [0x2222, Rcode.NOERROR, 1],
    ]);

    const garbage = Buffer.concat([aQuery(0x3333, 'example.com').subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1])]);
    const formErr = decodeMessage(await udpExchange(dns.port, garbage));
    expect(formErr.header).toMatchObject({ id: 0x3333, qr: true, rcode: Rcode.FORMERR });
    const forwarded = decodeMessage(await udpExchange(dns.port, aQuery(0x4444, 'example.com')));
    expect(forwarded.header).toMatchObject({ id: 0x4444, rcode: Rcode.NOERROR });
  });

  it('refuses to start on an address and port already served, or with an upstream it cannot use', async () => {
    const options = { client, nodeName: NODE, address: '127.0.0.1', port: dns.port, interfaceName: null, upstreams: [], logger: pino({ level: 'silent' }) };
    await expect(startNodeDns(options)).rejects.toMatchObject({ reason: 'ServiceUnavailable', message: expect.stringContaining(`127.0.0.1:${dns.port}`) });
    await expect(startNodeDns({ ...options, upstreams: ['dns.example:53'] })).rejects.toMatchObject({ reason: 'BadRequest' });
  });
});

const aQuery = (id: number, name: string) =>
  encodeMessage({
    header: { id, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0 },
    questions: [{ name, type: RecordType.A, class: RecordClass.IN }],
    answers: [],
    authority: [],
    additional: [],
  });

function udpExchange(port: number, packet: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => (socket.close(), reject(new Error('no UDP answer within 5 s'))), 5000);
    socket.on('message', (answer) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    });
    socket.send(packet, port, '127.0.0.1');
  });
}

/** Sends every query on one TCP connection at once and collects as many answers. */
function tcpExchange(port: number, packets: Buffer[]) {
  return new Promise<ReturnType<typeof decodeMessage>[]>((resolve, reject) => {
    const socket = new Socket();
    const answers: ReturnType<typeof decodeMessage>[] = [];
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`${answers.length} of ${packets.length} TCP answers within 5 s`))), 5000);
    socket.on('error', (err) => (clearTimeout(timer), reject(err)));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        answers.push(decodeMessage(buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
      if (answers.length === packets.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answers);
      }
    });
    socket.connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat(packets.map((p) => Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p]))));
    });
  });
}
