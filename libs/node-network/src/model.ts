import type { Endpoints, Node, Protocol, Service, ServicePort } from '@berth/api';
import { Ipv4Cidr } from '@berth/ipv4';
import { isIPv4 } from 'node:net';

/** Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds: three hours. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

export type L4Protocol = 'tcp' | 'udp' | 'sctp';

export interface Backend {
  ip: string;
  port: number;
}

/** Which endpoints a kind of traffic may reach: any ready one, or only those on this node. */
export type TrafficPolicy = 'Cluster' | 'Local';

/** What one port of one Service asks of every node's proxy. */
export interface ServicePortModel {
  /** `namespace/name/protocol/portName` (portName may be empty): names the port's chains. */
  id: string;
  protocol: L4Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /**
   * spec.externalIPs and, for LoadBalancer Services, status.loadBalancer.ingress IPs, and 127.0.0.1 when the
   * load balancer is the nodes themselves (see `LOOPBACK`): answered on `port` like the ClusterIP, but as
   * external traffic (as NodePorts are). Sorted; an address:port another Service claimed first is left out.
   */
  externalIPs: string[];
  /** Set when sessionAffinity is ClientIP. */
  affinityTimeoutSeconds?: number;
  /** ClusterIP traffic (spec.internalTrafficPolicy). */
  internalPolicy: TrafficPolicy;
  /** NodePort and external-IP traffic from off the node (spec.externalTrafficPolicy); Cluster when the port has neither. */
  externalPolicy: TrafficPolicy;
  /** The ready endpoints, sorted, without duplicates. */
  endpoints: Backend[];
  /** Those of `endpoints` on this node (the Endpoints address's nodeName). */
  localEndpoints: Backend[];
}

/** Everything the service proxy's ruleset is rendered from. */
export interface ProxyModel {
  servicePorts: ServicePortModel[];
  /** External `ip protocol/port`s more than one Service asks for: which Service keeps each, which one lost it. */
  conflicts: string[];
  /** This node's pod CIDR, once the control plane gave it one. */
  localPodCIDR?: string;
  /** Every node's pod CIDR: traffic from elsewhere to a ClusterIP is masqueraded. */
  podCIDRs: string[];
}

export interface ProxyModelInput {
  services: readonly Service[];
  /** The Endpoints of the Service of that namespace and name. */
  endpointsOf(namespace: string, name: string): Endpoints | undefined;
  nodes: readonly Node[];
  nodeName: string;
}

function l4(protocol: Protocol | undefined): L4Protocol {
  return (protocol ?? 'TCP').toLowerCase() as L4Protocol;
}

const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65_536;

/** Services that get rules: those with an IPv4 ClusterIP; headless and ExternalName Services are DNS-only. */
function clusterIPOf(service: Service): string | undefined {
  if (service.spec?.type === 'ExternalName') return undefined;
  const ip = service.spec?.clusterIP;
  return ip && isIPv4(ip) ? ip : undefined;
}

/**
 * The ready addresses serving one Service port: in every subset that has a port of the same name and
 * protocol (the Endpoints controller has already resolved named targetPorts into numbers there).
 */
function readyBackends(endpoints: Endpoints | undefined, port: ServicePort, nodeName: string): { all: Backend[]; local: Backend[] } {
  const wanted = port.name ?? '';
  const byKey = new Map<string, { backend: Backend; local: boolean }>();
  for (const subset of endpoints?.subsets ?? []) {
    const match = (subset.ports ?? []).find((p) => (p.name ?? '') === wanted && l4(p.protocol) === l4(port.protocol));
    if (!match || !isPort(match.port)) continue;
    for (const address of subset.addresses ?? []) {
      if (!isIPv4(address.ip)) continue;
      const key = `${address.ip}:${match.port}`;
      const local = address.nodeName === nodeName || byKey.get(key)?.local === true;
      byKey.set(key, { backend: { ip: address.ip, port: match.port }, local });
    }
  }
  const sorted = [...byKey.values()].sort((a, b) => compareIPv4(a.backend.ip, b.backend.ip) || a.backend.port - b.backend.port);
  return { all: sorted.map((e) => e.backend), local: sorted.filter((e) => e.local).map((e) => e.backend) };
}

function compareIPv4(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

function affinityTimeout(service: Service): number | undefined {
  if (service.spec?.sessionAffinity !== 'ClientIP') return undefined;
  const timeout = service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  return isPositiveInteger(timeout) ? timeout : DEFAULT_AFFINITY_TIMEOUT_SECONDS;
}

const isPositiveInteger = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;

/** The node's loopback address, where published ports answer for the node's own processes. */
export const LOOPBACK = '127.0.0.1';

/**
 * spec.externalIPs, and the ingress IPs a load balancer reported for a LoadBalancer Service. When one of
 * those is a Node's address, the load balancer is the nodes themselves (the service-lb controller, as
 * k3s's ServiceLB, whose hostPorts answer on the loopback too): then every node also answers on
 * 127.0.0.1, as Docker's published ports do. Not for another implementation's addresses: a node's
 * loopback port is not theirs to take.
 */
function externalAddresses(service: Service, nodeAddresses: ReadonlySet<string>): string[] {
  const balancer = service.spec?.type === 'LoadBalancer' ? (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip) : [];
  const onNodes = balancer.some((ip) => !!ip && nodeAddresses.has(ip));
  const addresses = [...(service.spec?.externalIPs ?? []), ...balancer, ...(onNodes ? [LOOPBACK] : [])].filter((ip): ip is string => !!ip && isIPv4(ip));
  return [...new Set(addresses)].sort(compareIPv4);
}

const policy = (value: string | undefined): TrafficPolicy => (value === 'Local' ? 'Local' : 'Cluster');

const qualifiedName = (s: Service) => `${s.metadata.namespace ?? 'default'}/${s.metadata.name ?? ''}`;

/** Older Services first, so a new Service never takes an external address:port an existing one serves. */
function byAge(a: Service, b: Service): number {
  const key = (s: Service) => `${s.metadata.creationTimestamp ?? ''} ${qualifiedName(s)}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

const PROTOCOLS: readonly L4Protocol[] = ['tcp', 'udp', 'sctp'];

/** The proxy's view of the cluster, from the informers' objects. Pure; the order of its input does not matter. */
export function proxyModel(input: ProxyModelInput): ProxyModel {
  const servicePorts: ServicePortModel[] = [];
  const conflicts: string[] = [];
  // Every address:port the maps are keyed by must be unique: ClusterIPs are (the apiserver allocates them),
  // external addresses are whatever users and load balancers write, so the oldest Service keeps one.
  const claimed = new Map<string, string>();
  const services = input.services.filter((s) => clusterIPOf(s) !== undefined).sort(byAge);
  const nodeAddresses = new Set(input.nodes.flatMap((node) => (node.status?.addresses ?? []).map((a) => a.address)));
  for (const service of services) {
    for (const port of service.spec?.ports ?? []) {
      if (isPort(port.port)) claimed.set(`${clusterIPOf(service)} ${l4(port.protocol)}/${port.port}`, qualifiedName(service));
    }
  }
  for (const service of services) {
    const clusterIP = clusterIPOf(service)!;
    const namespace = service.metadata.namespace ?? 'default';
    const name = service.metadata.name ?? '';
    const owner = qualifiedName(service);
    const endpoints = input.endpointsOf(namespace, name);
    const exposesNodePorts = service.spec?.type === 'NodePort' || service.spec?.type === 'LoadBalancer';
    for (const port of service.spec?.ports ?? []) {
      const protocol = l4(port.protocol);
      if (!PROTOCOLS.includes(protocol) || !isPort(port.port)) continue;
      const externalIPs = externalAddresses(service, nodeAddresses).filter((ip) => {
        const key = `${ip} ${protocol}/${port.port}`;
        const holder = claimed.get(key) ?? owner;
        if (holder !== owner) conflicts.push(`${key} is ${holder}'s, not ${owner}'s`);
        claimed.set(key, holder);
        return holder === owner;
      });
      const nodePort = exposesNodePorts && isPort(port.nodePort) ? port.nodePort : undefined;
      const backends = readyBackends(endpoints, port, input.nodeName);
      servicePorts.push({
        id: `${namespace}/${name}/${protocol}/${port.name ?? ''}`,
        protocol,
        clusterIP,
        port: port.port,
        nodePort,
        externalIPs,
        affinityTimeoutSeconds: affinityTimeout(service),
        internalPolicy: policy(service.spec?.internalTrafficPolicy),
        externalPolicy: nodePort || externalIPs.length ? policy(service.spec?.externalTrafficPolicy) : 'Cluster',
        endpoints: backends.all,
        localEndpoints: backends.local,
      });
    }
  }
  servicePorts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const podCIDRs = new Set<string>();
  let localPodCIDR: string | undefined;
  for (const node of input.nodes) {
    const cidr = parseCidr(node.spec?.podCIDR);
    if (!cidr) continue;
    podCIDRs.add(cidr);
    if (node.metadata.name === input.nodeName) localPodCIDR = cidr;
  }
  return { servicePorts, conflicts, localPodCIDR, podCIDRs: [...podCIDRs].sort() };
}

/** The CIDR in canonical form, or undefined when it is absent or not an IPv4 CIDR. */
export function parseCidr(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    return Ipv4Cidr.parse(text).toString();
  } catch {
    return undefined;
  }
}

/** Whether ip lies inside cidr (both IPv4). */
export function cidrContains(cidr: string, ip: string): boolean {
  return Ipv4Cidr.parse(cidr).offsetOf(ip) !== undefined;
}
