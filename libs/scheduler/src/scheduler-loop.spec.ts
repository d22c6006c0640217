/**
 * The reconciler against an in-memory cluster: informers over a MemoryStore and a fake client whose
 * bindings write spec.nodeName into the store (or fail as the test says), so races are staged exactly.
 */
import type { KubeObject, Node, Pod } from '@berth/api';
import { MemoryListWatch, SharedInformerFactory } from '@berth/controller';
import { errors, type BerthError } from '@berth/errors';
import { MemoryStore } from '@berth/store';
import { waitFor } from '@berth/testing';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startScheduler, type RunningScheduler } from './scheduler';
import { node, pod } from './spec-helpers';

const storeKey = (obj: KubeObject) => (obj.kind === 'Node' ? `/registry/nodes/${obj.metadata.name}` : `/registry/pods/${obj.metadata.namespace}/${obj.metadata.name}`);

class FakeCluster {
  readonly store = new MemoryStore();
  readonly bindings: Array<{ pod: string; node: string }> = [];
  readonly events: KubeObject[] = [];
  readonly statusPatches: Array<{ pod: string; patch: unknown }> = [];
  readonly eventPatches: Array<{ name: string; patch: unknown }> = [];
  /** When set, the next binding fails with this error (after the store is changed by `beforeFailing`). */
  failNextBinding?: { error: BerthError; beforeFailing?: () => Promise<void> };

  async put(obj: KubeObject): Promise<void> {
    const key = storeKey(obj);
    if (await this.store.get(key)) await this.store.update(key, JSON.stringify(obj));
    else await this.store.create(key, JSON.stringify(obj));
  }

  async read<T extends KubeObject>(key: string): Promise<T | undefined> {
    const kv = await this.store.get(key);
    return kv ? (JSON.parse(kv.value) as T) : undefined;
  }

  informers(): SharedInformerFactory {
    return new SharedInformerFactory({
      listWatchFor: (scope) => new MemoryListWatch(this.store, { prefix: `/registry/${scope.resource.plural}/` }),
      logger: pino({ level: 'silent' }),
    });
  }

  readonly client = {
    list: async () => {
      throw errors.internal('informers are given');
    },
    watch: async () => {
      throw errors.internal('informers are given');
    },
    create: async <T extends KubeObject>(_type: unknown, obj: T): Promise<T> => {
      this.events.push(obj);
      return obj;
    },
    /** Event patches are recorded; pods/status patches of a condition replace the condition of that type. */
    patch: async <T extends KubeObject>(type: { plural: string }, name: string, patch: unknown, opts: { namespace?: string }): Promise<T> => {
      if (type.plural === 'events') {
        this.eventPatches.push({ name, patch });
        return {} as T;
      }
      this.statusPatches.push({ pod: name, patch });
      const current = (await this.read<Pod>(`/registry/pods/${opts.namespace}/${name}`))!;
      const [condition] = (patch as { status: { conditions: Array<{ type: string; status: 'True' | 'False' }> } }).status.conditions;
      const others = (current.status?.conditions ?? []).filter((c) => c.type !== condition.type);
      await this.put({ ...current, status: { ...current.status, conditions: [...others, condition] } } as Pod);
      return {} as T;
    },
    request: async <T>(req: { path: string; body?: unknown }): Promise<T> => {
      const [, namespace, name] = /namespaces\/([^/]+)\/pods\/([^/]+)\/binding$/.exec(req.path)!;
      const failure = this.failNextBinding;
      if (failure) {
        this.failNextBinding = undefined;
        await failure.beforeFailing?.();
        throw failure.error;
      }
      const target = (req.body as { target: { name: string } }).target.name;
      const current = (await this.read<Pod>(`/registry/pods/${namespace}/${name}`))!;
      await this.put({ ...current, spec: { ...current.spec!, nodeName: target } } as Pod);
      this.bindings.push({ pod: name, node: target });
      return {} as T;
    },
  };
}

describe('scheduler loop', () => {
  let cluster: FakeCluster;
  let informers: SharedInformerFactory;
  let scheduler: RunningScheduler | undefined;
  let metrics: Registry;

  beforeEach(() => {
    cluster = new FakeCluster();
    informers = cluster.informers();
    metrics = new Registry();
  });

  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await informers.stop();
  });

  async function start(): Promise<void> {
    scheduler = startScheduler({ client: cluster.client as never, informers, logger: pino({ level: 'silent' }), metrics, unschedulableRetryMs: 60_000 });
    await scheduler.waitForSync(5000);
  }

  it('drops a binding that conflicts (the pod was bound meanwhile) and does not count it as an error', async () => {
    await cluster.put(node('n1') as Node);
    await start();
    cluster.failNextBinding = {
      error: errors.conflict('pods', 'p', 'pod p is already assigned to node "elsewhere"'),
      beforeFailing: async () => {
        const current = (await cluster.read<Pod>('/registry/pods/default/p'))!;
        await cluster.put({ ...current, spec: { ...current.spec!, nodeName: 'elsewhere' } } as Pod);
      },
    };
    await cluster.put(pod('p', { cpu: '1' }));
    await waitFor(async () => (await cluster.read<Pod>('/registry/pods/default/p'))?.spec?.nodeName === 'elsewhere');
    const text = await waitFor(async () => {
      const all = await metrics.metrics();
      return /scheduler_schedule_attempts_total/.test(all) ? all : undefined;
    });
    expect(text).not.toContain('result="error"');
    expect(cluster.bindings).toEqual([]);
    // Nothing held on n1 for the dropped decision: a pod needing the whole node still fits there.
    await cluster.put(pod('whole', { cpu: '2' }));
    await waitFor(() => cluster.bindings.some((b) => b.pod === 'whole' && b.node === 'n1'));
  });

  it('retries a binding that failed for another reason', async () => {
    await cluster.put(node('n1') as Node);
    await start();
    cluster.failNextBinding = { error: errors.unavailable('apiserver restarting') };
    await cluster.put(pod('p'));
    await waitFor(() => cluster.bindings.some((b) => b.pod === 'p'));
    expect(await metrics.metrics()).toContain('scheduler_schedule_attempts_total{result="error"} 1');
  });

  it('marks an unschedulable pod, is not woken by its own status write, and is woken when a node frees up', async () => {
    await cluster.put(node('n1', { cpu: '1' }) as Node);
    await cluster.put(pod('big', { cpu: '1', nodeName: 'n1' }));
    await start();
    await cluster.put(pod('p', { cpu: '1' }));
    await waitFor(() => cluster.statusPatches.length === 1);
    expect(cluster.statusPatches[0].patch).toMatchObject({
      status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] },
    });
    await waitFor(() => cluster.events.length === 1);
    expect(cluster.events[0]).toMatchObject({ reason: 'FailedScheduling', type: 'Warning', source: { component: 'default-scheduler' } });

    await cluster.store.delete('/registry/pods/default/big');
    await waitFor(() => cluster.bindings.some((b) => b.pod === 'p' && b.node === 'n1'));
    await waitFor(() => cluster.statusPatches.length === 2);
    expect(cluster.statusPatches[1].patch).toMatchObject({ status: { conditions: [{ type: 'PodScheduled', status: 'True', reason: null, message: null }] } });
    // One failed attempt, one successful: the PodScheduled=False write did not trigger a second attempt.
    expect(cluster.eventPatches).toEqual([]);
    await waitFor(() => cluster.events.length === 2);
    expect(cluster.events.map((e) => (e as { reason?: string }).reason)).toEqual(['FailedScheduling', 'Scheduled']);
  });

  it('ignores pods for other schedulers, bound pods and pods being deleted', async () => {
    await cluster.put(node('n1') as Node);
    await start();
    const deleting = pod('deleting');
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    await cluster.put(deleting);
    await cluster.put(pod('other', { spec: { schedulerName: 'someone-else' } }));
    await cluster.put(pod('bound', { nodeName: 'n1' }));
    await cluster.put(pod('mine'));
    await waitFor(() => cluster.bindings.length === 1);
    expect(cluster.bindings).toEqual([{ pod: 'mine', node: 'n1' }]);
  });
});
