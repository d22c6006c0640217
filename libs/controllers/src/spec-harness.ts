import type { KubeObject } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { type EventRecorder, memoryListWatch, SharedInformerFactory, type WorkQueue } from '@berth/controller';
import { MemoryStore } from '@berth/store';
import pino from 'pino';
import type { ControllerContext } from './context';
import { ControllerMetrics } from './metrics';

/**
 * For the controllers' unit specs (not exported): shared informers over an in-memory store, an event
 * recorder that keeps `Type Reason: message` lines, and `put` to write an object where the informers see it
 * (a uid `uid-<namespace>-<name>` given to one without).
 */
export function memoryHarness(client: KubeClient): { informers: SharedInformerFactory; events: string[]; ctx: ControllerContext; put(plural: string, obj: KubeObject): Promise<void> } {
  const store = new MemoryStore();
  const informers = new SharedInformerFactory({
    listWatchFor: (scope) => memoryListWatch(store, { prefix: `/${scope.resource.plural}/` }),
    logger: pino({ level: 'silent' }),
  });
  const events: string[] = [];
  const recorder = { record: (_obj: KubeObject, type: string, reason: string, message: string) => events.push(`${type} ${reason}: ${message}`), forgetObject: () => undefined } as unknown as EventRecorder;
  const ctx: ControllerContext = { client, informers, logger: pino({ level: 'silent' }), metrics: new ControllerMetrics(), recorder: () => recorder };
  async function put(plural: string, obj: KubeObject): Promise<void> {
    const key = `/${plural}/${obj.metadata.namespace}/${obj.metadata.name}`;
    obj.metadata.uid ??= `uid-${obj.metadata.namespace}-${obj.metadata.name}`;
    if (await store.get(key)) await store.update(key, JSON.stringify(obj));
    else await store.create(key, JSON.stringify(obj));
  }
  return { informers, events, ctx, put };
}

/** The keys queued, sorted, emptying the queue. */
export async function drain(queue: WorkQueue<string>): Promise<string[]> {
  const keys: string[] = [];
  while (queue.length) {
    const key = (await queue.get())!;
    keys.push(key);
    queue.done(key);
  }
  return keys.sort();
}

export async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
