import type { Pod, PodSpec } from '@berth/api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultResolvConfPath, parseResolvConf, podDnsConfig, podSandboxConfig } from './sandbox-config';

const cluster = { clusterDNS: '169.254.20.10', clusterDomain: 'cluster.local' };
const NODE_RESOLV_CONF = '# the node\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions edns0 ndots:2\n';
const node = () => parseResolvConf(NODE_RESOLV_CONF);

function pod(spec: Partial<PodSpec> = {}, name = 'web-0'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', uid: '0123456789abcdef' },
    spec: { containers: [{ name: 'main', image: 'busybox' }], ...spec },
  };
}

describe('parseResolvConf', () => {
  it('reads nameservers, the last search or domain line, and options, ignoring comments', () => {
    expect(node()).toEqual({ servers: ['192.0.2.53', '192.0.2.54'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'ndots:2'] });
    expect(parseResolvConf('search a.example\ndomain b.example ; old\nnameserver 10.0.0.1 # main\n')).toEqual({ servers: ['10.0.0.1'], searches: ['b.example'], options: [] });
  });
});

describe('podDnsConfig', () => {
  const clusterSearches = ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

  it('ClusterFirst (the default): the cluster DNS, the namespace search path then the node\'s, ndots:5', () => {
    const expected = { servers: ['169.254.20.10'], searches: [...clusterSearches, 'corp.example', 'lab.example'], options: ['ndots:5'] };
    expect(podDnsConfig(pod(), cluster, node)).toEqual(expected);
    expect(podDnsConfig(pod({ dnsPolicy: 'ClusterFirst' }), cluster, node)).toEqual(expected);
    expect(podDnsConfig(pod(), { clusterDNS: '10.96.0.10', clusterDomain: 'berth.test' }, () => ({}))).toEqual({
      servers: ['10.96.0.10'],
      searches: ['shop.svc.berth.test', 'svc.berth.test', 'berth.test'],
      options: ['ndots:5'],
    });
  });

  it('hostNetwork pods resolve as the node does under ClusterFirst, through the cluster under ClusterFirstWithHostNet', () => {
    expect(podDnsConfig(pod({ hostNetwork: true }), cluster, node)).toEqual(node());
    expect(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster, node)?.servers).toEqual(['169.254.20.10']);
  });

  it('Default: the node\'s resolv.conf, with dnsConfig merged in when there is one', () => {
    expect(podDnsConfig(pod({ dnsPolicy: 'Default' }), cluster, node)).toEqual(node());
    // Nothing readable: left to the runtime, which copies its own.
    expect(podDnsConfig(pod({ dnsPolicy: 'Default' }), cluster, () => ({}))).toBeUndefined();
    const dnsConfig = { nameservers: ['192.0.2.99', '192.0.2.53'], searches: ['extra.example'], options: [{ name: 'ndots', value: '3' }, { name: 'rotate' }] };
    expect(podDnsConfig(pod({ dnsPolicy: 'Default', dnsConfig }), cluster, node)).toEqual({
      servers: ['192.0.2.53', '192.0.2.54', '192.0.2.99'],
      searches: ['extra.example', 'corp.example', 'lab.example'],
      options: ['edns0', 'ndots:3', 'rotate'],
    });
  });

  it('None: only spec.dnsConfig', () => {
    expect(podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.example'], options: [{ name: 'timeout', value: '2' }] } }), cluster, node)).toEqual({
      servers: ['1.1.1.1'],
      searches: ['a.example'],
      options: ['timeout:2'],
    });
  });

  it('ClusterFirst with dnsConfig: its nameservers after the cluster DNS (three at most), its searches first, its options replacing those of the same name', () => {
    const dnsConfig = { nameservers: ['192.0.2.1', '192.0.2.2', '192.0.2.3'], searches: ['first.example', 'cluster.local'], options: [{ name: 'ndots', value: '1' }, { name: 'single-request' }] };
    expect(podDnsConfig(pod({ dnsConfig }), cluster, () => ({}))).toEqual({
      servers: ['169.254.20.10', '192.0.2.1', '192.0.2.2'],
      searches: ['first.example', 'cluster.local', 'shop.svc.cluster.local', 'svc.cluster.local'],
      options: ['ndots:1', 'single-request'],
    });
  });
});

describe('podSandboxConfig', () => {
  it('a pod on the pod network: its names, labels, the cluster DNS and no ports', () => {
    expect(podSandboxConfig(pod(), cluster, () => ({}))).toEqual({
      name: 'k8s_POD_web-0_shop_01234567',
      hostname: 'web-0',
      labels: { 'berth.io/pod-uid': '0123456789abcdef', 'berth.io/pod-namespace': 'shop', 'berth.io/pod-name': 'web-0' },
      network: '',
      dns: { servers: ['169.254.20.10'], searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
    });
  });

  it('publishes every hostPort of the containers, protocol lowercased, with its host IP, once', () => {
    const spec: Partial<PodSpec> = {
      initContainers: [{ name: 'init', image: 'busybox', ports: [{ containerPort: 1, hostPort: 1 }] }],
      containers: [
        { name: 'web', image: 'busybox', ports: [{ name: 'http', containerPort: 80, hostPort: 8080 }, { containerPort: 9090 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' }] },
        { name: 'side', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }, { containerPort: 7000, hostPort: 7000, protocol: 'SCTP' }] },
      ],
    };
    expect(podSandboxConfig(pod(spec), cluster, () => ({})).portMappings).toEqual([
      { protocol: 'tcp', containerPort: 80, hostPort: 8080 },
      { protocol: 'udp', containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1' },
      { protocol: 'sctp', containerPort: 7000, hostPort: 7000 },
    ]);
  });

  it('a hostNetwork pod: the host network, its ports as they are, the node\'s resolv.conf', () => {
    const config = podSandboxConfig(pod({ hostNetwork: true, containers: [{ name: 'web', image: 'busybox', ports: [{ containerPort: 80, hostPort: 80 }] }] }), cluster, node);
    expect(config).toMatchObject({ network: 'host', portMappings: [{ protocol: 'tcp', containerPort: 80, hostPort: 80 }] });
    expect(config.dns).toEqual(node());
  });

  it('hostname and subdomain give the pod its fully qualified name; hostAliases pass through', () => {
    const config = podSandboxConfig(
      pod({ hostname: 'db-1', subdomain: 'dbs', hostAliases: [{ ip: '192.0.2.7', hostnames: ['foo.local', 'bar.local'] }, { ip: '192.0.2.8' }] }),
      { clusterDNS: '10.96.0.10', clusterDomain: 'berth.test' },
      () => ({}),
    );
    expect(config).toMatchObject({ hostname: 'db-1', hostnameFqdn: 'db-1.dbs.shop.svc.berth.test', hostAliases: [{ ip: '192.0.2.7', hostnames: ['foo.local', 'bar.local'] }] });
    // Without a subdomain there is no fully qualified name; the pod's name is its hostname.
    const plain = podSandboxConfig(pod({}, 'api-7'), cluster, () => ({}));
    expect(plain.hostname).toBe('api-7');
    expect(plain.hostnameFqdn).toBeUndefined();
    expect(podSandboxConfig(pod({ subdomain: 'apis' }, 'api-7'), cluster, () => ({})).hostnameFqdn).toBe('api-7.apis.shop.svc.cluster.local');
  });

  it('makes the fully qualified name the hostname with setHostnameAsFQDN, refusing one longer than 64 characters as kubelet', () => {
    expect(podSandboxConfig(pod({ subdomain: 'apis', setHostnameAsFQDN: true }, 'api-7'), cluster, () => ({})).hostname).toBe('api-7.apis.shop.svc.cluster.local');
    // No subdomain, no fully qualified name: the hostname stays the pod's.
    expect(podSandboxConfig(pod({ setHostnameAsFQDN: true }, 'api-7'), cluster, () => ({})).hostname).toBe('api-7');
    expect(() => podSandboxConfig(pod({ subdomain: 's'.repeat(40), setHostnameAsFQDN: true }, 'api-7'), cluster, () => ({}))).toThrow(/FQDN api-7\.s+\.shop\.svc\.cluster\.local is too long \(64 characters is the max, 69 characters requested\)/);
  });
});

describe('defaultResolvConfPath', () => {
  let dir: string;
  const file = (name: string, text?: string) => {
    const path = join(dir, name);
    if (text !== undefined) writeFileSync(path, text);
    return path;
  };
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-resolv-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps /etc/resolv.conf when it names a resolver a pod can reach', () => {
    const etc = file('etc', 'nameserver 192.0.2.53\nnameserver 127.0.0.53\n');
    expect(defaultResolvConfPath(etc, file('upstream', 'nameserver 192.0.2.1\n'))).toBe(etc);
  });

  it("takes systemd-resolved's upstream list when /etc/resolv.conf names only its loopback stub", () => {
    const etc = file('etc', 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n');
    const upstream = file('upstream', 'nameserver 192.0.2.1\nnameserver 192.0.2.2\n');
    expect(defaultResolvConfPath(etc, upstream)).toBe(upstream);
  });

  it('keeps /etc/resolv.conf when there is no usable upstream list', () => {
    const etc = file('etc', 'nameserver 127.0.0.53\n');
    expect(defaultResolvConfPath(etc, file('missing'))).toBe(etc);
    expect(defaultResolvConfPath(etc, file('loopback-too', 'nameserver 127.0.0.1\n'))).toBe(etc);
    expect(defaultResolvConfPath(file('absent'), file('upstream', 'nameserver 192.0.2.1\n'))).toBe(join(dir, 'absent'));
  });
});
