import { type Endpoints, type Pod, resourceForKind, type Service } from '@berth/api';
import { enqueueMapped, type EventRecorder, type Informer, objectKey, runController, type RunningController, splitKey, WorkQueue } from '@berth/controller';
import { errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { endpointsToWrite, endpointSubsets, endpointsView, managesEndpoints, selectsPod } from './endpoints-subsets';
import { PODS } from './types';

function coreType(kind: string) {
  const type = resourceForKind('v1', kind);
  if (!type) throw errors.internal(`resource v1 ${kind} is not registered`);
  return type;
}

export const SERVICES = coreType('Service');
export const ENDPOINTS = coreType('Endpoints');

export interface EndpointsControllerOptions {
  /** Services reconciled at once (Kubernetes' --concurrent-endpoint-syncs); default 5. */
  workers?: number;
}

/**
 * Kubernetes' Endpoints controller: every Service with a selector gets an Endpoints object of the same name
 * listing the addresses and ports of the pods it selects, ready ones apart from not-ready ones. Services
 * without a selector keep the Endpoints their users write. Pod events enqueue their Services at once, with
 * no batching, since proxies follow these objects.
 */
export class EndpointsController {
  readonly queue = new WorkQueue<string>();
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly events: EventRecorder;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext, private readonly options: EndpointsControllerOptions = {}) {
    this.services = ctx.informers.informerFor<Service>({ resource: SERVICES });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.endpoints = ctx.informers.informerFor<Endpoints>({ resource: ENDPOINTS });
    this.events = ctx.recorder('endpoint-controller');
    this.logger = ctx.logger.child({ controller: 'endpoints' });
    const enqueueService = (service: Service) => this.queue.add(objectKey(service));
    this.services.addEventHandler({ onAdd: enqueueService, onUpdate: (_, service) => enqueueService(service), onDelete: enqueueService });
    this.pods.addEventHandler({
      onAdd: (pod) => this.enqueueServicesOf(pod),
      onUpdate: (oldPod, pod) => {
        if (endpointsView(oldPod) === endpointsView(pod)) return;
        // The old labels matter too: a pod leaving a selector must leave that Service's Endpoints.
        this.enqueueServicesOf(oldPod, pod);
      },
      onDelete: (pod) => this.enqueueServicesOf(pod),
    });
    // Any change to the Endpoints of a known Service is checked: someone else's edit or deletion is undone, and
    // a reconcile that compared against a cache still behind its own last write gets another look once the
    // cache has caught up. Endpoints without a Service are left alone: a user may create them before it.
    this.endpoints.addEventHandler(
      enqueueMapped<Endpoints>(this.queue, (endpoints) => (this.services.get(objectKey(endpoints)) ? [objectKey(endpoints)] : [])),
    );
  }

  start(): RunningController {
    // Endpoints left behind by Services deleted while no controller ran are found once, at start, as Kubernetes does.
    void this.endpoints.waitForSync().then(
      () => {
        for (const endpoints of this.endpoints.list()) this.queue.add(objectKey(endpoints));
      },
      () => undefined,
    );
    return runController({
      name: 'endpoints',
      queue: this.queue,
      workers: this.options.workers ?? 5,
      logger: this.logger,
      waitFor: [this.services, this.pods, this.endpoints],
      reconcile: this.ctx.metrics.instrument('endpoints', this.queue, (key) => this.reconcile(key)),
    });
  }

  private enqueueServicesOf(...pods: Pod[]): void {
    const namespace = pods[0].metadata.namespace;
    for (const service of inNamespace(this.services, namespace)) {
      if (pods.some((pod) => selectsPod(service, pod))) this.queue.add(objectKey(service));
    }
  }

  async reconcile(key: string): Promise<void> {
    const service = this.services.get(key);
    const { namespace, name } = splitKey(key);
    if (!service) {
      // Endpoints go with their Service, whoever wrote them (Kubernetes' ownership by name). Deleted without
      // asking the cache, which may not have seen Endpoints written just before the Service went.
      await ignoreNotFound(this.ctx.client.delete(ENDPOINTS, name, { namespace }));
      return;
    }
    if (!managesEndpoints(service)) return;
    const current = this.endpoints.get(key);
    const subsets = endpointSubsets(service, inNamespace(this.pods, namespace));
    const desired = endpointsToWrite(service, subsets, current);
    if (!desired) return;
    try {
      if (current) await this.ctx.client.update<Endpoints>(ENDPOINTS, desired);
      else await this.ctx.client.create<Endpoints>(ENDPOINTS, desired);
    } catch (err) {
      // A cache behind the server conflicts; the retry sees the newer object. Anything else is worth an event.
      if (!isBerthError(err, 'Conflict') && !isBerthError(err, 'AlreadyExists')) {
        const message = (err as Error).message ?? String(err);
        if (current) this.events.record(desired, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${key}: ${message}`);
        else this.events.record(desired, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${key}: ${message}`);
      }
      throw err;
    }
  }
}
