import type { AddressType, Endpoint, EndpointSlice, EndpointSlicePort, Pod, Service } from '@berth/api';
import { type EventRecorder, type Informer, objectKey, runController, type RunningController, splitKey, WorkQueue, keyOf } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { controllerReference } from './claim';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { SERVICES } from './endpoints';
import { endpointAddress, endpointsLabels, endpointsView, ipOrder, managesEndpoints, podBelongsInEndpoints, resolveTargetPort, selectsPod } from './endpoints-subsets';
import { isPodReady } from './pods';
import { canonicalJson } from '@berth/api';
import { clone, ENDPOINT_SLICES, PODS } from './types';

/** The labels that tie a slice to its Service and say who writes it, as Kubernetes names them. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
/** Kubernetes' --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** One slice's worth of content: the ports its endpoints share, and the endpoints. */
export interface SliceContent {
  addressType: AddressType;
  ports: EndpointSlicePort[];
  endpoints: Endpoint[];
}

/**
 * The EndpointSlices a Service should have (Kubernetes' endpointslice reconciler, simplified): its pods, with
 * terminating ones kept and flagged (ready = serving and not terminating, serving = ready), grouped by the
 * ports they resolve the Service's ports to, at most maxPerSlice endpoints a slice, sorted so that the same
 * pods give the same slices.
 */
export function desiredSlices(service: Service, pods: readonly Pod[], maxPerSlice = MAX_ENDPOINTS_PER_SLICE): SliceContent[] {
  if (!managesEndpoints(service)) return [];
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const addressType: AddressType = service.spec?.ipFamilies?.[0] === 'IPv6' || (service.spec?.clusterIP && isIPv6(service.spec.clusterIP)) ? 'IPv6' : 'IPv4';
  const groups = new Map<string, SliceContent>();
  for (const pod of pods) {
    if (!selectsPod(service, pod) || !podBelongsInEndpoints(pod, true)) continue;
    const address = endpointAddress(service, pod);
    if (!address || isIPv6(address.ip) !== (addressType === 'IPv6')) continue;
    const ports: EndpointSlicePort[] = [];
    for (const servicePort of service.spec?.ports ?? []) {
      const port = resolveTargetPort(pod, servicePort);
      if (port === undefined) continue;
      ports.push({ name: servicePort.name ?? '', port, protocol: servicePort.protocol ?? 'TCP', ...(servicePort.appProtocol ? { appProtocol: servicePort.appProtocol } : {}) });
    }
    const terminating = !!pod.metadata.deletionTimestamp;
    const serving = publishNotReady || isPodReady(pod);
    const endpoint: Endpoint = {
      addresses: [address.ip],
      conditions: { ready: serving && !terminating, serving, terminating },
      ...(address.hostname ? { hostname: address.hostname } : {}),
      targetRef: address.targetRef,
      ...(address.nodeName ? { nodeName: address.nodeName } : {}),
    };
    const key = canonicalJson(ports);
    const group = groups.get(key) ?? { addressType, ports, endpoints: [] };
    group.endpoints.push(endpoint);
    groups.set(key, group);
  }
  const slices: SliceContent[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!;
    const endpoints = group.endpoints.sort((a, b) => ipOrder(a.addresses[0]).localeCompare(ipOrder(b.addresses[0])) || (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? ''));
    for (let i = 0; i < endpoints.length; i += maxPerSlice) slices.push({ ...group, endpoints: endpoints.slice(i, i + maxPerSlice) });
  }
  // A Service that selects no pod still has one (empty) slice, as in Kubernetes: clients can tell "no endpoints" from "not yet".
  if (slices.length === 0) slices.push({ addressType, ports: [], endpoints: [] });
  return slices;
}

/** Labels of a Service's slices: the Service's own (with the headless marker), its name, and the manager. */
export function sliceLabels(service: Service): Record<string, string> {
  return { ...endpointsLabels(service), [SERVICE_NAME_LABEL]: service.metadata.name!, [MANAGED_BY_LABEL]: MANAGED_BY };
}

/** `<service>-`, shortened as Kubernetes does when the name leaves no room for the generated suffix. */
function slicePrefix(serviceName: string): string {
  return serviceName.length > 63 - 6 ? `${serviceName.slice(0, 63 - 6)}-` : `${serviceName}-`;
}

function sameContent(slice: EndpointSlice, content: SliceContent, labels: Record<string, string>): boolean {
  return (
    slice.addressType === content.addressType &&
    canonicalJson(slice.ports ?? []) === canonicalJson(content.ports) &&
    canonicalJson(slice.endpoints ?? []) === canonicalJson(content.endpoints) &&
    canonicalJson(slice.metadata.labels ?? {}) === canonicalJson(labels)
  );
}

export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/**
 * What to write so that existing (the Service's slices) hold desired: a slice whose content is already right
 * stays; the others are rewritten in place (same address type) before new ones are created; what is left over
 * is deleted.
 */
export function sliceChanges(service: Service, existing: readonly EndpointSlice[], desired: readonly SliceContent[]): SliceChanges {
  const labels = sliceLabels(service);
  const changes: SliceChanges = { create: [], update: [], delete: [] };
  const unmatched = [...existing].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  const pending: SliceContent[] = [];
  for (const content of desired) {
    const same = unmatched.findIndex((slice) => sameContent(slice, content, labels));
    if (same >= 0) unmatched.splice(same, 1);
    else pending.push(content);
  }
  for (const content of pending) {
    const reusable = unmatched.findIndex((slice) => slice.addressType === content.addressType);
    if (reusable >= 0) {
      const [slice] = unmatched.splice(reusable, 1);
      const next = clone(slice);
      next.metadata.labels = labels;
      next.ports = content.ports;
      next.endpoints = content.endpoints;
      changes.update.push(next);
    } else {
      changes.create.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { generateName: slicePrefix(service.metadata.name!), namespace: service.metadata.namespace, labels, ownerReferences: [controllerReference(service)] },
        addressType: content.addressType,
        ports: content.ports,
        endpoints: content.endpoints,
      });
    }
  }
  changes.delete.push(...unmatched);
  return changes;
}

/**
 * Kubernetes' EndpointSlice controller: beside each selector Service's Endpoints, EndpointSlices labelled
 * `kubernetes.io/service-name` and owned by the Service (the garbage collector removes them with it), listing
 * ready, serving and terminating pods with their node. Slices someone else manages (another managed-by) are
 * left alone.
 */
export class EndpointSliceController {
  readonly queue = new WorkQueue<string>();
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext, private readonly options: { workers?: number } = {}) {
    this.services = ctx.informers.informerFor<Service>({ resource: SERVICES });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.slices = ctx.informers.informerFor<EndpointSlice>({ resource: ENDPOINT_SLICES });
    this.events = ctx.recorder('endpoint-slice-controller');
    this.logger = ctx.logger.child({ controller: 'endpointslice' });
    const enqueueService = (service: Service) => this.queue.add(objectKey(service));
    this.services.addEventHandler({ onAdd: enqueueService, onUpdate: (_, service) => enqueueService(service), onDelete: enqueueService });
    this.pods.addEventHandler({
      onAdd: (pod) => this.enqueueServicesOf(pod),
      onUpdate: (oldPod, pod) => {
        if (endpointsView(oldPod) !== endpointsView(pod)) this.enqueueServicesOf(oldPod, pod);
      },
      onDelete: (pod) => this.enqueueServicesOf(pod),
    });
    const sliceChanged = (slice: EndpointSlice) => {
      const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      if (service && slice.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) this.queue.add(keyOf(slice.metadata.namespace, service));
    };
    this.slices.addEventHandler({ onAdd: sliceChanged, onUpdate: (_, slice) => sliceChanged(slice), onDelete: sliceChanged });
  }

  start(): RunningController {
    return runController({
      name: 'endpointslice',
      queue: this.queue,
      workers: this.options.workers ?? 5,
      logger: this.logger,
      waitFor: [this.services, this.pods, this.slices],
      reconcile: this.ctx.metrics.instrument('endpointslice', this.queue, (key) => this.reconcile(key)),
    });
  }

  private enqueueServicesOf(...pods: Pod[]): void {
    for (const service of inNamespace(this.services, pods[0].metadata.namespace)) {
      if (pods.some((pod) => selectsPod(service, pod))) this.queue.add(objectKey(service));
    }
  }

  async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const service = this.services.get(key);
    const ours = inNamespace(this.slices, namespace).filter(
      (slice) => slice.metadata.labels?.[SERVICE_NAME_LABEL] === name && slice.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
    );
    // Gone, or no longer selecting pods: its slices go (the garbage collector would too, for a deleted Service).
    const desired = service && !service.metadata.deletionTimestamp ? desiredSlices(service, inNamespace(this.pods, namespace)) : [];
    const owned = service ? ours.filter((slice) => slice.metadata.ownerReferences?.some((ref) => ref.uid === service.metadata.uid)) : [];
    const stale = ours.filter((slice) => !owned.includes(slice));
    const changes = service && desired.length ? sliceChanges(service, owned, desired) : { create: [], update: [], delete: owned };
    changes.delete.push(...stale);
    try {
      for (const slice of changes.update) await this.ctx.client.update<EndpointSlice>(ENDPOINT_SLICES, slice);
      for (const slice of changes.create) await this.ctx.client.create<EndpointSlice>(ENDPOINT_SLICES, slice);
      for (const slice of changes.delete) await ignoreNotFound(this.ctx.client.delete(ENDPOINT_SLICES, slice.metadata.name!, { namespace }));
    } catch (err) {
      // A cache behind the server conflicts; the retry sees the newer object. Anything else is worth an event.
      if (service && !isBerthError(err, 'Conflict')) {
        this.events.record(service, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${key}: ${(err as Error).message}`);
      }
      throw err;
    }
  }
}
