import type { EndpointAddress, Endpoints, KubeObject, Pod, Service } from '@berth/api';
import { type IndexFunction, NAMESPACE_INDEX } from '@berth/controller';

/** What the resolver reads objects from: an informer, or an IndexedCache in unit tests. */
export interface ObjectSource<T extends KubeObject> {
  get(key: string): T | undefined;
  byIndex(indexName: string, value: string): T[];
  hasIndexer(name: string): boolean;
  addIndexers(indexers: Record<string, IndexFunction<T>>): void;
}

const CLUSTER_IP_INDEX = 'dns.clusterIP';
const ADDRESS_IP_INDEX = 'dns.addressIP';
const POD_IP_INDEX = 'dns.podIP';

/** A Service without a virtual IP: its name stands for its endpoints' addresses. */
export function isHeadless(service: Service): boolean {
  return service.spec?.type !== 'ExternalName' && (service.spec?.clusterIP === 'None' || service.spec?.clusterIP === '');
}

function isRunningPodNetworkPod(pod: Pod): boolean {
  const phase = pod.status?.phase;
  // Host-network pods share the node's address, which says nothing about their namespace.
  return !pod.spec?.hostNetwork && phase !== 'Succeeded' && phase !== 'Failed';
}

const indexers = {
  services: { [CLUSTER_IP_INDEX]: (s: Service) => (s.spec?.clusterIP && !isHeadless(s) ? [s.spec.clusterIP] : []) },
  endpoints: { [ADDRESS_IP_INDEX]: (e: Endpoints) => [...new Set((e.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)))] },
  pods: { [POD_IP_INDEX]: (p: Pod) => (p.status?.podIP && isRunningPodNetworkPod(p) ? [p.status.podIP] : []) },
};

function withIndexers<T extends KubeObject>(source: ObjectSource<T>, wanted: Record<string, IndexFunction<T>>): ObjectSource<T> {
  source.addIndexers(Object.fromEntries(Object.entries(wanted).filter(([name]) => !source.hasIndexer(name))));
  return source;
}

/** The ready addresses of a Service's endpoints, each IP once (an address is listed in every subset its ports fall in). */
function readyAddresses(endpoints: Endpoints | undefined): EndpointAddress[] {
  const byIP = new Map<string, EndpointAddress>();
  for (const subset of endpoints?.subsets ?? []) for (const address of subset.addresses ?? []) if (!byIP.has(address.ip)) byIP.set(address.ip, address);
  return [...byIP.values()];
}

/**
 * The cluster as DNS sees it, read from informer caches at query time, so an answer always reflects the
 * latest event the informers delivered.
 */
export class ClusterView {
  private readonly services: ObjectSource<Service>;
  private readonly endpoints: ObjectSource<Endpoints>;
  private readonly pods: ObjectSource<Pod>;

  constructor(sources: { services: ObjectSource<Service>; endpoints: ObjectSource<Endpoints>; pods: ObjectSource<Pod> }, readonly synced: () => boolean = () => true) {
    this.services = withIndexers(sources.services, indexers.services);
    this.endpoints = withIndexers(sources.endpoints, indexers.endpoints);
    this.pods = withIndexers(sources.pods, indexers.pods);
  }

  service(namespace: string, name: string): Service | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  hasServicesIn(namespace: string): boolean {
    return this.services.byIndex(NAMESPACE_INDEX, namespace).length > 0;
  }

  readyAddresses(service: Service): EndpointAddress[] {
    return readyAddresses(this.endpoints.get(`${service.metadata.namespace}/${service.metadata.name}`));
  }

  /** Ports of the Service's endpoints, by name ('' for an unnamed one). */
  endpointPorts(service: Service): Map<string, { port: number; protocol: string }> {
    const ports = new Map<string, { port: number; protocol: string }>();
    const endpoints = this.endpoints.get(`${service.metadata.namespace}/${service.metadata.name}`);
    for (const subset of endpoints?.subsets ?? []) {
      for (const port of subset.ports ?? []) ports.set(port.name ?? '', { port: port.port, protocol: port.protocol ?? 'TCP' });
    }
    return ports;
  }

  servicesWithClusterIP(ip: string): Service[] {
    return this.services.byIndex(CLUSTER_IP_INDEX, ip);
  }

  /** Headless Services with a ready endpoint at ip, with that endpoint's address. */
  headlessEndpointsAt(ip: string): Array<{ service: Service; address: EndpointAddress }> {
    const found: Array<{ service: Service; address: EndpointAddress }> = [];
    for (const endpoints of this.endpoints.byIndex(ADDRESS_IP_INDEX, ip)) {
      const service = this.service(endpoints.metadata.namespace ?? '', endpoints.metadata.name ?? '');
      const address = readyAddresses(endpoints).find((a) => a.ip === ip);
      if (service && isHeadless(service) && address) found.push({ service, address });
    }
    return found;
  }

  /** The pod (on the pod network) with this IP, if the view knows it. */
  podAt(ip: string): Pod | undefined {
    return this.pods.byIndex(POD_IP_INDEX, ip)[0];
  }
}
