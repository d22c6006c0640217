/** API objects for the unit specs. */
import type { Endpoints, Node, Service } from '@berth/api';
import { type ProxyModel, proxyModel } from './model';

export function service(name: string, spec: Service['spec'], namespace = 'default'): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec };
}

export function endpoints(name: string, subsets: Endpoints['subsets'], namespace = 'default'): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace, name }, subsets };
}

export function node(name: string, podCIDR?: string, ip?: string): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: podCIDR ? { podCIDR } : {},
    status: ip ? { addresses: [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: ip }] } : {},
  };
}

export function modelOf(services: Service[], eps: Endpoints[], nodes: Node[] = [], nodeName = 'n1'): ProxyModel {
  const byKey = new Map(eps.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  return proxyModel({ services, endpointsOf: (ns, name) => byKey.get(`${ns}/${name}`), nodes, nodeName });
}
