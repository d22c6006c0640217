import type { Endpoints, EndpointAddress, KubeObject, Pod, Service, ServiceSpec } from '@berth/api';
import { IndexedCache, objectKey } from '@berth/controller';
import { ClusterView } from './cluster-view';
import { type DnsRecord, Rcode, RecordClass, RecordType } from './message';
import { ClusterResolver, type Resolution } from './resolver';

const DOMAIN = 'cluster.local';
const NAMESERVER = '169.254.20.10';

/** The cluster the resolver sees, as plain object caches the test fills. */
class Model {
  readonly services = new IndexedCache<Service>();
  readonly endpoints = new IndexedCache<Endpoints>();
  readonly pods = new IndexedCache<Pod>();
  synced = true;
  readonly resolver = new ClusterResolver(
    new ClusterView({ services: this.services, endpoints: this.endpoints, pods: this.pods }, () => this.synced),
    { clusterDomain: DOMAIN, nameserverAddress: NAMESERVER, serial: 7 },
  );

  private put<T extends KubeObject>(cache: IndexedCache<T>, obj: T): void {
    cache.set(objectKey(obj), obj);
  }

  service(namespace: string, name: string, spec: ServiceSpec): void {
    this.put(this.services, { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec });
  }

  endpointsOf(namespace: string, name: string, ready: EndpointAddress[], notReady: EndpointAddress[] = [], ports = [{ name: 'http', port: 8080, protocol: 'TCP' as const }]): void {
    this.put(this.endpoints, { apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace, name }, subsets: [{ addresses: ready, notReadyAddresses: notReady, ports }] });
  }

  pod(namespace: string, name: string, ip: string, hostNetwork = false): void {
    this.put(this.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name }, spec: { containers: [], hostNetwork }, status: { phase: 'Running', podIP: ip } });
  }

  resolve(name: string, type: number = RecordType.A, clientIP = '10.88.0.99'): Resolution {
    return this.resolver.resolve({ name, type, class: RecordClass.IN }, clientIP);
  }
}

const data = (records: DnsRecord[]) => records.map((r) => ({ name: r.name, type: r.type, ttl: r.ttl, ...r.data }));
const addresses = (resolution: Resolution) => (resolution.action === 'answer' ? resolution.answers.map((r) => (r.data.kind === 'address' ? r.data.address : r.data)) : resolution);

function expectNegative(resolution: Resolution, rcode: number): void {
  expect(resolution).toMatchObject({ action: 'answer', rcode, answers: [] });
  if (resolution.action !== 'answer') return;
  expect(data(resolution.authority)).toEqual([
    { name: DOMAIN, type: RecordType.SOA, ttl: 5, kind: 'soa', mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 7, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 },
  ]);
}

describe('cluster DNS resolver', () => {
  let model: Model;

  beforeEach(() => {
    model = new Model();
    model.service('default', 'web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    model.service('shop', 'db', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] });
    model.endpointsOf('shop', 'db', [{ ip: '10.88.1.5', hostname: 'db-0' }, { ip: '10.88.2.6' }], [{ ip: '10.88.3.7' }]);
    model.service('shop', 'ext', { type: 'ExternalName', externalName: 'Example.COM.' });
    model.pod('shop', 'client', '10.88.0.42');
    model.pod('kube-system', 'host-agent', '10.200.0.2', true);
  });

  it('answers a Service name with its ClusterIP, under the name as asked (TTL 5)', () => {
    const resolution = model.resolve('Web.Default.svc.Cluster.Local');
    expect(resolution).toMatchObject({ action: 'answer', rcode: Rcode.NOERROR, authority: [] });
    expect(resolution.action === 'answer' && data(resolution.answers)).toEqual([{ name: 'Web.Default.svc.Cluster.Local', type: RecordType.A, ttl: 5, kind: 'address', address: '10.96.0.20' }]);
  });

  it('answers a headless Service with every ready endpoint address, and names each endpoint', () => {
    expect(addresses(model.resolve('db.shop.svc.cluster.local'))).toEqual(['10.88.1.5', '10.88.2.6']);
    expect(addresses(model.resolve('db-0.db.shop.svc.cluster.local'))).toEqual(['10.88.1.5']);
    expect(addresses(model.resolve('10-88-2-6.db.shop.svc.cluster.local'))).toEqual(['10.88.2.6']);
    expectNegative(model.resolve('10-88-3-7.db.shop.svc.cluster.local'), Rcode.NXDOMAIN);
    expectNegative(model.resolve('db-0.web.default.svc.cluster.local'), Rcode.NXDOMAIN);
  });

  it('gives a headless Service without ready endpoints an empty answer (the name exists)', () => {
    model.endpointsOf('shop', 'db', [], [{ ip: '10.88.1.5' }]);
    expectNegative(model.resolve('db.shop.svc.cluster.local'), Rcode.NOERROR);
  });

  it('answers an ExternalName Service with a CNAME to be chased', () => {
    const resolution = model.resolve('ext.shop.svc.cluster.local');
    expect(resolution).toMatchObject({ action: 'answer', chase: 'example.com' });
    expect(resolution.action === 'answer' && data(resolution.answers)).toEqual([{ name: 'ext.shop.svc.cluster.local', type: RecordType.CNAME, ttl: 5, kind: 'name', target: 'example.com' }]);
    expect(model.resolve('ext.shop.svc.cluster.local', RecordType.CNAME)).not.toHaveProperty('chase');
  });

  it('answers SRV for named ports: the Service name for a ClusterIP, each endpoint for a headless Service', () => {
    const clusterIP = model.resolve('_http._tcp.web.default.svc.cluster.local', RecordType.SRV);
    expect(clusterIP.action === 'answer' && data(clusterIP.answers)).toEqual([
      { name: '_http._tcp.web.default.svc.cluster.local', type: RecordType.SRV, ttl: 5, kind: 'srv', priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
    ]);
    expect(clusterIP.action === 'answer' && addresses({ ...clusterIP, answers: clusterIP.additional })).toEqual(['10.96.0.20']);
    const byName = model.resolve('web.default.svc.cluster.local', RecordType.SRV);
    expect(byName.action === 'answer' && byName.answers.map((r) => (r.data.kind === 'srv' ? r.data.port : undefined))).toEqual([80, 53]);
    expectNegative(model.resolve('_http._udp.web.default.svc.cluster.local', RecordType.SRV), Rcode.NXDOMAIN);
    expectNegative(model.resolve('_http._tcp.web.default.svc.cluster.local', RecordType.A), Rcode.NOERROR);

    const headless = model.resolve('_http._tcp.db.shop.svc.cluster.local', RecordType.SRV);
    expect(headless.action === 'answer' && headless.answers.map((r) => r.data)).toEqual([
      { kind: 'srv', priority: 0, weight: 100, port: 8080, target: 'db-0.db.shop.svc.cluster.local' },
      { kind: 'srv', priority: 0, weight: 100, port: 8080, target: '10-88-2-6.db.shop.svc.cluster.local' },
    ]);
    expect(headless.action === 'answer' && data(headless.additional).map((r) => [r.name, (r as { address?: string }).address])).toEqual([
      ['db-0.db.shop.svc.cluster.local', '10.88.1.5'],
      ['10-88-2-6.db.shop.svc.cluster.local', '10.88.2.6'],
    ]);
  });

  it('says NXDOMAIN with the SOA for unknown names in the domain, and NODATA for known names without the type', () => {
    expectNegative(model.resolve('nope.default.svc.cluster.local'), Rcode.NXDOMAIN);
    expectNegative(model.resolve('web.nowhere.svc.cluster.local'), Rcode.NXDOMAIN);
    expectNegative(model.resolve('a.b.c.web.default.svc.cluster.local'), Rcode.NXDOMAIN);
    expectNegative(model.resolve('something.cluster.local'), Rcode.NXDOMAIN);
    expectNegative(model.resolve('web.default.svc.cluster.local', RecordType.AAAA), Rcode.NOERROR);
    expectNegative(model.resolve('web.default.svc.cluster.local', RecordType.TXT), Rcode.NOERROR);
    expectNegative(model.resolve('default.svc.cluster.local'), Rcode.NOERROR);
    expectNegative(model.resolve('svc.cluster.local'), Rcode.NOERROR);
  });

  it('answers the zone apex SOA and NS, and the nameserver name with its address', () => {
    expect(model.resolve('cluster.local', RecordType.SOA)).toMatchObject({ rcode: Rcode.NOERROR, answers: [{ type: RecordType.SOA }] });
    expect(addresses(model.resolve('cluster.local', RecordType.NS))).toEqual([{ kind: 'name', target: 'ns.dns.cluster.local' }]);
    expect(addresses(model.resolve('ns.dns.cluster.local'))).toEqual([NAMESERVER]);
  });

  it('resolves a single label in the asking pod\'s namespace, `default` for an unknown client', () => {
    expect(addresses(model.resolve('db', RecordType.A, '10.88.0.42'))).toEqual(['10.88.1.5', '10.88.2.6']);
    const answer = model.resolve('web', RecordType.A, '10.1.2.3');
    expect(answer.action === 'answer' && answer.answers[0].name).toBe('web');
    expect(addresses(answer)).toEqual(['10.96.0.20']);
    expect(model.resolve('web', RecordType.A, '10.88.0.42')).toEqual({ action: 'forward' });
    expect(model.resolve('localhost')).toEqual({ action: 'forward' });
    // A host-network pod's address says nothing about the namespace.
    expect(addresses(model.resolve('web', RecordType.A, '10.200.0.2'))).toEqual(['10.96.0.20']);
  });

  it('resolves NAME.NS when that Service exists, and forwards other two-label names', () => {
    expect(addresses(model.resolve('db.shop'))).toEqual(['10.88.1.5', '10.88.2.6']);
    expectNegative(model.resolve('web.default', RecordType.AAAA), Rcode.NOERROR);
    expect(model.resolve('example.com')).toEqual({ action: 'forward' });
    expect(model.resolve('www.example.com')).toEqual({ action: 'forward' });
  });

  it('answers pod names from their dashed address', () => {
    expect(addresses(model.resolve('10-88-0-42.shop.pod.cluster.local'))).toEqual(['10.88.0.42']);
    expectNegative(model.resolve('10-88-0-420.shop.pod.cluster.local'), Rcode.NXDOMAIN);
  });

  it('answers PTR for ClusterIPs, headless endpoints and this node\'s pods, and forwards other addresses', () => {
    const ptr = (ip: string) => addresses(model.resolve(`${ip.split('.').reverse().join('.')}.in-addr.arpa`, RecordType.PTR));
    expect(ptr('10.96.0.20')).toEqual([{ kind: 'name', target: 'web.default.svc.cluster.local' }]);
    expect(ptr('10.88.1.5')).toEqual([{ kind: 'name', target: 'db-0.db.shop.svc.cluster.local' }]);
    expect(ptr('10.88.0.42')).toEqual([{ kind: 'name', target: '10-88-0-42.shop.pod.cluster.local' }]);
    expect(ptr('8.8.8.8')).toEqual({ action: 'forward' });
  });

  it('says SERVFAIL for cluster and short names until the caches are filled, and still forwards the rest', () => {
    model.synced = false;
    expect(model.resolve('web.default.svc.cluster.local')).toMatchObject({ action: 'answer', rcode: Rcode.SERVFAIL });
    expect(model.resolve('web')).toMatchObject({ action: 'answer', rcode: Rcode.SERVFAIL });
    expect(model.resolve('www.example.com')).toEqual({ action: 'forward' });
  });

  it('follows changes to the caches at once', () => {
    expectNegative(model.resolve('api.default.svc.cluster.local'), Rcode.NXDOMAIN);
    model.service('default', 'api', { clusterIP: '10.96.0.30' });
    expect(addresses(model.resolve('api.default.svc.cluster.local'))).toEqual(['10.96.0.30']);
    model.services.delete('default/api');
    expectNegative(model.resolve('api.default.svc.cluster.local'), Rcode.NXDOMAIN);
  });
});
