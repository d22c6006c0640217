import { RESOURCES, type KubeObject, type Service } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { MemoryStore } from '@berth/store';
import pino from 'pino';
import { ObjectFilter } from './filter';
import { ObjectService } from './objects';
import { apiServiceIP, ensureApiService, parseNodePortRange, ServiceAllocator } from './service-allocation';

const SERVICES = RESOURCES.find((r) => r.group === '' && r.kind === 'Service')!;
const NAMESPACES = RESOURCES.find((r) => r.group === '' && r.kind === 'Namespace')!;
const write = { dryRun: false, fieldManager: 'test', fieldValidation: 'Strict' as const };
const IPS = '/registry/ranges/serviceips/';
const PORTS = '/registry/ranges/servicenodeports/';
const logger = pino({ level: 'silent' });

let store: MemoryStore;
let allocator: ServiceAllocator;
let objects: ObjectService;

/** A /29: .0 network, .1 the kubernetes Service's, .2-.6 for others, .7 broadcast. */
function setUp(serviceCidr = '10.96.0.0/29', nodePortRange = { min: 30000, max: 30002 }): void {
  store = new MemoryStore();
  allocator = new ServiceAllocator(store, { serviceCidr, nodePortRange }, logger);
  objects = new ObjectService(store, allocator);
}

beforeEach(async () => {
  setUp();
  await objects.ensureNamespace('default');
});
afterEach(() => {
  jest.restoreAllMocks();
  return store.close();
});

function service(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

async function create(name: string, spec: Record<string, unknown> = {}, namespace = 'default'): Promise<Service> {
  return (await objects.create(SERVICES, namespace, service(name, spec), write)).object as Service;
}

async function refusal(write: Promise<unknown>): Promise<string> {
  try {
    await write;
  } catch (err) {
    if (isBerthError(err)) return `${err.reason}: ${err.message}`;
    throw err;
  }
  throw new Error('the write succeeded');
}

const allocated = async (prefix: string) => (await store.list(prefix)).items.map((kv) => kv.key.slice(prefix.length)).sort();

test('ClusterIPs come from the range, never its network, broadcast or the kubernetes address, until it is full', async () => {
  const ips = [];
  for (let i = 0; i < 5; i++) ips.push((await create(`s${i}`)).spec!.clusterIP);
  expect(ips.sort()).toEqual(['10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6']);
  const full = await refusal(create('s5'));
  expect(full).toBe('InternalError: failed to allocate a serviceIP: range is full');
  const s2 = (await objects.get(SERVICES, 'default', 's2')) as Service;
  expect(s2.spec!.clusterIPs).toEqual([s2.spec!.clusterIP]);
  await objects.delete(SERVICES, 'default', 's2', { dryRun: false });
  expect((await create('again')).spec!.clusterIP).toBe(s2.spec!.clusterIP);
});

test('a requested ClusterIP must be free and in range; None allocates nothing', async () => {
  expect((await create('fixed', { clusterIP: '10.96.0.5' })).spec!.clusterIP).toBe('10.96.0.5');
  expect(await refusal(create('clash', { clusterIP: '10.96.0.5' }))).toBe(
    'Invalid: Service "clash" is invalid: spec.clusterIP: Invalid value: "10.96.0.5": provided IP is already allocated',
  );
  expect(await refusal(create('far', { clusterIP: '10.97.0.5' }))).toBe(
    'Invalid: Service "far" is invalid: spec.clusterIP: Invalid value: "10.97.0.5": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/29',
  );
  expect(await refusal(create('broadcast', { clusterIP: '10.96.0.7' }))).toMatch(/not in the valid range/);
  const headless = await create('headless', { clusterIP: 'None' });
  expect(headless.spec!.clusterIPs).toEqual(['None']);
  expect(await allocated(IPS)).toEqual(['10.96.0.5']);
  // A create that loses on the object's name gives back what it took.
  expect(await refusal(create('fixed', { clusterIP: '10.96.0.6' }))).toMatch(/^AlreadyExists/);
  expect(await allocated(IPS)).toEqual(['10.96.0.5']);
});

test('a dry run takes nothing', async () => {
  const dry = (await objects.create(SERVICES, 'default', service('dry', { type: 'NodePort' }), { ...write, dryRun: true })).object as Service;
  expect(dry.spec!.clusterIP).toMatch(/^10\.96\.0\.[2-6]$/);
  expect(dry.spec!.ports![0].nodePort).toBeGreaterThanOrEqual(30000);
  expect(await allocated(IPS)).toEqual([]);
  expect(await allocated(PORTS)).toEqual([]);
});

test('NodePorts: allocated, requested, refused when taken or out of range, released when the type goes back', async () => {
  const web = await create('web', { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 30001 }] });
  const ports = web.spec!.ports!.map((p) => p.nodePort);
  expect(ports[1]).toBe(30001);
  expect([30000, 30002]).toContain(ports[0]);
  expect(await refusal(create('clash', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }))).toBe(
    'Invalid: Service "clash" is invalid: spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated',
  );
  expect(await refusal(create('far', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }))).toMatch(
    /spec.ports\[0\].nodePort: Invalid value: 31000: provided port is not in the valid range. The range of valid ports is 30000-30002/,
  );
  // The refused creates gave back the ClusterIPs they took.
  expect(await allocated(IPS)).toEqual([web.spec!.clusterIP]);

  // A client that leaves out the server's allocations (kubectl replace of the manifest) keeps them.
  const replaced = (await objects.update(SERVICES, 'default', 'web', service('web', { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] }), write)).object as Service;
  expect(replaced.spec!.clusterIP).toBe(web.spec!.clusterIP);
  expect(replaced.spec!.ports!.map((p) => p.nodePort)).toEqual(ports);

  const back = (await objects.patch(SERVICES, 'default', 'web', 'merge', { spec: { type: 'ClusterIP' } }, write)).object as Service;
  expect(back.spec!.ports!.map((p) => p.nodePort)).toEqual([undefined, undefined]);
  expect(await allocated(PORTS)).toEqual([]);
  const again = (await objects.patch(SERVICES, 'default', 'web', 'merge', { spec: { type: 'NodePort' } }, write)).object as Service;
  expect(again.spec!.ports!.every((p) => p.nodePort! >= 30000 && p.nodePort! <= 30002)).toBe(true);
  expect(await allocated(PORTS)).toHaveLength(2);
});

test('a LoadBalancer gets node ports unless allocateLoadBalancerNodePorts is false, then only those it asks for', async () => {
  const lb = await create('lb', { type: 'LoadBalancer', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] });
  expect(lb.spec).toMatchObject({ allocateLoadBalancerNodePorts: true, externalTrafficPolicy: 'Cluster' });
  expect(lb.spec!.ports!.every((p) => p.nodePort! >= 30000 && p.nodePort! <= 30002)).toBe(true);
  const free = [30000, 30001, 30002].find((port) => !lb.spec!.ports!.some((p) => p.nodePort === port))!;
  const bare = await create('bare', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: free }] });
  expect(bare.spec!.ports!.map((p) => p.nodePort)).toEqual([undefined, free]);
  expect((await allocated(PORTS)).sort()).toEqual(['30000', '30001', '30002']);
});

test('a changed ClusterIP is refused and the old one stays allocated', async () => {
  const web = await create('web', { clusterIP: '10.96.0.2' });
  const moved = await refusal(objects.patch(SERVICES, 'default', 'web', 'merge', { spec: { clusterIP: '10.96.0.6', clusterIPs: ['10.96.0.6'] } }, write));
  expect(moved).toMatch(/spec.clusterIP: Invalid value: "10.96.0.6": field is immutable/);
  expect(await allocated(IPS)).toEqual([web.spec!.clusterIP]);
});

test('every way a Service leaves the store releases what it held', async () => {
  await objects.create(NAMESPACES, undefined, { metadata: { name: 'team' } }, write);
  await create('plain', { type: 'NodePort' });
  await create('finalized', { type: 'NodePort' });
  await objects.patch(SERVICES, 'default', 'finalized', 'merge', { metadata: { finalizers: ['example.com/hold'] } }, write);
  await create('c1', {}, 'team');
  await create('c2', {}, 'team');
  expect(await allocated(IPS)).toHaveLength(4);

  await objects.delete(SERVICES, 'default', 'plain', { dryRun: false });
  await objects.delete(SERVICES, 'default', 'finalized', { dryRun: false });
  expect(await allocated(IPS)).toHaveLength(3);
  await objects.patch(SERVICES, 'default', 'finalized', 'merge', { metadata: { finalizers: null } }, write);
  await objects.deleteCollection(SERVICES, 'team', ObjectFilter.everything, { dryRun: false });
  expect(await allocated(IPS)).toEqual([]);
  expect(await allocated(PORTS)).toEqual([]);
});

const stamp = (ago: number) => JSON.stringify({ uid: 'gone', allocatedAt: new Date(Date.now() - ago).toISOString() });

test('repair frees a leak that two passes in a row find unheld and past the grace period, and records held values without a key', async () => {
  const kept = await create('kept', { type: 'NodePort', clusterIP: '10.96.0.2', ports: [{ port: 80, nodePort: 30000 }] });
  await store.create(`${IPS}10.96.0.6`, stamp(10 * 60_000));
  await store.create(`${IPS}10.96.0.5`, stamp(0));
  await store.create(`${PORTS}30002`, stamp(10 * 60_000));
  await store.delete(`${IPS}${kept.spec!.clusterIP}`);

  await allocator.repair();
  // The first pass only suspects the leaks: a create in flight would have written its Service by the next.
  expect(await allocated(IPS)).toEqual(['10.96.0.2', '10.96.0.5', '10.96.0.6']);
  expect(JSON.parse((await store.get(`${IPS}${kept.spec!.clusterIP}`))!.value).uid).toBe(kept.metadata.uid);
  // Freed and allocated again between passes (another apiserver): a new key, suspected afresh.
  await store.delete(`${PORTS}30002`);
  await store.create(`${PORTS}30002`, stamp(10 * 60_000));

  await allocator.repair();
  expect(await allocated(IPS)).toEqual(['10.96.0.2', '10.96.0.5']);
  expect(await allocated(PORTS)).toEqual(['30000', '30002']);
  await allocator.repair();
  expect(await allocated(PORTS)).toEqual(['30000']);
  // Young allocations stay, however many passes see them.
  await allocator.repair();
  expect(await allocated(IPS)).toEqual(['10.96.0.2', '10.96.0.5']);
});

test('a create in flight while a pass runs keeps what it allocated', async () => {
  const createInStore = store.create.bind(store);
  let resume!: () => void;
  const resumed = new Promise<void>((resolve) => (resume = resolve));
  let reachedStore!: () => void;
  const inFlight = new Promise<void>((resolve) => (reachedStore = resolve));
  jest.spyOn(store, 'create').mockImplementation(async (key, value) => {
    if (key.startsWith('/registry/core/services/')) {
      reachedStore();
      await resumed;
    }
    return createInStore(key, value);
  });
  const creating = create('slow', { type: 'NodePort' });
  await inFlight;
  // Passes an hour from now: the age floor does not protect the allocation, only the pass rule does.
  const later = Date.now() + 3_600_000;
  await allocator.repair(later);
  resume();
  const slow = await creating;
  await allocator.repair(later);
  await allocator.repair(later);
  expect(await allocated(IPS)).toEqual([slow.spec!.clusterIP]);
  expect(await allocated(PORTS)).toEqual([String(slow.spec!.ports![0].nodePort)]);
});

test('apiservers repairing one store free a leak once, and never a value allocated again meanwhile', async () => {
  const other = new ServiceAllocator(store, { serviceCidr: '10.96.0.0/29', nodePortRange: { min: 30000, max: 30002 } }, logger);
  await store.create(`${IPS}10.96.0.6`, stamp(10 * 60_000));
  await Promise.all([allocator.repair(), other.repair()]);
  // Both suspect it and both free it: one delete wins, the other finds it gone.
  await Promise.all([allocator.repair(), other.repair()]);
  expect(await allocated(IPS)).toEqual([]);
  await Promise.all([allocator.repair(), other.repair()]);
  // Allocated again for a create in flight: whatever a pass suspected before, this key is new.
  await store.create(`${IPS}10.96.0.6`, stamp(10 * 60_000));
  await allocator.repair();
  await store.delete(`${IPS}10.96.0.6`);
  const taken = await store.create(`${IPS}10.96.0.6`, stamp(10 * 60_000));
  await allocator.repair();
  expect((await store.get(`${IPS}10.96.0.6`))?.modRevision).toBe(taken.modRevision);
});

test('repairs run periodically until stopped', async () => {
  await store.create(`${IPS}10.96.0.6`, stamp(10 * 60_000));
  const repairs = allocator.startRepairs(10);
  try {
    for (let i = 0; i < 500 && (await allocated(IPS)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await allocated(IPS)).toEqual([]);
  } finally {
    await repairs.stop();
  }
  const repair = jest.spyOn(allocator, 'repair');
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(repair).not.toHaveBeenCalled();
});

test('allocations are distinct under concurrent creates through several apiservers on one store', async () => {
  const ranges = { serviceCidr: '10.96.0.0/24', nodePortRange: { min: 30000, max: 30099 } };
  setUp(ranges.serviceCidr, ranges.nodePortRange);
  await objects.ensureNamespace('default');
  const servers = [objects, new ObjectService(store, new ServiceAllocator(store, ranges, logger))];
  const made = await Promise.all(
    Array.from({ length: 60 }, (_, i) => servers[i % 2].create(SERVICES, 'default', service(`s${i}`, { type: i % 3 ? 'ClusterIP' : 'NodePort' }), write)),
  );
  const ips = made.map((r) => (r.object as Service).spec!.clusterIP);
  expect(new Set(ips).size).toBe(60);
  expect(await allocated(IPS)).toEqual([...ips].sort());
  const ports = made.flatMap((r) => (r.object as Service).spec!.ports!.map((p) => p.nodePort).filter((p) => p !== undefined));
  expect(ports).toHaveLength(20);
  expect(new Set(ports).size).toBe(20);
});

test('the kubernetes Service takes the first address and is kept on later starts', async () => {
  const first = { address: '192.0.2.10', port: 6443 };
  await ensureApiService(objects, allocator, first);
  await ensureApiService(objects, allocator, first);
  const api = (await objects.get(SERVICES, 'default', 'kubernetes')) as Service;
  expect(api.spec!.clusterIP).toBe(apiServiceIP(allocator.serviceCidr));
  expect(api.spec!.clusterIP).toBe('10.96.0.1');
  expect(api.spec!.ports).toEqual([expect.objectContaining({ name: 'https', port: 443, targetPort: 6443 })]);
  const endpoints = await objects.list(RESOURCES.find((r) => r.kind === 'Endpoints')!, 'default', ObjectFilter.everything);
  expect(endpoints.items.map((e) => (e as { subsets?: unknown }).subsets)).toEqual([[{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }]]);
});

test('node port range flag syntax', () => {
  expect(parseNodePortRange('30000-32767')).toEqual({ min: 30000, max: 32767 });
  expect(() => parseNodePortRange('32767-30000')).toThrow(/MIN-MAX/);
  expect(() => parseNodePortRange('30000')).toThrow(/MIN-MAX/);
});
