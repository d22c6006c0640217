// Service ClusterIP and NodePort allocation through the real kubectl and @kubernetes/client-node.
import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { createStore } from '@berth/store';
import { kubeConfigFor, kubectlFor, type Kubectl, startBerthServer, startNatsServer, type TestNatsServer, type TestServer, waitFor } from '@berth/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A /26: .0 and .63 are network and broadcast, .1 is the kubernetes Service's, 61 are left for the tests.
const SERVICE_CIDR = '10.97.0.0/26';
const FREE_IPS = 61;
// Outside Kubernetes' default 30000-32767: the server's range is the one that counts.
const NODE_PORTS = { min: 20080, max: 20089 };
const RANGE_ARGS = [
  '--service-cidr', SERVICE_CIDR,
  '--service-node-port-range', `${NODE_PORTS.min}-${NODE_PORTS.max}`,
  // Repairs while running, not only at start.
  '--service-allocation-repair-interval', '1s',
];

let dataDir: string;
let server: TestServer | undefined;
let kubectl: Kubectl;
let core: CoreV1Api;
let namespaceCounter = 0;

async function start(): Promise<void> {
  server = await startBerthServer({ dataDir, extraArgs: RANGE_ARGS });
  kubectl?.cleanup();
  kubectl = kubectlFor(server);
  core = kubeConfigFor(server).makeApiClient(CoreV1Api);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'berth-services-'));
  await start();
});

afterAll(async () => {
  await server?.cleanup();
  kubectl?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

async function freshNamespace(): Promise<string> {
  const name = `svc-${++namespaceCounter}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

async function run(args: string[], input?: string): Promise<string> {
  const result = await kubectl.run(args, { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** kubectl's one-line error for a command that must fail. */
async function failure(args: string[], input?: string): Promise<string> {
  const result = await kubectl.run(args, { input });
  expect(result.code).not.toBe(0);
  return result.stderr.trim();
}

function manifest(name: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } });
}

const inRange = (ip: string | undefined) => /^10\.97\.0\.(\d+)$/.test(ip ?? '') && Number(ip!.split('.')[3]) >= 2 && Number(ip!.split('.')[3]) <= 62;

async function clusterIPs(namespace: string): Promise<string[]> {
  const { items } = await core.listNamespacedService({ namespace });
  return items.map((s) => s.spec!.clusterIP!).filter((ip) => ip !== 'None');
}

test('the kubernetes Service holds the first address of the range', async () => {
  const api = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
  expect(api.spec?.clusterIP).toBe('10.97.0.1');
  expect(api.spec?.ports?.[0]).toMatchObject({ name: 'https', port: 443, targetPort: server!.port });
  const endpoints = await core.readNamespacedEndpoints({ name: 'kubernetes', namespace: 'default' });
  expect(endpoints.subsets?.[0].ports?.[0].port).toBe(server!.port);
});

test('kubectl create and apply get ClusterIPs; requested ones must be free and in range; headless takes none', async () => {
  const ns = await freshNamespace();
  await run(['create', 'service', 'clusterip', 'made', '--tcp=80:8080', '-n', ns]);
  await run(['apply', '-n', ns, '-f', '-'], manifest('applied'));
  const made = await run(['get', 'service', 'made', '-n', ns, '-o', 'jsonpath={.spec.clusterIP} {.spec.clusterIPs[0]}']);
  const [ip, first] = made.split(' ');
  expect(inRange(ip)).toBe(true);
  expect(first).toBe(ip);
  const applied = await run(['get', 'service', 'applied', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}']);
  expect(inRange(applied)).toBe(true);
  expect(applied).not.toBe(ip);
  // Applying the same manifest again keeps the address.
  await run(['apply', '-n', ns, '-f', '-'], manifest('applied', { sessionAffinity: 'ClientIP' }));
  expect(await run(['get', 'service', 'applied', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}'])).toBe(applied);
  // So does a replace of a manifest without it.
  await run(['replace', '-n', ns, '-f', '-'], manifest('applied'));
  expect(await run(['get', 'service', 'applied', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}'])).toBe(applied);

  expect(await failure(['apply', '-n', ns, '-f', '-'], manifest('clash', { clusterIP: ip }))).toContain(
    `The Service "clash" is invalid: spec.clusterIP: Invalid value: "${ip}": provided IP is already allocated`,
  );
  expect(await failure(['apply', '-n', ns, '-f', '-'], manifest('far', { clusterIP: '10.96.0.10' }))).toContain(
    'The Service "far" is invalid: spec.clusterIP: Invalid value: "10.96.0.10": provided IP is not in the valid range. The range of valid IPs is 10.97.0.0/26',
  );
  expect(await failure(['patch', 'service', 'made', '-n', ns, '--type=merge', '-p', '{"spec":{"clusterIP":"10.97.0.40","clusterIPs":["10.97.0.40"]}}'])).toContain(
    'spec.clusterIP: Invalid value: "10.97.0.40": field is immutable',
  );

  await run(['create', 'service', 'clusterip', 'headless', '--clusterip=None', '--tcp=80:80', '-n', ns]);
  expect(await run(['get', 'service', 'headless', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}'])).toBe('None');
  // Waited for: the next tests count on every address but theirs being free.
  await run(['delete', 'namespace', ns, '--timeout=60s']);
});

test('NodePorts: allocated in range, requested ones checked, released when the type goes back to ClusterIP', async () => {
  const ns = await freshNamespace();
  await run(['create', 'service', 'nodeport', 'np', '--tcp=80:80', '-n', ns]);
  const port = Number(await run(['get', 'service', 'np', '-n', ns, '-o', 'jsonpath={.spec.ports[0].nodePort}']));
  expect(port).toBeGreaterThanOrEqual(NODE_PORTS.min);
  expect(port).toBeLessThanOrEqual(NODE_PORTS.max);
  expect(await failure(['create', 'service', 'nodeport', 'clash', '--tcp=80:80', `--node-port=${port}`, '-n', ns])).toContain(
    `Service "clash" is invalid: spec.ports[0].nodePort: Invalid value: ${port}: provided port is already allocated`,
  );
  expect(await failure(['create', 'service', 'nodeport', 'far', '--tcp=80:80', '--node-port=30100', '-n', ns])).toContain(
    `spec.ports[0].nodePort: Invalid value: 30100: provided port is not in the valid range. The range of valid ports is ${NODE_PORTS.min}-${NODE_PORTS.max}`,
  );
  expect(await failure(['create', 'service', 'nodeport', 'low', '--tcp=80:80', '--node-port=80', '-n', ns])).toContain(
    `Service "low" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is ${NODE_PORTS.min}-${NODE_PORTS.max}`,
  );
  // The refused creates gave back the ClusterIPs they took.
  expect(await clusterIPs(ns)).toHaveLength(1);
  // A LoadBalancer Service has node ports too, requested or allocated, from the same range.
  const wanted = port === NODE_PORTS.max ? NODE_PORTS.min : NODE_PORTS.max;
  await run(['apply', '-n', ns, '-f', '-'], manifest('lb', { type: 'LoadBalancer', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: wanted }] }));
  const lbPorts = (await run(['get', 'service', 'lb', '-n', ns, '-o', 'jsonpath={.spec.ports[*].nodePort}'])).split(' ').map(Number);
  expect(lbPorts[0]).toBeGreaterThanOrEqual(NODE_PORTS.min);
  expect(lbPorts[0]).toBeLessThanOrEqual(NODE_PORTS.max);
  expect(lbPorts[1]).toBe(wanted);
  await run(['delete', 'service', 'lb', '-n', ns]);

  await run(['patch', 'service', 'np', '-n', ns, '--type=merge', '-p', '{"spec":{"type":"ClusterIP"}}']);
  expect(await run(['get', 'service', 'np', '-n', ns, '-o', 'jsonpath={.spec.ports[0].nodePort}'])).toBe('');
  await run(['create', 'service', 'nodeport', 'taker', '--tcp=80:80', `--node-port=${port}`, '-n', ns]);
  await run(['delete', 'service', 'taker', '-n', ns]);
  await run(['create', 'service', 'nodeport', 'again', '--tcp=80:80', `--node-port=${port}`, '-n', ns]);
  await run(['delete', 'namespace', ns, '--timeout=60s']);
});

test('a LoadBalancer Service\'s ingress is written through services/status (PATCH and PUT), kept by main-resource writes, shown as EXTERNAL-IP', async () => {
  const ns = await freshNamespace();
  await run(['create', 'service', 'loadbalancer', 'edge', '--tcp=80:80', '-n', ns]);
  const externalIP = async () => (await run(['get', 'service', 'edge', '-n', ns, '--no-headers'])).trim().split(/\s+/)[3];
  expect(await externalIP()).toBe('<pending>');

  await run(['patch', 'service', 'edge', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"},{"ip":"192.0.2.5"}]}}}']);
  expect(await externalIP()).toBe('192.0.2.5,192.0.2.7');
  // Writes of the main resource leave status alone, whatever status they carry.
  await run(['label', 'service', 'edge', '-n', ns, 'tier=front']);
  await run(['replace', '-n', ns, '-f', '-'], manifest('edge', { type: 'LoadBalancer' }));
  const current = await core.readNamespacedService({ name: 'edge', namespace: ns });
  await core.replaceNamespacedService({ name: 'edge', namespace: ns, body: { ...current, status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } } } });
  expect(await externalIP()).toBe('192.0.2.5,192.0.2.7');

  const latest = await core.readNamespacedService({ name: 'edge', namespace: ns });
  await core.replaceNamespacedServiceStatus({ name: 'edge', namespace: ns, body: { ...latest, status: { loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } } } });
  expect(await externalIP()).toBe('192.0.2.9');
  // Waited for: the next test counts on every address but theirs being free.
  await run(['delete', 'namespace', ns, '--timeout=60s']);
});

test('50 concurrent creates get distinct addresses; a full range refuses; a deleted Service\'s address is reused', async () => {
  const ns = await freshNamespace();
  const body = (name: string): V1Service => ({ metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
  const made = await Promise.all(Array.from({ length: 50 }, (_, i) => core.createNamespacedService({ namespace: ns, body: body(`c${i}`) })));
  const ips = made.map((s) => s.spec!.clusterIP!);
  expect(ips.every(inRange)).toBe(true);
  expect(new Set(ips).size).toBe(50);

  // Fill whatever is left (the kubernetes Service and no other test holds an address now).
  const filler: string[] = [];
  for (let i = 0; ; i++) {
    const result = await kubectl.run(['apply', '-n', ns, '-f', '-'], { input: manifest(`fill${i}`) });
    if (result.code !== 0) {
      expect(result.stderr).toContain('failed to allocate a serviceIP: range is full');
      break;
    }
    filler.push(`fill${i}`);
    expect(filler.length).toBeLessThanOrEqual(FREE_IPS - 50);
  }
  expect(filler).toHaveLength(FREE_IPS - 50);
  const freed = ips[7];
  await run(['delete', 'service', 'c7', '-n', ns]);
  await run(['apply', '-n', ns, '-f', '-'], manifest('reuser'));
  expect(await run(['get', 'service', 'reuser', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}'])).toBe(freed);

  // Deleting the namespace frees all of them.
  await run(['delete', 'namespace', ns, '--timeout=60s']);
  await run(['apply', '-n', 'default', '-f', '-'], manifest('after-namespace', { clusterIP: freed }));
  await run(['delete', 'service', 'after-namespace', '-n', 'default']);
});

test('allocations survive a restart; freed addresses are reusable and leaked ones are repaired', async () => {
  const ns = await freshNamespace();
  await run(['apply', '-n', ns, '-f', '-'], manifest('kept', { type: 'NodePort', clusterIP: '10.97.0.50', ports: [{ port: 80, nodePort: NODE_PORTS.min + 5 }] }));
  await run(['apply', '-n', ns, '-f', '-'], manifest('freed', { clusterIP: '10.97.0.51' }));
  await run(['delete', 'service', 'freed', '-n', ns]);

  await server!.stop();
  // An allocation left behind by a crash between allocating and writing the Service, long ago.
  const store = await createStore(`sqlite://${join(dataDir, 'state.db')}`);
  try {
    await store.create('/registry/ranges/serviceips/10.97.0.52', JSON.stringify({ uid: 'lost', allocatedAt: new Date(Date.now() - 3_600_000).toISOString() }));
  } finally {
    await store.close();
  }
  await start();

  expect(await failure(['apply', '-n', ns, '-f', '-'], manifest('clash', { clusterIP: '10.97.0.50' }))).toContain('provided IP is already allocated');
  expect(await failure(['create', 'service', 'nodeport', 'clash', '--tcp=80:80', `--node-port=${NODE_PORTS.min + 5}`, '-n', ns])).toContain('provided port is already allocated');
  await run(['apply', '-n', ns, '-f', '-'], manifest('freed', { clusterIP: '10.97.0.51' }));
  // The leak is freed by a repair pass while the server runs (the one at start only suspects it).
  await waitFor(async () => (await kubectl.run(['apply', '-n', ns, '-f', '-'], { input: manifest('repaired', { clusterIP: '10.97.0.52' }) })).code === 0, 15_000, 'the leaked address to be freed');
  await run(['delete', 'namespace', ns, '--wait=false']);
});

describe('two apiservers on one NATS store', () => {
  let nats: TestNatsServer | undefined;
  const dirs: string[] = [];
  const servers: TestServer[] = [];

  afterAll(async () => {
    for (const s of servers) await s.cleanup();
    await nats?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('never hand out one address twice, and together fill the range exactly', async () => {
    nats = await startNatsServer();
    // A /27: 29 addresses besides network, broadcast and the kubernetes Service's.
    // One token: servers on one store share the cluster's identity.
    const args = ['--service-cidr', '10.98.0.0/27', '--token', 'services-test-token'];
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'berth-services-nats-'));
      dirs.push(dir);
      servers.push(await startBerthServer({ dataDir: dir, store: `${nats.url}?bucket=services_test`, extraArgs: args }));
    }
    const clients = servers.map((s) => kubeConfigFor(s).makeApiClient(CoreV1Api));
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        clients[i % 2].createNamespacedService({ namespace: 'default', body: { metadata: { name: `n${i}` }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } } }),
      ),
    );
    const ips = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.spec!.clusterIP!] : []));
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { body?: unknown }).body)] : []));
    expect(ips).toHaveLength(29);
    expect(new Set(ips).size).toBe(29);
    expect(refusals).toHaveLength(11);
    for (const refusal of refusals) expect(refusal).toContain('range is full');
  });
});
