import type { FieldCause } from '@berth/errors';
import { dns1123LabelErrors } from '../../../schema/syntax';
import { formatLabels } from '../../../selectors';
import type { KubeObject } from '../../../types';
import { AGE, NAME, humanAge, orNone, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { ATOMIC, CONDITIONS, objectMerge, portList, struct } from '../../merge';
import type { Obj } from '../../defaulting';
import { child, objects, setDefault } from '../../defaulting';
import { immutableField, specOf } from '../../immutable';
import { ServiceObject } from './schema';
import type { Service } from './types';

export type * from './types';

function defaultService(spec: Obj): void {
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
  for (const port of objects(spec.ports)) {
    setDefault(port, 'protocol', 'TCP');
    if (port.targetPort === 0 || port.targetPort === '') delete port.targetPort;
    setDefault(port, 'targetPort', port.port);
  }
}

/** A service keeps the virtual IP it was given: clients and proxies already use it. */
function clusterIPKept(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const causes: FieldCause[] = [];
  if (typeof before.clusterIP === 'string' && before.clusterIP !== '' && spec.clusterIP !== before.clusterIP) {
    causes.push(immutableField('spec.clusterIP', spec.clusterIP ?? ''));
  }
  if (Array.isArray(before.clusterIPs) && before.clusterIPs.length > 0 && Array.isArray(spec.clusterIPs)) {
    if (spec.clusterIPs[0] !== before.clusterIPs[0]) causes.push(immutableField('spec.clusterIPs[0]', spec.clusterIPs[0]));
  }
  return causes;
}

interface ServiceView {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    externalName?: string;
    ports?: { port: number; nodePort?: number; protocol?: string }[];
    selector?: Record<string, string>;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}
/** Kubernetes' getServiceExternalIP for the wide (unclipped) listing the apiserver produces. */
function serviceExternalIP(service: ServiceView, type: string): string {
  const externalIPs = service.spec?.externalIPs ?? [];
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter(Boolean);
      const balancers = [...new Set(ingress)].sort();
      if (externalIPs.length) return [...balancers, ...externalIPs].join(',');
      return balancers.length ? balancers.join(',') : '<pending>';
    }
    case 'ExternalName':
      return service.spec?.externalName ?? '';
    default:
      return '<unknown>';
  }
}
function printService(obj: KubeObject, now: Date): unknown[] {
  const service = view<ServiceView>(obj);
  // An undefaulted service is a ClusterIP one, as defaulting would make it.
  const type = service.spec?.type ?? 'ClusterIP';
  const ports = (service.spec?.ports ?? [])
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
    .join(',');
  return [
    obj.metadata.name,
    type,
    orNone(service.spec?.clusterIPs?.[0] ?? service.spec?.clusterIP),
    serviceExternalIP(service, type),
    orNone(ports),
    humanAge(obj.metadata.creationTimestamp, now),
    formatLabels(service.spec?.selector),
  ];
}

export const serviceResource = defineResource<Service>({
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  shortNames: ['svc'],
  categories: ['all'],
  subresources: ['status'],
  schema: ServiceObject,
  mergeSchema: objectMerge({
    spec: struct({ ports: portList('port'), selector: ATOMIC }),
    status: struct({ conditions: CONDITIONS }),
  }),
  // A service's name is its DNS label.
  nameErrors: dns1123LabelErrors,
  defaults: (service) => {
    const spec = child(service, 'spec');
    if (spec) defaultService(spec);
  },
  table: table(
    [
      NAME,
      ['Type', 'string', 'How the service is exposed.'],
      ['Cluster-IP', 'string', 'The IP address of the service inside the cluster.'],
      ['External-IP', 'string', 'The addresses the service is reachable at from outside the cluster.'],
      ['Port(s)', 'string', 'The ports exposed by this service.'],
      AGE,
      ['Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', { wide: true }],
    ],
    printService,
  ),
  strategy: {
    // The service controllers (load balancers) report status; a new service has none yet.
    prepareForCreate: (service) => {
      service.status = { loadBalancer: {} };
    },
    validateUpdate: clusterIPKept,
  },
});
