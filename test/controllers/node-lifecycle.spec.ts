import type { Node, Pod } from '@berth/api';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '@berth/controllers';
import { waitFor } from '@berth/testing';
import { eventsAbout, listOf, startCluster, type TestCluster, types } from './cluster';
import { deployment, NS } from './fixtures';

// Short enough for a test, long enough that a busy machine still renews a 200 ms Lease in time.
const GRACE_MS = 2500;
const EVICTION_MS = 1000;

describe('node lifecycle against a real apiserver', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: ['node-a', 'node-b', 'node-c'], nodeMonitorGracePeriodMs: GRACE_MS, podEvictionTimeoutMs: EVICTION_MS });
  });

  afterAll(async () => {
    await cluster?.cleanup();
  });

  const node = (name: string) => cluster.client.get<Node>(types.nodes, name);
  const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready');
  const runningPods = async () => (await listOf<Pod>(cluster.client, types.pods, NS, 'app=spread')).filter((p) => p.status?.phase === 'Running');

  it('marks a silent node NotReady and unreachable, moves its pods, and takes it back when it renews again', async () => {
    await cluster.client.create(types.deployments, deployment('spread', 6));
    const pods = await waitFor(async () => {
      const running = await runningPods();
      return running.length === 6 ? running : undefined;
    }, 20_000, '6 pods running');
    const onA = pods.filter((p) => p.spec?.nodeName === 'node-a').map((p) => p.metadata.name);
    expect(onA.length).toBeGreaterThan(0);
    // Healthy nodes that renew stay Ready past the grace period.
    expect(ready(await node('node-b'))?.status).toBe('True');

    cluster.kubelets.stopNode('node-a');
    const notReady = await waitFor(async () => {
      const n = await node('node-a');
      return ready(n)?.status === 'Unknown' ? n : undefined;
    }, GRACE_MS + 10_000, 'node-a to become NotReady');
    expect(ready(notReady)).toMatchObject({ reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    const tainted = await waitFor(async () => {
      const n = await node('node-a');
      return (n.spec?.taints ?? []).length === 2 ? n : undefined;
    }, 10_000, 'node-a to be tainted');
    expect(tainted.spec?.taints).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: TAINT_UNREACHABLE, effect: 'NoSchedule' }),
        expect.objectContaining({ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: expect.any(String) }),
      ]),
    );

    // Its pods are deleted after the eviction timeout and replaced on the other nodes.
    const moved = await waitFor(async () => {
      const running = await runningPods();
      return running.length === 6 && running.every((p) => p.spec?.nodeName !== 'node-a') ? running : undefined;
    }, EVICTION_MS + 20_000, 'pods to move off node-a');
    expect(moved.filter((p) => onA.includes(p.metadata.name))).toEqual([]);
    for (const name of ['node-b', 'node-c']) expect(ready(await node(name))?.status).toBe('True');
    await eventsAbout(cluster.client, 'default', 'node-a', (events) => events.some((e) => e.reason === 'NodeNotReady'));

    cluster.kubelets.startNode('node-a');
    await waitFor(async () => {
      const n = await node('node-a');
      return ready(n)?.status === 'True' && !(n.spec?.taints ?? []).some((t) => t.key === TAINT_UNREACHABLE);
    }, 10_000, 'node-a to be Ready and untainted again');
  });

  it('taints a node whose agent reports Ready=False as not-ready, and untaints it when it is Ready again', async () => {
    const setReady = async (status: 'True' | 'False') => {
      const current = await node('node-c');
      const now = new Date().toISOString();
      const conditions = [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady', lastHeartbeatTime: now, lastTransitionTime: now }];
      await cluster.client.updateStatus<Node>(types.nodes, { ...current, status: { ...current.status, conditions } });
    };
    await setReady('False');
    const tainted = await waitFor(async () => {
      const n = await node('node-c');
      return (n.spec?.taints ?? []).filter((t) => t.key === TAINT_NOT_READY).length === 2 ? n : undefined;
    }, 10_000, 'not-ready taints on node-c');
    // The agent still renews its Lease: the condition it posted stands.
    expect(ready(tainted)).toMatchObject({ status: 'False', reason: 'KubeletNotReady' });
    expect((tainted.spec?.taints ?? []).some((t) => t.key === TAINT_UNREACHABLE)).toBe(false);
    await setReady('True');
    await waitFor(async () => (await node('node-c')).spec?.taints === undefined, 10_000, 'node-c untainted');
  });
});
