import type { KubeObject } from '@berth/api';
import type { KubeClient } from '@berth/client';
import type { InformerScope } from './factory';
import type { ListWatch } from './list-watch';
import { streamListWatch } from './stream-list-watch';

/** Watches end after 5 to 10 minutes, as client-go's reflector asks, so connections are renewed and spread out. */
function watchTimeoutSeconds(): number {
  return 300 + Math.floor(Math.random() * 300);
}

/** Lists and watches a scope through the REST client: what informers of every berth component run on. */
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
