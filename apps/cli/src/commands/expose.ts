import type { Deployment, IntOrString, Pod, ReplicaSet, Service, ServicePort, ServiceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { builtinType, objectName } from '../kinds';
import type { Session } from '../session';
import { DEPLOYMENT_TYPE, expectTypes, parseRef, POD_TYPE, REPLICASET_TYPE } from './workloads';

export interface ExposeOptions {
  port?: number;
  targetPort?: string;
  name?: string;
  type?: string;
  protocol?: string;
  nodePort?: number;
  sessionAffinity?: string;
  clusterIp?: string;
}

const SERVICE_TYPE = builtinType('services');
const SERVICE_TYPES: ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** The selector and the first container port of what is exposed, as kubectl expose finds them. */
function selectorAndPort(object: Deployment | ReplicaSet | Pod): { selector: Record<string, string>; containerPort?: number } {
  if (object.kind === 'Pod') {
    const pod = object as Pod;
    const labels = pod.metadata.labels ?? {};
    if (Object.keys(labels).length === 0) throw new BerthError('BadRequest', `couldn't retrieve selectors via --selector flag or introspection: the pod ${pod.metadata.name} has no labels`);
    return { selector: labels, containerPort: pod.spec?.containers?.[0]?.ports?.[0]?.containerPort };
  }
  const workload = object as Deployment | ReplicaSet;
  const selector = workload.spec?.selector;
  if (!selector?.matchLabels || (selector.matchExpressions ?? []).length > 0) {
    throw new BerthError('BadRequest', `couldn't convert expressions in the selector of ${workload.metadata.name} to a Service selector: only matchLabels can be exposed`);
  }
  return { selector: selector.matchLabels, containerPort: workload.spec?.template?.spec?.containers?.[0]?.ports?.[0]?.containerPort };
}

/** `kubectl expose`: a Service selecting the pods of a Deployment, ReplicaSet or Pod. */
export function exposeService(object: Deployment | ReplicaSet | Pod, options: ExposeOptions): Service {
  const { selector, containerPort } = selectorAndPort(object);
  const port = options.port ?? containerPort;
  if (port === undefined) throw new BerthError('BadRequest', `couldn't find port via --port flag or introspection: ${object.metadata.name} declares no container port`);
  const type = (options.type ?? 'ClusterIP') as ServiceType;
  if (!SERVICE_TYPES.includes(type)) throw new BerthError('BadRequest', `invalid --type ${JSON.stringify(options.type)}: use ${SERVICE_TYPES.join(', ')}`);
  const protocol = (options.protocol ?? 'TCP').toUpperCase() as (typeof PROTOCOLS)[number];
  if (!PROTOCOLS.includes(protocol)) throw new BerthError('BadRequest', `invalid --protocol ${JSON.stringify(options.protocol)}: use TCP, UDP or SCTP`);
  let targetPort: IntOrString = containerPort ?? port;
  if (options.targetPort !== undefined) targetPort = /^\d+$/.test(options.targetPort) ? Number(options.targetPort) : options.targetPort;
  const servicePort: ServicePort = { port, targetPort, protocol };
  if (options.nodePort !== undefined) {
    if (type === 'ClusterIP') throw new BerthError('BadRequest', '--node-port needs --type NodePort or LoadBalancer');
    servicePort.nodePort = options.nodePort;
  }
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: options.name ?? object.metadata.name, labels: object.metadata.labels },
    spec: { type, selector, ports: [servicePort] },
  };
  if (options.sessionAffinity !== undefined) {
    if (options.sessionAffinity !== 'None' && options.sessionAffinity !== 'ClientIP') throw new BerthError('BadRequest', `invalid --session-affinity ${JSON.stringify(options.sessionAffinity)}: use None or ClientIP`);
    service.spec!.sessionAffinity = options.sessionAffinity;
  }
  if (options.clusterIp !== undefined) service.spec!.clusterIP = options.clusterIp;
  return service;
}

export async function expose(session: Session, target: string, options: ExposeOptions): Promise<void> {
  const ref = await parseRef(session, target, POD_TYPE);
  expectTypes(ref, [DEPLOYMENT_TYPE, REPLICASET_TYPE, POD_TYPE], 'expose');
  const object = await session.client.get<Deployment | ReplicaSet | Pod>(ref.type, ref.name, { namespace: session.namespace });
  const service = exposeService(object, options);
  await session.client.create(SERVICE_TYPE, service, { namespace: session.namespace, fieldManager: 'berth-expose' });
  session.out(`${objectName(SERVICE_TYPE, service.metadata.name!)} exposed`);
}
