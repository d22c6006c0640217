import { RESOURCES, type KubeObject } from '@berth/api';
import { waitFor } from '@berth/testing';
import { SharedInformerFactory, type InformerScope } from './factory';
import { MemoryListWatch } from './memory-list-watch';
import { pod, PodStore, PREFIX, silentLogger } from './spec-helpers';

const PODS = RESOURCES.find((r) => r.kind === 'Pod')!;

describe('SharedInformerFactory', () => {
  it('shares one list/watch per scope and starts informers requested after start', async () => {
    const pods = new PodStore();
    const scopes: InformerScope[] = [];
    const factory = new SharedInformerFactory({
      logger: silentLogger,
      listWatchFor: (scope) => {
        scopes.push(scope);
        return new MemoryListWatch<KubeObject>(pods.store, { prefix: `${PREFIX}${scope.namespace ? `${scope.namespace}/` : ''}`, labelSelector: scope.labelSelector });
      },
    });
    try {
      await pods.put(pod('a', { nodeName: 'n1' }));
      await pods.put(pod('b', { namespace: 'other', labels: { app: 'web' } }));
      const nodeName = (p: KubeObject) => [(p.spec as { nodeName?: string }).nodeName ?? ''];
      const forScheduler = factory.informerFor({ resource: PODS }, { nodeName });
      const forReplicaSets = factory.informerFor({ resource: PODS }, { nodeName, byName: (p) => [p.metadata.name!] });
      expect(forReplicaSets).toBe(forScheduler);
      factory.start();
      const labelled = factory.informerFor({ resource: PODS, labelSelector: 'app=web' });
      const namespaced = factory.informerFor({ resource: PODS, namespace: 'default' });
      expect(labelled).not.toBe(forScheduler);
      await factory.waitForSync(5000);

      expect(scopes).toHaveLength(3);
      expect(forScheduler.byIndex('nodeName', 'n1').map((p) => p.metadata.name)).toEqual(['a']);
      expect(forScheduler.byIndex('byName', 'b')).toHaveLength(1);
      expect(labelled.list().map((p) => p.metadata.name)).toEqual(['b']);
      expect(namespaced.list().map((p) => p.metadata.name)).toEqual(['a']);

      await pods.put(pod('c', { labels: { app: 'web' } }));
      await waitFor(() => labelled.list().length === 2 && forScheduler.list().length === 3);
    } finally {
      await factory.stop();
      await pods.store.close();
    }
  });
});
