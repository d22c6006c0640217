import { resourceForKind, type Event, type KubeObject } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';

const EVENT_TYPE = resourceForKind('v1', 'Event')!;

export type EventType = 'Normal' | 'Warning';

/** metav1.Time: RFC 3339 in whole seconds. */
export function eventTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
}

let sequence = 0n;

/** `<object>.<hex nanoseconds>` as client-go names events; the counter keeps names made in one millisecond apart. */
function eventName(objectName: string): string {
  const nanos = BigInt(Date.now()) * 1_000_000n + (sequence++ % 1_000_000n);
  return `${objectName}.${nanos.toString(16)}`;
}

/**
 * Writes Events about objects in the background (cluster-scoped ones land in `default`, as in Kubernetes). Like client-go's correlator, an event identical to one
 * already written (same object, type, reason and message) bumps that event's count and lastTimestamp
 * instead of creating another. Writes for one event are serialised so counts never go backwards.
 */
export class EventRecorder {
  private readonly recorded = new Map<string, Recorded>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly client: Pick<KubeClient, 'create' | 'patch'>,
    private readonly component: string,
    private readonly instance: string,
    private readonly logger: Logger,
    /** How many distinct events are remembered for aggregation; the oldest are forgotten first. */
    private readonly memory = 4096,
  ) {}

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const key = [obj.metadata.uid, type, reason, message].join('\0');
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.write(key, obj, type, reason, message))
      .catch((err) => this.logger.warn({ err, reason, object: `${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}` }, 'could not write event'))
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  /** Resolves once every event recorded so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.all(this.chains.values());
  }

  /** Forgets the events about an object that is gone. */
  forgetObject(uid: string | undefined): void {
    if (!uid) return;
    for (const key of this.recorded.keys()) if (key.startsWith(`${uid}\0`)) this.recorded.delete(key);
  }

  private async write(key: string, obj: KubeObject, type: string, reason: string, message: string): Promise<void> {
    const now = eventTime();
    const seen = this.recorded.get(key);
    if (seen) {
      try {
        await this.client.patch(EVENT_TYPE, seen.name, { count: seen.count + 1, lastTimestamp: now }, { namespace: seen.namespace, type: 'merge' });
        seen.count++;
        this.remember(key, seen);
        return;
      } catch (err) {
        if (!isBerthError(err, 'NotFound')) throw err;
        this.recorded.delete(key);
      }
    }
    const namespace = obj.metadata.namespace || 'default';
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(obj.metadata.name ?? 'object'), namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const created = await this.client.create(EVENT_TYPE, event, { namespace });
    this.remember(key, { name: created.metadata.name ?? event.metadata.name!, namespace, count: 1 });
  }

  private remember(key: string, recorded: Recorded): void {
    this.recorded.delete(key);
    this.recorded.set(key, recorded);
    if (this.recorded.size > this.memory) this.recorded.delete(this.recorded.keys().next().value!);
  }
}
