import { type KubeObject, type Pod, resourceForKind, type ResourceType } from '@berth/api';
import type { KubeClient } from '@berth/client';

const PODS = resourceForKind('v1', 'Pod')!;

/**
 * Creates `owner` and resolves with the ms until `count` of the pods that match labelSelector pass
 * `done` (what: how done reads in the error), watched from before the create.
 */
export async function createUntilPods(
  client: KubeClient,
  type: ResourceType,
  owner: KubeObject,
  labelSelector: string,
  count: number,
  done: (pod: Pod) => boolean,
  what: string,
): Promise<number> {
  const namespace = owner.metadata.namespace;
  const { metadata } = await client.list(PODS, { namespace, labelSelector });
  const watch = await client.watch<Pod>(PODS, { namespace, labelSelector, resourceVersion: metadata.resourceVersion });
  try {
    const passed = new Set<string>();
    const started = performance.now();
    await client.create(type, owner);
    for await (const event of watch) {
      const podName = event.object.metadata.name!;
      if (event.type !== 'DELETED' && done(event.object)) passed.add(podName);
      else passed.delete(podName);
      if (passed.size === count) return performance.now() - started;
    }
    throw new Error(`the pod watch ended with ${passed.size} of ${count} pods of ${owner.metadata.name} ${what}`);
  } finally {
    watch.close();
  }
}
