import type { Endpoints, LoadBalancerIngress, Node, Service } from '@berth/api';
import { type EventRecorder, type Informer, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import type { Logger } from 'pino';
import { isIPv4 } from 'node:net';
import { type ControllerContext, ignoreNotFound } from './context';
import { ENDPOINTS, SERVICES } from './endpoints';
import { readyOf } from './node-lifecycle';
import { canonicalJson } from '@berth/api';
import { clone, NODES } from './types';

/**
 * Once any Node carries this label, only Nodes labelled `true` publish LoadBalancer Services (k3s's
 * `svccontroller.k3s.cattle.io/enablelb`): an operator picks the nodes that face the outside.
 */
export const LB_ENABLED_LABEL = 'svccontroller.berth.io/enablelb';
/** In that mode, a Service with this label is published only on Nodes of the same pool label. */
export const LB_POOL_LABEL = 'svccontroller.berth.io/lbpool';

/** The Services this controller answers for: a `loadBalancerClass` names another implementation. */
export function isServiceLoadBalancer(service: Service): boolean {
  return service.spec?.type === 'LoadBalancer' && !service.spec.loadBalancerClass;
}

/** Nodes with a ready endpoint of the Service: the only ones that answer for it under externalTrafficPolicy Local. */
function nodesWithReadyEndpoints(endpoints: Endpoints | undefined): Set<string> {
  return new Set(
    (endpoints?.subsets ?? []).flatMap((subset) => (subset.addresses ?? []).flatMap((address) => (address.nodeName ? [address.nodeName] : []))),
  );
}

/** Whether the node may publish the Service, before addresses are looked at. */
function publishes(node: Node, service: Service, labelledMode: boolean, localNodes: Set<string> | undefined): boolean {
  if (node.metadata.deletionTimestamp || readyOf(node)?.status !== 'True') return false;
  if (labelledMode) {
    const labels = node.metadata.labels ?? {};
    if (labels[LB_ENABLED_LABEL] !== 'true') return false;
    const pool = service.metadata.labels?.[LB_POOL_LABEL];
    if (pool && labels[LB_POOL_LABEL] !== pool) return false;
  }
  return !localNodes || localNodes.has(node.metadata.name!);
}

/**
 * Where a LoadBalancer Service is published, as k3s's ServiceLB decides it: on every Ready node (cordoned
 * ones too: the load balancer is not a workload), or only the labelled ones once any node is labelled;
 * with externalTrafficPolicy Local only on nodes that run a ready endpoint. The addresses are those nodes'
 * ExternalIPs when any has one (an InternalIP beside them would not be reachable from where external
 * clients are), else their InternalIPs; IPv4 only, as the Services are; sorted so the status is stable.
 */
export function loadBalancerIngress(service: Service, nodes: readonly Node[], endpoints: Endpoints | undefined): LoadBalancerIngress[] {
  const labelledMode = nodes.some((node) => node.metadata.labels?.[LB_ENABLED_LABEL] !== undefined);
  const localNodes = service.spec?.externalTrafficPolicy === 'Local' ? nodesWithReadyEndpoints(endpoints) : undefined;
  const addresses = nodes
    .filter((node) => publishes(node, service, labelledMode, localNodes))
    .flatMap((node) => node.status?.addresses ?? [])
    .filter((address) => isIPv4(address.address));
  const external = addresses.filter((a) => a.type === 'ExternalIP');
  const chosen = external.length ? external : addresses.filter((a) => a.type === 'InternalIP');
  return [...new Set(chosen.map((a) => a.address))].sort().map((ip) => ({ ip }));
}

/** What about a Node decides where Services are published; a heartbeat changes none of it. */
function publishingView(node: Node): string {
  const labels = node.metadata.labels ?? {};
  return canonicalJson({
    deleting: !!node.metadata.deletionTimestamp,
    ready: readyOf(node)?.status,
    addresses: node.status?.addresses ?? [],
    enabled: labels[LB_ENABLED_LABEL],
    pool: labels[LB_POOL_LABEL],
  });
}

const describeIngress = (ingress: readonly LoadBalancerIngress[]) => `[${ingress.map((i) => i.ip || i.hostname).join(' ')}]`;

/**
 * ServiceLB, k3s style: gives every LoadBalancer Service (without a loadBalancerClass) the addresses of
 * the nodes that publish it in status.loadBalancer.ingress. Every node's service proxy then answers on
 * those addresses at the Service's ports, so no cloud load balancer is needed. A Service that stops being
 * a LoadBalancer loses its ingress. Written through the status subresource, only when it changes.
 */
export class ServiceLoadBalancerController {
  readonly queue = new WorkQueue<string>();
  private readonly services: Informer<Service>;
  private readonly nodes: Informer<Node>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext) {
    this.services = ctx.informers.informerFor<Service>({ resource: SERVICES });
    this.nodes = ctx.informers.informerFor<Node>({ resource: NODES });
    this.endpoints = ctx.informers.informerFor<Endpoints>({ resource: ENDPOINTS });
    this.events = ctx.recorder('service-lb-controller');
    this.logger = ctx.logger.child({ controller: 'service-lb' });
    const enqueue = (service: Service) => this.queue.add(objectKey(service));
    this.services.addEventHandler({ onAdd: enqueue, onUpdate: (_, service) => enqueue(service) });
    this.nodes.addEventHandler({
      onAdd: () => this.enqueueLoadBalancers(),
      onUpdate: (oldNode, node) => {
        if (publishingView(oldNode) !== publishingView(node)) this.enqueueLoadBalancers();
      },
      onDelete: () => this.enqueueLoadBalancers(),
    });
    const enqueueLocal = (endpoints: Endpoints) => {
      const service = this.services.get(objectKey(endpoints));
      if (service && isServiceLoadBalancer(service) && service.spec?.externalTrafficPolicy === 'Local') enqueue(service);
    };
    this.endpoints.addEventHandler({ onAdd: enqueueLocal, onUpdate: (_, endpoints) => enqueueLocal(endpoints), onDelete: enqueueLocal });
  }

  start(): RunningController {
    return runController({
      name: 'service-lb',
      queue: this.queue,
      logger: this.logger,
      waitFor: [this.services, this.nodes, this.endpoints],
      reconcile: this.ctx.metrics.instrument('service-lb', this.queue, (key) => this.reconcile(key)),
    });
  }

  private enqueueLoadBalancers(): void {
    for (const service of this.services.list()) if (isServiceLoadBalancer(service)) this.queue.add(objectKey(service));
  }

  async reconcile(key: string): Promise<void> {
    const cached = this.services.get(key);
    if (!cached) return;
    const balanced = isServiceLoadBalancer(cached);
    // Another implementation's Service: its status is that implementation's.
    if (!balanced && cached.spec?.type === 'LoadBalancer') return;
    const current = cached.status?.loadBalancer?.ingress ?? [];
    const desired = balanced ? loadBalancerIngress(cached, this.nodes.list(), this.endpoints.get(key)) : [];
    if (canonicalJson(current) === canonicalJson(desired)) return;
    const service = clone(cached);
    service.status = { ...service.status, loadBalancer: desired.length ? { ingress: desired } : {} };
    // At the cached resourceVersion: a Service changed meanwhile conflicts and is retried from the newer copy.
    if (!(await ignoreNotFound(this.ctx.client.updateStatus<Service>(SERVICES, service)))) return;
    this.logger.info({ service: key, ingress: desired }, 'load balancer status updated');
    if (!balanced) this.events.record(cached, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
    else if (!desired.length) this.events.record(cached, 'Warning', 'UnAvailableLoadBalancer', 'There are no available nodes for LoadBalancer');
    else this.events.record(cached, 'Normal', 'UpdatedLoadBalancer', `Updated LoadBalancer with new IPs: ${describeIngress(current)} -> ${describeIngress(desired)}`);
  }
}
