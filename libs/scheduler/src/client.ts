import { resourceForKind, type KubeObject, type ResourceType } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { streamListWatch, type InformerScope, type ListWatch } from '@berth/controller';
import { errors } from '@berth/errors';

/** The part of the API client the scheduler uses. */
export type SchedulerClient = Pick<KubeClient, 'list' | 'watch' | 'create' | 'patch' | 'request'>;

function builtInType(kind: string): ResourceType {
  const type = resourceForKind('v1', kind);
  if (!type) throw errors.internal(`the resource registry has no v1 ${kind}`);
  return type;
}

export const POD_TYPE = builtInType('Pod');
export const NODE_TYPE = builtInType('Node');
export const EVENT_TYPE = builtInType('Event');

/** Watches end after 5 to 10 minutes, as client-go's reflector asks, so connections are renewed and spread out. */
function watchTimeoutSeconds(): number {
  return 300 + Math.floor(Math.random() * 300);
}

/** Lists and watches a scope through the REST client, for informers. */
export function clientListWatch(client: Pick<KubeClient, 'list' | 'watch'>): (scope: InformerScope) => ListWatch<KubeObject> {
  return (scope) => {
    const selection = { namespace: scope.namespace, labelSelector: scope.labelSelector, fieldSelector: scope.fieldSelector };
    return streamListWatch<KubeObject>({
      async list() {
        const list = await client.list(scope.resource, selection);
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      watch: (resourceVersion) =>
        client.watch(scope.resource, { ...selection, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds() }),
    });
  };
}
