/** Shared fixtures for this lib's specs (not exported from index.ts). */
import type { KubeObject, OwnerReference } from '@berth/api';
import { MemoryStore } from '@berth/store';
import pino from 'pino';
import type { EventHandler } from './informer';

export const silentLogger = pino({ level: 'silent' });

export const PREFIX = '/registry/pods/';

export interface PodFields {
  namespace?: string;
  labels?: Record<string, string>;
  nodeName?: string;
  owners?: OwnerReference[];
  image?: string;
}

export function pod(name: string, fields: PodFields = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: fields.namespace ?? 'default',
      uid: `uid-${name}`,
      labels: fields.labels,
      ownerReferences: fields.owners,
    },
    spec: { nodeName: fields.nodeName, containers: [{ name: 'c', image: fields.image ?? 'busybox' }] },
  };
}

/** Writes pods into a MemoryStore the way the apiserver lays them out. */
export class PodStore {
  readonly store = new MemoryStore();

  private keyOf(obj: KubeObject): string {
    return `${PREFIX}${obj.metadata.namespace}/${obj.metadata.name}`;
  }

  async put(obj: KubeObject): Promise<void> {
    const key = this.keyOf(obj);
    if (await this.store.get(key)) await this.store.update(key, JSON.stringify(obj));
    else await this.store.create(key, JSON.stringify(obj));
  }

  async remove(obj: KubeObject): Promise<void> {
    await this.store.delete(this.keyOf(obj));
  }

  async compactAll(): Promise<void> {
    await this.store.compact(await this.store.currentRevision());
  }
}

export type Delivery = ['add', string] | ['update', string, string, string] | ['delete', string];

/** Records what an informer tells its handlers as [event, name, old rv, new rv] tuples. */
export function recorder(): { events: Delivery[]; handler: EventHandler<KubeObject> } {
  const events: Delivery[] = [];
  return {
    events,
    handler: {
      onAdd: (obj) => events.push(['add', obj.metadata.name!]),
      onUpdate: (old, obj) => events.push(['update', obj.metadata.name!, old.metadata.resourceVersion!, obj.metadata.resourceVersion!]),
      onDelete: (obj) => events.push(['delete', obj.metadata.name!]),
    },
  };
}
