import { dns1123SubdomainErrors } from '@berth/api';
import { isIP } from 'node:net';
import type { HostAlias, PodSpec, Protocol, Service, ServicePort } from '@berth/api';
import { DEFAULT_DNS_ADDRESS } from '@berth/dns';
import type { ServiceContext } from './context';
import type { ComposeProject, PortConfig, ServiceConfig } from './model';
import { composeLabels, own } from './names';
import type { Refusals } from './refusals';

/** The Service that publishes a compose service's ingress ports on every node (Swarm's routing mesh) is named so. */
export const publishedServiceName = (service: string) => `${service}-published`;

/** The most ports one `expose` range may name. */
const MAX_EXPOSE_RANGE = 1000;

const protocolOf = (protocol: string | undefined): Protocol => (protocol?.toLowerCase() === 'udp' ? 'UDP' : 'TCP');
const portName = (protocol: Protocol, port: number) => `${protocol.toLowerCase()}-${port}`;

/** `3306`, `8000-8001/udp`: the container ports `expose` names. */
function exposedPorts(service: ServiceConfig, refuse: (key: string, why: string) => void): Array<{ port: number; protocol: Protocol }> {
  const out: Array<{ port: number; protocol: Protocol }> = [];
  for (const entry of service.expose) {
    const parsed = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp))?$/i.exec(entry.trim());
    const first = parsed ? Number(parsed[1]) : NaN;
    const last = parsed?.[2] !== undefined ? Number(parsed[2]) : first;
    if (!parsed || first < 1 || last > 65535 || last < first || last - first >= MAX_EXPOSE_RANGE) {
      refuse('expose', `${JSON.stringify(entry)} is not PORT[-PORT][/PROTOCOL] (at most ${MAX_EXPOSE_RANGE} ports)`);
      continue;
    }
    for (let port = first; port <= last; port++) out.push({ port, protocol: protocolOf(parsed[3]) });
  }
  return out;
}

/** The container ports other services reach the service on: every port's target and every `expose`d one. */
function internalPorts(service: ServiceConfig, refuse: (key: string, why: string) => void): ServicePort[] {
  const seen = new Set<string>();
  const ports: ServicePort[] = [];
  for (const { port, protocol } of [...service.ports.map((p) => ({ port: p.target, protocol: protocolOf(p.protocol) })), ...exposedPorts(service, refuse)]) {
    const name = portName(protocol, port);
    if (seen.has(name)) continue;
    seen.add(name);
    ports.push({ name, protocol, port, targetPort: port });
  }
  return ports;
}

/**
 * Whether a port is published on the node running the pod (its hostPort) rather than on every node: `mode:
 * host`, and a port bound to one address (`127.0.0.1:9229:9229`), which compose binds on that address of its
 * one host; the routing mesh answers on every address of every node, so it cannot keep that promise.
 */
export function onPodsNode(port: PortConfig): boolean {
  return port.mode === 'host' || (port.host_ip !== undefined && port.host_ip !== '0.0.0.0' && port.host_ip !== '::');
}

/**
 * The Services of one compose service:
 * - `<service>`, how the project's other services reach it by name (`db`, `db.<project>`): a ClusterIP on
 *   the container ports it names (ports' targets and `expose`), or headless (DNS answers with the pods'
 *   addresses, every port reachable as on a compose network) when it names none or `endpoint_mode: dnsrr`;
 * - one such Service per network alias, in projects with one network (with several, aliases are hostAliases);
 * - `<service>-published` for the ingress ports: LoadBalancer (every node answers on the published port,
 *   Swarm's routing mesh) or, when no port is published, NodePort (the cluster picks one, 30000-32767, as Swarm
 *   does). A port in `mode: host` is the pod's hostPort instead (container.ts).
 */
export function servicesOf(project: ComposeProject, service: ServiceConfig, scoped: boolean, refuse: (key: string, why: string) => void): Service[] {
  const labels = composeLabels(project.name, service.name);
  const selector = composeLabels(project.name, service.name);
  const make = (name: string, spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: project.name, labels: { ...labels } }, spec });
  const ports = internalPorts(service, refuse);
  const headless = ports.length === 0 || service.deploy?.endpoint_mode === 'dnsrr';
  const internal = (name: string) =>
    make(name, headless ? { clusterIP: 'None', selector: { ...selector }, ...(ports.length ? { ports: ports.map((p) => ({ ...p })) } : {}) } : { type: 'ClusterIP', selector: { ...selector }, ports: ports.map((p) => ({ ...p })) });
  const out = [internal(service.name)];
  if (!scoped) {
    const aliases = new Set(Object.values(service.networks).flatMap((network) => network.aliases));
    aliases.delete(service.name);
    for (const alias of [...aliases].sort()) out.push(internal(alias));
  }
  const ingress = service.ports.filter((p) => !onPodsNode(p));
  const published = ingress.filter((p) => p.published !== undefined);
  if (published.length && published.length < ingress.length) {
    refuse('ports', 'some ingress ports are published and some are not: publish all of them (LoadBalancer) or none (NodePort)');
  } else if (ingress.length) {
    const seen = new Set<string>();
    const servicePorts: ServicePort[] = [];
    for (const port of ingress) {
      const protocol = protocolOf(port.protocol);
      const number = port.published ?? port.target;
      const name = portName(protocol, number);
      if (seen.has(name)) {
        refuse('ports', `${number}/${protocol.toLowerCase()} is published twice`);
        continue;
      }
      seen.add(name);
      servicePorts.push({ name, protocol, port: number, targetPort: port.target, ...(port.app_protocol ? { appProtocol: port.app_protocol } : {}) });
    }
    out.push(make(publishedServiceName(service.name), { type: published.length ? 'LoadBalancer' : 'NodePort', selector: { ...selector }, ports: servicePorts }));
  }
  return out;
}

/** The networks the project's pods are on (host-network services are on none). More than one: names are scoped. */
export function networksInUse(project: ComposeProject): Set<string> {
  const used = new Set<string>();
  for (const service of Object.values(project.services)) {
    if (service.network_mode === 'host') continue;
    for (const network of Object.keys(service.networks)) used.add(network);
  }
  return used;
}

/** Top-level networks: each is a name scope within the project's namespace, nothing more. */
export function checkNetworks(project: ComposeProject, refusals: Refusals): void {
  for (const [key, network] of Object.entries(project.networks)) {
    const where = `networks.${key}`;
    if (network.internal) refusals.refuse(where, 'internal', "pods reach outside the cluster; a network cannot be cut off (no network policy)");
    if (Object.keys(network.labels).length) refusals.refuse(where, 'labels', 'a network is a name scope, not an object: it carries no labels');
  }
}

/**
 * A pod's networking: `network_mode: host` is hostNetwork (names still resolve through the cluster DNS:
 * ClusterFirstWithHostNet); `extra_hosts` are hostAliases; `dns` and `dns_search` go into dnsConfig.
 * In a project with several networks a service's /etc/hosts has the names in its scope (`db`, `db.<project>`,
 * aliases) at their ClusterIPs, and its resolv.conf the cluster DNS without search domains. A service in scope
 * that names no ports (headless) has no one address for /etc/hosts: its name is left to the cluster DNS, which
 * answers a pod's short names (`redis`, `redis.<project>`) with the Services of the pod's namespace, as it does
 * for every pod, so names outside the scope resolve there too. The scopes are names first in /etc/hosts, not a
 * wall; traffic between networks is not blocked either.
 */
export function podNetworking(ctx: ServiceContext, scoped: boolean): Partial<PodSpec> {
  const { service, project } = ctx;
  const spec: Partial<PodSpec> = {};
  const mode = service.network_mode;
  const hostNetwork = mode === 'host';
  if (hostNetwork) {
    spec.hostNetwork = true;
    spec.dnsPolicy = 'ClusterFirstWithHostNet';
  } else if (mode !== undefined && mode !== 'bridge' && mode !== 'default') {
    ctx.refuse('network_mode', `${mode}: every pod has a network of its own (only host is supported)`);
  }
  for (const [name, network] of Object.entries(service.networks)) {
    if (!own(project.networks, name) && name !== 'default') ctx.refuse('networks', `${JSON.stringify(name)} is not a top-level network`);
    if (network.ipv4_address !== undefined) ctx.refuse(`networks.${name}.ipv4_address`, 'pod addresses come from the node\'s pod CIDR');
    if (network.priority !== undefined) ctx.refuse(`networks.${name}.priority`, 'a pod has one network interface');
  }
  const aliases: HostAlias[] = [];
  const alias = (ip: string, hostname: string, key: string) => {
    const errs = dns1123SubdomainErrors(hostname);
    if (errs.length) {
      ctx.refuse(key, `${JSON.stringify(hostname)} cannot be a host name in /etc/hosts: ${errs[0]}`);
      return;
    }
    const existing = aliases.find((a) => a.ip === ip);
    if (existing) {
      if (!existing.hostnames!.includes(hostname)) existing.hostnames!.push(hostname);
    } else aliases.push({ ip, hostnames: [hostname] });
  };
  for (const { host, ip } of service.extra_hosts) {
    if (ip === 'host-gateway') ctx.refuse('extra_hosts', `${host}: host-gateway: a pod may run on any node (use the node's address)`);
    else if (!isIP(ip)) ctx.refuse('extra_hosts', `${host}: ${JSON.stringify(ip)} is not an IP address`);
    else alias(ip, host, 'extra_hosts');
  }
  for (const server of service.dns) if (!isIP(server)) ctx.refuse('dns', `${JSON.stringify(server)} is not an IP address`);
  const nameservers = [...service.dns];
  if (scoped && !hostNetwork) {
    spec.dnsPolicy = 'None';
    nameservers.unshift(ctx.options.clusterDNS ?? DEFAULT_DNS_ADDRESS);
    for (const [peerName, peer] of Object.entries(project.services).sort(([a], [b]) => a.localeCompare(b))) {
      if (peer.network_mode === 'host') continue;
      const shared = Object.keys(service.networks).filter((n) => Object.hasOwn(peer.networks, n));
      if (!shared.length) continue;
      const ip = own(ctx.options.serviceIPs ?? {}, peerName);
      const aliasesInScope = shared.flatMap((n) => peer.networks[n].aliases).filter((a) => a !== peerName);
      if (ip === 'None') {
        // Headless (no ports): no one address for /etc/hosts, but the cluster DNS answers a pod's short names
        // (`redis`, `redis.<project>`) with the Services of its namespace: the name resolves to the pods. Its aliases cannot.
        if (aliasesInScope.length) ctx.refuse('networks', `${peerName}'s aliases (${aliasesInScope.join(', ')}) need an address: it names no ports (ports or expose give it a ClusterIP)`);
        continue;
      }
      if (!ip) {
        ctx.refuse('networks', `${peerName} is in scope but its ClusterIP is not known (with several networks the caller passes serviceIPs)`);
        continue;
      }
      for (const name of [peerName, `${peerName}.${project.name}`, ...aliasesInScope]) alias(ip, name, 'networks');
    }
  }
  if (nameservers.length > (spec.dnsPolicy === 'None' ? 3 : 2)) ctx.refuse('dns', 'a pod takes at most 3 nameservers, the cluster DNS among them');
  if (nameservers.length || service.dns_search.length) {
    spec.dnsConfig = {};
    if (nameservers.length) spec.dnsConfig.nameservers = nameservers;
    if (service.dns_search.length) spec.dnsConfig.searches = [...service.dns_search];
  }
  if (aliases.length) spec.hostAliases = aliases;
  return spec;
}
