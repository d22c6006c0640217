import type { Container, EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service, ServicePort } from '@berth/api';
import { isIPv4, isIPv6 } from 'node:net';
import { isPodReady } from './pods';
import { canonicalJson } from '@berth/api';

/** Kubernetes' label on the Endpoints of a Service without a cluster IP (v1.IsHeadlessService). */
export const HEADLESS_SERVICE_LABEL = 'service.kubernetes.io/headless';

/** Whether the Endpoints controller manages this Service's Endpoints: it selects pods and is not an ExternalName alias. */
export function managesEndpoints(service: Service): boolean {
  // An empty selector reads back as no selector from Kubernetes' API, so it selects nothing, not everything.
  return service.spec?.type !== 'ExternalName' && Object.keys(service.spec?.selector ?? {}).length > 0;
}

export function selectsPod(service: Service, pod: Pod): boolean {
  if (!managesEndpoints(service) || pod.metadata.namespace !== service.metadata.namespace) return false;
  return Object.entries(service.spec!.selector!).every(([key, value]) => pod.metadata.labels?.[key] === value);
}

/**
 * What about a pod decides its place in Endpoints and EndpointSlices; a pod update that changes none of it
 * wakes no Service. (Container ports are left out: a pod's spec cannot change them.)
 */
export function endpointsView(pod: Pod): string {
  return canonicalJson({
    labels: pod.metadata.labels ?? {},
    terminating: !!pod.metadata.deletionTimestamp,
    phase: pod.status?.phase,
    ready: isPodReady(pod),
    podIP: pod.status?.podIP,
    podIPs: pod.status?.podIPs,
    nodeName: pod.spec?.nodeName,
    hostname: pod.spec?.hostname,
    subdomain: pod.spec?.subdomain,
  });
}

/** A cluster IP is set (Kubernetes' IsServiceIPSet); without one the Service is headless. */
export function hasClusterIP(service: Service): boolean {
  const clusterIP = service.spec?.clusterIP;
  return !!clusterIP && clusterIP !== 'None';
}

function podIPs(pod: Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip);
  const primary = pod.status?.podIP;
  return primary && !ips.includes(primary) ? [primary, ...ips] : ips;
}

/**
 * Whether the pod can serve at all (Kubernetes' ShouldPodBeInEndpoints): placed on a node, has an IP, has
 * not finished, and is not terminating — unless the Service publishes not-ready addresses, which keeps
 * terminating pods so that peers still find each other while shutting down.
 */
export function podBelongsInEndpoints(pod: Pod, publishNotReady: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!pod.spec?.nodeName || podIPs(pod).length === 0) return false;
  return publishNotReady || !pod.metadata.deletionTimestamp;
}

/** The service's IP family decides which of a dual-stack pod's addresses serves it. */
function wantsIPv6(service: Service, pod: Pod): boolean {
  const families = service.spec?.ipFamilies;
  if (families?.length) return families[0] === 'IPv6';
  if (hasClusterIP(service)) return isIPv6(service.spec!.clusterIP!);
  // Headless without families: the pod's primary address picks the family.
  return isIPv6(podIPs(pod)[0] ?? '');
}

export function endpointAddress(service: Service, pod: Pod): EndpointAddress | undefined {
  const v6 = wantsIPv6(service, pod);
  const ip = podIPs(pod).find((candidate) => (v6 ? isIPv6(candidate) : isIPv4(candidate)));
  if (!ip) return undefined;
  const { hostname, subdomain } = pod.spec ?? {};
  return {
    ip,
    ...(hostname && subdomain === service.metadata.name ? { hostname } : {}),
    nodeName: pod.spec!.nodeName,
    // No resourceVersion: it changes with every status write and would rewrite the Endpoints for nothing.
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
}

/** Containers that serve ports: the regular ones and sidecars (init containers that keep running). */
function servingContainers(pod: Pod): Container[] {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
}

/** The pod's port for a service port (Kubernetes' FindPort): a number as is, a name looked up among the pod's container ports of the same protocol. */
export function resolveTargetPort(pod: Pod, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target > 0 ? target : servicePort.port;
  const protocol = servicePort.protocol ?? 'TCP';
  for (const container of servingContainers(pod)) {
    const found = container.ports?.find((p) => p.name === target && (p.protocol ?? 'TCP') === protocol);
    if (found) return found.containerPort;
  }
  return undefined;
}

function endpointPort(servicePort: ServicePort, port: number): EndpointPort {
  return {
    ...(servicePort.name ? { name: servicePort.name } : {}),
    port,
    protocol: servicePort.protocol ?? 'TCP',
    ...(servicePort.appProtocol ? { appProtocol: servicePort.appProtocol } : {}),
  };
}

interface Member {
  address: EndpointAddress;
  ready: boolean;
}

const memberKey = (m: Member) => `${m.address.ip}/${m.address.targetRef?.uid ?? ''}/${m.ready ? 'ready' : 'not-ready'}`;

/** Orders IPv4 addresses numerically (10.0.0.9 before 10.0.0.10) and the rest as text. */
export function ipOrder(ip: string): string {
  return isIPv4(ip) ? ip.split('.').map((octet) => octet.padStart(3, '0')).join('.') : `~${ip}`;
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  const byIP = ipOrder(a.ip).localeCompare(ipOrder(b.ip));
  return byIP || (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? '');
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port || (a.protocol ?? '').localeCompare(b.protocol ?? '');
}

/**
 * The subsets of a Service's Endpoints from the pods of its namespace, packed as Kubernetes' RepackSubsets
 * does: each distinct port goes with the set of addresses that serve it, and ports served by the same set
 * share one subset. Ready pods are in addresses, the others in notReadyAddresses (all in addresses when the
 * Service publishes not-ready addresses). Everything is sorted, so the same pods always give the same value.
 */
export function endpointSubsets(service: Service, pods: readonly Pod[]): EndpointSubset[] {
  if (!managesEndpoints(service)) return [];
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const servicePorts = service.spec?.ports ?? [];
  // A headless Service may have no ports; its addresses then go in one subset without ports.
  const portless = servicePorts.length === 0 && service.spec?.clusterIP === 'None';
  const servers = new Map<string, { port?: EndpointPort; members: Member[] }>();
  const serve = (port: EndpointPort | undefined, member: Member) => {
    const key = port ? canonicalJson(port) : '';
    const entry = servers.get(key) ?? { port, members: [] };
    entry.members.push(member);
    servers.set(key, entry);
  };

  for (const pod of pods) {
    if (!selectsPod(service, pod) || !podBelongsInEndpoints(pod, publishNotReady)) continue;
    const address = endpointAddress(service, pod);
    if (!address) continue;
    const member = { address, ready: publishNotReady || isPodReady(pod) };
    if (portless) serve(undefined, member);
    for (const servicePort of servicePorts) {
      const port = resolveTargetPort(pod, servicePort);
      if (port !== undefined) serve(endpointPort(servicePort, port), member);
    }
  }

  const groups = new Map<string, { members: Member[]; ports: EndpointPort[] }>();
  for (const { port, members } of servers.values()) {
    const key = members.map(memberKey).sort().join(',');
    const group = groups.get(key) ?? { members, ports: [] };
    if (port) group.ports.push(port);
    groups.set(key, group);
  }

  const subsets = [...groups.values()].map(({ members, ports }) => {
    const addresses = members.filter((m) => m.ready).map((m) => m.address).sort(compareAddresses);
    const notReadyAddresses = members.filter((m) => !m.ready).map((m) => m.address).sort(compareAddresses);
    return {
      ...(addresses.length ? { addresses } : {}),
      ...(notReadyAddresses.length ? { notReadyAddresses } : {}),
      ...(ports.length ? { ports: ports.sort(comparePorts) } : {}),
    };
  });
  return subsets.sort((a, b) => canonicalJson(a.ports ?? []).localeCompare(canonicalJson(b.ports ?? [])) || canonicalJson(a).localeCompare(canonicalJson(b)));
}

/** The labels Kubernetes gives a Service's Endpoints: the Service's own, and the headless marker exactly when it has no cluster IP. */
export function endpointsLabels(service: Service): Record<string, string> {
  const { [HEADLESS_SERVICE_LABEL]: _ignored, ...labels } = service.metadata.labels ?? {};
  return hasClusterIP(service) ? labels : { ...labels, [HEADLESS_SERVICE_LABEL]: '' };
}

/**
 * The Endpoints object the Service should have: current (if any) with its subsets and labels replaced, or a
 * new one; undefined when current already matches, so that nothing is written.
 */
export function endpointsToWrite(service: Service, subsets: EndpointSubset[], current: Endpoints | undefined): Endpoints | undefined {
  const labels = endpointsLabels(service);
  if (current && canonicalJson(current.subsets ?? []) === canonicalJson(subsets) && canonicalJson(current.metadata.labels ?? {}) === canonicalJson(labels)) {
    return undefined;
  }
  const base: Endpoints = current
    ? structuredClone(current)
    : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: service.metadata.name, namespace: service.metadata.namespace } };
  const written: Endpoints = { ...base, metadata: { ...base.metadata, labels } };
  if (subsets.length) written.subsets = subsets;
  else delete written.subsets;
  return written;
}
