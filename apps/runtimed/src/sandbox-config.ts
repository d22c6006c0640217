import { errors, field, FieldCause } from '@berth/errors';
import type { DnsConfig, HostAlias, PodSandboxConfig, PortMapping } from '@berth/runtime-client';
import { isIP } from 'node:net';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
const NETWORKS = ['', 'host'];

/** A sandbox request with every field present (the proto's defaults) and port protocols spelled out. */
export interface SandboxRequest {
  name: string;
  hostname: string;
  labels: Record<string, string>;
  network: '' | 'host';
  portMappings: Array<Required<Pick<PortMapping, 'protocol' | 'containerPort' | 'hostPort'>> & { hostIp: string }>;
  /** Undefined: the node's resolv.conf. */
  dns: DnsConfig | undefined;
  hostAliases: HostAlias[];
  hostnameFqdn: string;
}

function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => label.length <= 63 && LABEL.test(label));
}

/** Fills defaults and checks every field; one Invalid error lists each problem as a field cause. */
export function validateSandboxConfig(config: Partial<PodSandboxConfig>): SandboxRequest {
  const causes: FieldCause[] = [];
  const name = config.name ?? '';
  const network = (config.network ?? '') as SandboxRequest['network'];
  const hostname = config.hostname || name;
  if (!name) causes.push(field.required('name'));
  if (!NETWORKS.includes(network)) causes.push(field.notSupported('network', network, ['', 'host']));
  // A host-network sandbox has the node's hostname; the one asked for does not matter.
  else if (network === '' && (!hostname || hostname.length > 63 || !LABEL.test(hostname))) {
    causes.push(field.invalid('hostname', hostname, 'must be a DNS label of at most 63 characters'));
  }
  const hostnameFqdn = config.hostnameFqdn ?? '';
  if (hostnameFqdn && !isDnsSubdomain(hostnameFqdn)) causes.push(field.invalid('hostnameFqdn', hostnameFqdn, 'must be a DNS name'));

  const portMappings: SandboxRequest['portMappings'] = [];
  const published = new Set<string>();
  (config.portMappings ?? []).forEach((mapping, i) => {
    const path = `portMappings[${i}]`;
    const protocol = mapping.protocol || 'tcp';
    const hostIp = mapping.hostIp ?? '';
    let ok = true;
    for (const key of ['containerPort', 'hostPort'] as const) {
      const port = mapping[key];
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        causes.push(field.invalid(`${path}.${key}`, port, 'must be a port number from 1 to 65535'));
        ok = false;
      }
    }
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
      causes.push(field.notSupported(`${path}.protocol`, protocol, [...PROTOCOLS]));
      ok = false;
    }
    if (hostIp && !isIP(hostIp)) {
      causes.push(field.invalid(`${path}.hostIp`, hostIp, 'must be an IP address'));
      ok = false;
    }
    if (ok && network === 'host' && mapping.hostPort !== mapping.containerPort) {
      causes.push(field.invalid(`${path}.hostPort`, mapping.hostPort, 'must match containerPort when the sandbox uses the host network'));
    }
    const key = `${protocol}/${hostIp}/${mapping.hostPort}`;
    if (ok && published.has(key)) causes.push(field.duplicate(`${path}.hostPort`, mapping.hostPort));
    published.add(key);
    portMappings.push({ protocol: protocol as SandboxRequest['portMappings'][number]['protocol'], containerPort: mapping.containerPort, hostPort: mapping.hostPort, hostIp });
  });

  const hostAliases = (config.hostAliases ?? []).map((alias, i) => {
    if (!isIP(alias.ip ?? '')) causes.push(field.invalid(`hostAliases[${i}].ip`, alias.ip, 'must be an IP address'));
    (alias.hostnames ?? []).forEach((h, j) => !isDnsSubdomain(h) && causes.push(field.invalid(`hostAliases[${i}].hostnames[${j}]`, h, 'must be a DNS name')));
    return { ip: alias.ip, hostnames: alias.hostnames ?? [] };
  });

  const dns = config.dns ? { servers: config.dns.servers ?? [], searches: config.dns.searches ?? [], options: config.dns.options ?? [] } : undefined;
  dns?.servers.forEach((server, i) => !isIP(server) && causes.push(field.invalid(`dns.servers[${i}]`, server, 'must be an IP address')));
  dns?.searches.forEach((search, i) => !isDnsSubdomain(search.replace(/\.$/, '')) && causes.push(field.invalid(`dns.searches[${i}]`, search, 'must be a DNS name')));
  dns?.options.forEach((option, i) => !/^[A-Za-z0-9_-]+(:[A-Za-z0-9_.-]*)?$/.test(option) && causes.push(field.invalid(`dns.options[${i}]`, option, 'must be an option such as ndots:5')));

  if (causes.length) throw errors.invalid('podsandbox', name, causes);
  return { name, hostname, labels: config.labels ?? {}, network, portMappings, dns, hostAliases, hostnameFqdn };
}

function aliasLines(aliases: HostAlias[]): string {
  const lines = aliases.filter((a) => a.hostnames.length).map((a) => `${a.ip}\t${a.hostnames.join('\t')}\n`);
  return lines.length ? `\n# Entries added by HostAliases.\n${lines.join('')}` : '';
}

/** A pod-network sandbox's /etc/hosts, as the kubelet writes it. */
export function podHostsFile(opts: { ip: string; hostname: string; hostnameFqdn: string; hostAliases: HostAlias[] }): string {
  const names = opts.hostnameFqdn ? `${opts.hostnameFqdn}\t${opts.hostname}` : opts.hostname;
  return (
    '# berth-managed hosts file.\n' +
    '127.0.0.1\tlocalhost\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'fe00::0\tip6-localnet\n' +
    'fe00::0\tip6-mcastprefix\n' +
    'fe00::1\tip6-allnodes\n' +
    'fe00::2\tip6-allrouters\n' +
    `${opts.ip}\t${names}\n` +
    aliasLines(opts.hostAliases)
  );
}

/** A host-network sandbox's /etc/hosts: the node's, then the aliases. */
export function hostNetworkHostsFile(nodeHosts: string, hostAliases: HostAlias[]): string {
  const base = nodeHosts && !nodeHosts.endsWith('\n') ? `${nodeHosts}\n` : nodeHosts;
  return base + aliasLines(hostAliases);
}

/** resolv.conf from the sandbox's DNS config; without servers the node's own. */
export function resolvConf(dns: DnsConfig | undefined, nodeResolvConf: string): string {
  if (!dns?.servers?.length) return nodeResolvConf;
  const lines = dns.servers.map((server) => `nameserver ${server}`);
  if (dns.searches?.length) lines.push(`search ${dns.searches.join(' ')}`);
  if (dns.options?.length) lines.push(`options ${dns.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
