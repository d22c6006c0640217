import type { Event, KubeObject } from '@berth/api';
import type { KubeClient } from '@berth/client';
import type { Logger } from 'pino';
import { EVENTS } from './types';

export type EventType = 'Normal' | 'Warning';

/**
 * Writes core/v1 Events about objects, for `kubectl describe` and `kubectl get events`. Recording never
 * blocks or fails a reconcile: a lost event is logged, not retried. flush() waits for those in flight.
 */
export class EventRecorder {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly logger: Logger,
  ) {}

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const now = new Date().toISOString();
    const namespace = obj.metadata.namespace || 'default';
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.component },
      reportingComponent: this.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const write = this.client
      .create(EVENTS, event, { namespace })
      .then(() => undefined)
      .catch((err: unknown) => this.logger.warn({ err, reason, object: obj.metadata.name }, 'could not record event'))
      .finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
