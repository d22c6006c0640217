import type { Endpoints, Node, Protocol, Service, ServicePort } from '@berth/api';
import { Ipv4Cidr } from '@berth/controllers';
import { isIPv4 } from 'node:net';

/** Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds: three hours. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

export type L4Protocol = 'tcp' | 'udp' | 'sctp';

export interface Backend {
  ip: string;
  port: number;
}

/** What one port of one Service asks of every node's proxy. */
export interface ServicePortModel {
  /** `namespace/name/protocol/portName` (portName may be empty): names the port's chains. */
  id: string;
  protocol: L4Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** Set when sessionAffinity is ClientIP. */
  affinityTimeoutSeconds?: number;
  /** The ready endpoints, sorted, without duplicates. */
  endpoints: Backend[];
}

/** Everything the service proxy's ruleset is rendered from. */
export interface ProxyModel {
  servicePorts: ServicePortModel[];
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
function readyBackends(endpoints: Endpoints | undefined, port: ServicePort): Backend[] {
  const wanted = port.name ?? '';
  const byKey = new Map<string, Backend>();
  for (const subset of endpoints?.subsets ?? []) {
    const match = (subset.ports ?? []).find((p) => (p.name ?? '') === wanted && l4(p.protocol) === l4(port.protocol));
    if (!match || !isPort(match.port)) continue;
    for (const address of subset.addresses ?? []) {
      if (isIPv4(address.ip)) byKey.set(`${address.ip}:${match.port}`, { ip: address.ip, port: match.port });
    }
  }
  return [...byKey.values()].sort((a, b) => compareIPv4(a.ip, b.ip) || a.port - b.port);
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

const PROTOCOLS: readonly L4Protocol[] = ['tcp', 'udp', 'sctp'];

/** The proxy's view of the cluster, from the informers' objects. Pure; the order of its input does not matter. */
export function proxyModel(input: ProxyModelInput): ProxyModel {
  const servicePorts: ServicePortModel[] = [];
  for (const service of input.services) {
    const clusterIP = clusterIPOf(service);
    if (!clusterIP) continue;
    const namespace = service.metadata.namespace ?? 'default';
    const name = service.metadata.name ?? '';
    const endpoints = input.endpointsOf(namespace, name);
    const exposesNodePorts = service.spec?.type === 'NodePort' || service.spec?.type === 'LoadBalancer';
    for (const port of service.spec?.ports ?? []) {
      const protocol = l4(port.protocol);
      if (!PROTOCOLS.includes(protocol) || !isPort(port.port)) continue;
      servicePorts.push({
        id: `${namespace}/${name}/${protocol}/${port.name ?? ''}`,
        protocol,
        clusterIP,
        port: port.port,
        nodePort: exposesNodePorts && isPort(port.nodePort) ? port.nodePort : undefined,
        affinityTimeoutSeconds: affinityTimeout(service),
        endpoints: readyBackends(endpoints, port),
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
  return { servicePorts, localPodCIDR, podCIDRs: [...podCIDRs].sort() };
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
