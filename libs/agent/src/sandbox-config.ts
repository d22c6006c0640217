import type { Pod, PodDNSConfig } from '@berth/api';
import { errors } from '@berth/errors';
import type { DnsConfig, PodSandboxConfig, PortMapping } from '@berth/runtime-client';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { podHostname, podLabels, sandboxName } from './labels';

/** The cluster's DNS settings every pod on the pod network resolves names with (kubelet's --cluster-dns, --cluster-domain). */
export interface ClusterDnsSettings {
  /** The per-node DNS server's address. */
  clusterDNS: string;
  /** The cluster's DNS domain. */
  clusterDomain: string;
}

export const DEFAULT_CLUSTER_DNS = '169.254.20.10';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** A --cluster-dns value: the IPv4 address pods send their DNS queries to. */
export function checkClusterDNS(value: string): string {
  if (!isIPv4(value)) throw errors.badRequest('must be an IPv4 address');
  return value;
}

/** A --cluster-domain value: a DNS domain such as cluster.local. */
export function checkClusterDomain(value: string): string {
  const domain = value.replace(/\.$/, '').toLowerCase();
  if (domain.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(domain)) {
    throw errors.badRequest('must be a DNS domain such as cluster.local');
  }
  return domain;
}

/** resolv.conf limits glibc honours (kubelet trims to the same). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/** What the node's own resolv.conf says; a pod with dnsPolicy Default starts from it. */
export type HostResolvConf = () => DnsConfig;

/** Parses resolv.conf text: nameserver, search (and domain) and options lines. */
export function parseResolvConf(text: string): DnsConfig {
  const config: Required<DnsConfig> = { servers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const [keyword, ...values] = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (keyword === 'nameserver' && values[0]) config.servers.push(values[0]);
    // The last search or domain line wins, as in glibc.
    else if (keyword === 'search' || keyword === 'domain') config.searches = values.filter(Boolean);
    else if (keyword === 'options') config.options.push(...values.filter(Boolean));
  }
  return config;
}

export function usesHostNetwork(pod: Pod): boolean {
  return !!pod.spec?.hostNetwork;
}

const unique = (values: string[]) => [...new Set(values)];
const optionName = (option: string) => option.split(':')[0]!;

/** kubelet's appendDNSConfig: the pod's nameservers after, its searches before, its options over the base's. */
function mergeDnsConfig(base: DnsConfig, pod: PodDNSConfig | undefined): DnsConfig {
  const podOptions = (pod?.options ?? []).filter((o) => o.name).map((o) => (o.value !== undefined && o.value !== '' ? `${o.name}:${o.value}` : o.name!));
  const overridden = new Set(podOptions.map(optionName));
  return {
    servers: unique([...(base.servers ?? []), ...(pod?.nameservers ?? [])]).slice(0, MAX_NAMESERVERS),
    searches: unique([...(pod?.searches ?? []), ...(base.searches ?? [])]).slice(0, MAX_SEARCHES),
    options: [...(base.options ?? []).filter((o) => !overridden.has(optionName(o))), ...podOptions],
  };
}

/**
 * The pod's resolv.conf as kubelet decides it from dnsPolicy: ClusterFirst (the default) points at the
 * cluster DNS with the namespace's search path, except for hostNetwork pods, which resolve as the node
 * does unless the policy is ClusterFirstWithHostNet; Default is the node's resolv.conf (undefined when it
 * is empty or unreadable: the runtime copies its own) and None only spec.dnsConfig. spec.dnsConfig merges into the first two.
 */
export function podDnsConfig(pod: Pod, cluster: ClusterDnsSettings, hostResolvConf: HostResolvConf): DnsConfig | undefined {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const dnsConfig = pod.spec?.dnsConfig;
  const clusterFirst = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !usesHostNetwork(pod));
  if (clusterFirst) {
    const namespace = pod.metadata.namespace ?? 'default';
    const domain = cluster.clusterDomain;
    const base = {
      servers: [cluster.clusterDNS],
      searches: [`${namespace}.svc.${domain}`, `svc.${domain}`, domain, ...(hostResolvConf().searches ?? [])],
      options: ['ndots:5'],
    };
    return mergeDnsConfig(base, dnsConfig);
  }
  if (policy === 'None') return mergeDnsConfig({}, dnsConfig);
  // As kubelet, the agent reads the node's resolv.conf (--resolv-conf) itself: the runtime's own copy may
  // name a loopback stub resolver that a pod cannot reach.
  const node = hostResolvConf();
  if (!node.servers?.length && !dnsConfig) return undefined;
  return mergeDnsConfig(node, dnsConfig);
}

const SYSTEMD_RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';

function readable(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const isLoopback = (server: string) => /^127\./.test(server) || server === '::1';

/**
 * The resolv.conf pods with dnsPolicy Default start from, chosen as k3s and kubeadm do: /etc/resolv.conf,
 * unless it names only loopback resolvers (systemd-resolved's 127.0.0.53 stub), which a pod on its own
 * network reaches as its own loopback; then the upstream servers systemd-resolved keeps.
 */
export function defaultResolvConfPath(etcResolvConf = '/etc/resolv.conf', resolvedUpstream = SYSTEMD_RESOLVED_UPSTREAM): string {
  const servers = parseResolvConf(readable(etcResolvConf) ?? '').servers ?? [];
  if (!servers.length || !servers.every(isLoopback)) return etcResolvConf;
  const upstream = parseResolvConf(readable(resolvedUpstream) ?? '').servers ?? [];
  return upstream.some((server) => !isLoopback(server)) ? resolvedUpstream : etcResolvConf;
}

/** Every hostPort of the pod's containers, as the runtime publishes it (kubelet's MakePortMappings). */
export function podPortMappings(pod: Pod): PortMapping[] {
  const mappings = new Map<string, PortMapping>();
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      if (!port.hostPort) continue;
      const mapping: PortMapping = { protocol: (port.protocol ?? 'TCP').toLowerCase() as PortMapping['protocol'], containerPort: port.containerPort, hostPort: port.hostPort };
      if (port.hostIP) mapping.hostIp = port.hostIP;
      mappings.set(JSON.stringify(mapping), mapping);
    }
  }
  return [...mappings.values()];
}

const MAX_HOSTNAME_LENGTH = 64;

/** `hostname.subdomain.namespace.svc.domain` when the pod has a subdomain (the name a headless Service gives it). */
export function podHostnameFqdn(pod: Pod, clusterDomain: string): string | undefined {
  const subdomain = pod.spec?.subdomain;
  if (!subdomain) return undefined;
  return `${podHostname(pod)}.${subdomain}.${pod.metadata.namespace ?? 'default'}.svc.${clusterDomain}`;
}

/** What runtimed is asked to create for the pod's sandbox: its network, published ports, DNS, hosts entries and names. */
export function podSandboxConfig(pod: Pod, cluster: ClusterDnsSettings, hostResolvConf: HostResolvConf): PodSandboxConfig {
  const config: PodSandboxConfig = { name: sandboxName(pod), hostname: podHostname(pod), labels: podLabels(pod), network: usesHostNetwork(pod) ? 'host' : '' };
  // As kubelet, also for hostNetwork pods: the runtime forwards nothing for them, but checks and records them.
  const portMappings = podPortMappings(pod);
  if (portMappings.length) config.portMappings = portMappings;
  const dns = podDnsConfig(pod, cluster, hostResolvConf);
  if (dns) config.dns = dns;
  const aliases = (pod.spec?.hostAliases ?? []).filter((a) => a.ip && a.hostnames?.length).map((a) => ({ ip: a.ip, hostnames: [...a.hostnames!] }));
  if (aliases.length) config.hostAliases = aliases;
  const fqdn = podHostnameFqdn(pod, cluster.clusterDomain);
  if (fqdn) config.hostnameFqdn = fqdn;
  if (fqdn && pod.spec?.setHostnameAsFQDN) {
    // kubelet's limit: the kernel's hostname holds 64 characters.
    if (fqdn.length > MAX_HOSTNAME_LENGTH) {
      throw errors.badRequest(`failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (${MAX_HOSTNAME_LENGTH} characters is the max, ${fqdn.length} characters requested)`);
    }
    config.hostname = fqdn;
  }
  return config;
}
