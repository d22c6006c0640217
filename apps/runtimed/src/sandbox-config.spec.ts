import { BerthError } from '@berth/errors';
import { hostNetworkHostsFile, podHostsFile, resolvConf, validateSandboxConfig } from './sandbox-config';

function causesOf(work: () => unknown): Array<{ field?: string; reason: string }> {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).reason).toBe('Invalid');
    return (err as BerthError).details.causes ?? [];
  }
  throw new Error('expected an Invalid error');
}

describe('validateSandboxConfig', () => {
  it('fills the defaults: the pod network, tcp, the name as hostname', () => {
    expect(validateSandboxConfig({ name: 'web', portMappings: [{ containerPort: 80, hostPort: 8080 }] })).toEqual({
      name: 'web',
      hostname: 'web',
      labels: {},
      network: '',
      portMappings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080, hostIp: '' }],
      dns: undefined,
      hostAliases: [],
      hostnameFqdn: '',
    });
  });

  it('refuses bad ports, protocols, addresses and duplicates with one cause each', () => {
    const causes = causesOf(() =>
      validateSandboxConfig({
        name: 'web',
        portMappings: [
          { containerPort: 0, hostPort: 8080 },
          { containerPort: 80, hostPort: 70000 },
          { containerPort: 80, hostPort: 8081, protocol: 'icmp' as 'tcp' },
          { containerPort: 80, hostPort: 8082, hostIp: 'localhost' },
          { containerPort: 80, hostPort: 8083 },
          { containerPort: 81, hostPort: 8083, protocol: 'tcp' },
          { containerPort: 81, hostPort: 8083, protocol: 'udp' },
        ],
      }),
    );
    expect(causes.map((c) => [c.field, c.reason])).toEqual([
      ['portMappings[0].containerPort', 'FieldValueInvalid'],
      ['portMappings[1].hostPort', 'FieldValueInvalid'],
      ['portMappings[2].protocol', 'FieldValueNotSupported'],
      ['portMappings[3].hostIp', 'FieldValueInvalid'],
      ['portMappings[5].hostPort', 'FieldValueDuplicate'],
    ]);
  });

  it('allows a host-network hostPort only when it equals the containerPort, as Kubernetes', () => {
    expect(validateSandboxConfig({ name: 'h', network: 'host', portMappings: [{ containerPort: 9000, hostPort: 9000 }] }).network).toBe('host');
    expect(causesOf(() => validateSandboxConfig({ name: 'h', network: 'host', portMappings: [{ containerPort: 80, hostPort: 8080 }] }))).toEqual([
      expect.objectContaining({ field: 'portMappings[0].hostPort' }),
    ]);
  });

  it('refuses an unknown network, a bad hostname, aliases and DNS settings', () => {
    const causes = causesOf(() =>
      validateSandboxConfig({
        name: 'x',
        hostname: 'Not_A_Label',
        hostnameFqdn: 'a..b',
        hostAliases: [{ ip: 'nope', hostnames: ['ok.example', 'bad name'] }],
        dns: { servers: ['10.0.0.1', 'dns'], searches: ['ns.svc.cluster.local', 'bad search'], options: ['ndots:5', 'bad option'] },
      }),
    );
    expect(causes.map((c) => c.field)).toEqual(['hostname', 'hostnameFqdn', 'hostAliases[0].ip', 'hostAliases[0].hostnames[1]', 'dns.servers[1]', 'dns.searches[1]', 'dns.options[1]']);
    expect(causesOf(() => validateSandboxConfig({ name: 'x', network: 'bridge' as 'host' }))).toEqual([expect.objectContaining({ field: 'network', reason: 'FieldValueNotSupported' })]);
    expect(causesOf(() => validateSandboxConfig({}))).toEqual([expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'hostname' })]);
  });
});

describe('sandbox files', () => {
  it('writes the kubelet-style hosts file with the fqdn and the aliases', () => {
    const text = podHostsFile({ ip: '10.88.0.5', hostname: 'web-0', hostnameFqdn: 'web-0.web.default.svc.cluster.local', hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }] });
    const lines = text.split('\n');
    expect(lines).toContain('127.0.0.1\tlocalhost');
    expect(lines).toContain('::1\tlocalhost ip6-localhost ip6-loopback');
    expect(lines).toContain('10.88.0.5\tweb-0.web.default.svc.cluster.local\tweb-0');
    expect(text.endsWith('# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n')).toBe(true);
    expect(podHostsFile({ ip: '10.88.0.6', hostname: 'a', hostnameFqdn: '', hostAliases: [] })).toMatch(/\n10\.88\.0\.6\ta\n$/);
  });

  it('gives a host-network sandbox the node hosts file plus the aliases', () => {
    expect(hostNetworkHostsFile('127.0.0.1 localhost', [{ ip: '10.1.2.3', hostnames: ['foo'] }])).toBe('127.0.0.1 localhost\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo\n');
    expect(hostNetworkHostsFile('127.0.0.1 localhost\n', [])).toBe('127.0.0.1 localhost\n');
  });

  it('writes resolv.conf from the DNS config, or copies the node one without servers', () => {
    expect(resolvConf({ servers: ['169.254.20.10'], searches: ['ns.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] }, 'nameserver 1.1.1.1\n')).toBe(
      'nameserver 169.254.20.10\nsearch ns.svc.cluster.local svc.cluster.local\noptions ndots:5\n',
    );
    expect(resolvConf(undefined, 'nameserver 1.1.1.1\n')).toBe('nameserver 1.1.1.1\n');
    expect(resolvConf({ servers: [], searches: ['x'] }, 'nameserver 1.1.1.1\n')).toBe('nameserver 1.1.1.1\n');
  });
});
