import { RESOURCES, type Endpoints, type Lease } from '@berth/api';
import { MemoryStore } from '@berth/store';
import pino from 'pino';
import { ApiServerEndpoints } from './apiserver-endpoints';
import { ObjectFilter } from './filter';
import { ObjectService } from './objects';
import { ensureApiService, ServiceAllocator } from './service-allocation';

const ENDPOINTS = RESOURCES.find((r) => r.group === '' && r.kind === 'Endpoints')!;
const LEASES = RESOURCES.find((r) => r.kind === 'Lease')!;
const logger = pino({ level: 'silent' });
const write = { dryRun: false, fieldManager: 'test', fieldValidation: 'Strict' as const };

describe('ApiServerEndpoints: every live server in the kubernetes Endpoints', () => {
  let store: MemoryStore;
  let objects: ObjectService;
  let now = Date.parse('2026-12-07T12:00:00Z');
  const clock = () => now;
  const subsets = async () => ((await objects.get(ENDPOINTS, 'default', 'kubernetes')) as Endpoints).subsets;
  const server = (address: string, port: number) => new ApiServerEndpoints({ objects, address, port, logger, now: clock, leaseDurationSeconds: 30, renewIntervalMs: 60_000 });

  beforeEach(async () => {
    store = new MemoryStore();
    const allocator = new ServiceAllocator(store, { serviceCidr: '10.96.0.0/24', nodePortRange: { min: 30000, max: 30010 } }, logger);
    objects = new ObjectService(store, allocator);
    for (const ns of ['default', 'kube-system']) await objects.ensureNamespace(ns);
    await ensureApiService(objects, allocator, { address: '192.0.2.1', port: 6443 });
  });
  afterEach(() => store.close());

  it('lists each server renewing its Lease, grouped by port, and drops one that stopped renewing or stopped', async () => {
    const told: string[][] = [];
    const a = new ApiServerEndpoints({ objects, address: '192.0.2.1', port: 6443, logger, now: clock, leaseDurationSeconds: 30, onOtherServers: (s) => told.push(s) });
    const b = server('192.0.2.2', 6443);
    const c = server('192.0.2.3', 7443);
    await a.reconcile();
    await b.reconcile();
    await c.reconcile();
    expect(await subsets()).toEqual([
      { addresses: [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
      { addresses: [{ ip: '192.0.2.3' }], ports: [{ name: 'https', port: 7443, protocol: 'TCP' }] },
    ]);
    const leases = (await objects.list(LEASES, 'kube-system', ObjectFilter.everything)).items as Lease[];
    expect(leases.map((l) => l.spec?.holderIdentity).sort()).toEqual(['192.0.2.1:6443', '192.0.2.2:6443', '192.0.2.3:7443']);
    expect(leases.every((l) => /^apiserver-[0-9a-f]{16}$/.test(l.metadata.name!))).toBe(true);

    // b is killed (renews no more); after the lease duration the others' next pass drops it.
    now += 20_000;
    await a.reconcile();
    expect((await subsets())!.flatMap((s) => s.addresses!.map((x) => x.ip))).toContain('192.0.2.2');
    now += 15_000;
    await c.reconcile();
    await a.reconcile();
    expect(await subsets()).toEqual([
      { addresses: [{ ip: '192.0.2.1' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
      { addresses: [{ ip: '192.0.2.3' }], ports: [{ name: 'https', port: 7443, protocol: 'TCP' }] },
    ]);

    // a was told the others as they changed: none, then b and c, then c alone.
    expect(told).toEqual([[], ['https://192.0.2.2:6443', 'https://192.0.2.3:7443'], ['https://192.0.2.3:7443']]);

    // c stops: it drops itself at once.
    await c.stop();
    expect(await subsets()).toEqual([{ addresses: [{ ip: '192.0.2.1' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }]);
  });

  it('ignores a Lease with the label whose holder is not an IP and a port', async () => {
    await objects.create(
      LEASES,
      'kube-system',
      {
        metadata: { name: 'apiserver-forged', labels: { 'apiserver.kubernetes.io/identity': 'kube-apiserver' } },
        spec: { holderIdentity: 'evil.example:443/x', leaseDurationSeconds: 3600, renewTime: new Date(now).toISOString() },
      },
      write,
    );
    await server('192.0.2.1', 6443).reconcile();
    expect(await subsets()).toEqual([{ addresses: [{ ip: '192.0.2.1' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }]);
  });
});
