import type { Deployment, Pod, ReplicaSet } from '@berth/api';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from '@berth/controllers';
import { isBerthError } from '@berth/errors';
import { kubectlFor, waitFor } from '@berth/testing';
import { listOf, startCluster, type TestCluster, types } from './cluster';
import { deployment, NS } from './fixtures';

describe('garbage collector against a real apiserver', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    await cluster?.cleanup();
  });

  const podsOf = (name: string) => listOf<Pod>(cluster.client, types.pods, NS, `app=${name}`);
  const setsOf = (name: string) => listOf<ReplicaSet>(cluster.client, types.replicaSets, NS, `app=${name}`);
  const gone = async (name: string) => {
    try {
      await cluster.client.get(types.deployments, name, { namespace: NS });
      return false;
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return true;
      throw err;
    }
  };

  async function runningDeployment(d: Deployment): Promise<void> {
    await cluster.client.create(types.deployments, d);
    const name = d.metadata.name!;
    const replicas = d.spec!.replicas!;
    await waitFor(async () => (await podsOf(name)).filter((p) => p.status?.phase === 'Running').length === replicas, 20_000, `${name} to run`);
  }

  it('deleting a Deployment in the background removes its ReplicaSets and pods (kubectl delete)', async () => {
    await runningDeployment(deployment('cascade', 3));
    const kubectl = kubectlFor(cluster.server);
    try {
      const result = await kubectl.run(['delete', 'deployment', 'cascade', '-n', NS]);
      expect(result.code).toBe(0);
    } finally {
      kubectl.cleanup();
    }
    await waitFor(async () => (await setsOf('cascade')).length === 0 && (await podsOf('cascade')).length === 0, 20_000, 'dependents to be collected');
  });

  it('the orphan finalizer keeps the ReplicaSets and pods, without their owner reference', async () => {
    const d = deployment('orphaned', 2);
    d.metadata.finalizers = [ORPHAN_FINALIZER];
    await runningDeployment(d);
    const podNames = (await podsOf('orphaned')).map((p) => p.metadata.name).sort();
    await cluster.client.delete(types.deployments, 'orphaned', { namespace: NS });
    await waitFor(() => gone('orphaned'), 20_000, 'the deployment to go once orphaning is done');
    const sets = await setsOf('orphaned');
    expect(sets).toHaveLength(1);
    expect(sets[0].metadata.ownerReferences ?? []).toEqual([]);
    // The ReplicaSet keeps running its pods: the same ones, still owned by it.
    expect((await podsOf('orphaned')).map((p) => p.metadata.name).sort()).toEqual(podNames);
    for (const pod of await podsOf('orphaned')) expect(pod.metadata.ownerReferences?.[0]?.uid).toBe(sets[0].metadata.uid);
    await cluster.client.delete(types.replicaSets, sets[0].metadata.name!, { namespace: NS });
    await waitFor(async () => (await podsOf('orphaned')).length === 0, 20_000, 'the orphaned pods to be collected with their ReplicaSet');
  });

  it('the foregroundDeletion finalizer keeps the owner until its blocking dependents are gone', async () => {
    const d = deployment('foreground', 2);
    d.metadata.finalizers = [FOREGROUND_FINALIZER];
    await runningDeployment(d);
    // Deletions are ordered by the store's single revision: the owner's must come after every ReplicaSet's.
    const from = (await cluster.client.list(types.deployments, { namespace: NS })).metadata.resourceVersion;
    const deletionRevision = async (type: typeof types.deployments): Promise<number> => {
      const watch = await cluster.client.watch(type, { namespace: NS, resourceVersion: from });
      const timer = setTimeout(() => watch.close(), 20_000);
      return (async () => {
        try {
          for await (const event of watch) {
            if (event.type === 'DELETED' && event.object.metadata.name?.startsWith('foreground')) return Number(event.object.metadata.resourceVersion);
          }
          throw new Error(`the ${type.plural} watch ended before a deletion`);
        } finally {
          clearTimeout(timer);
          watch.close();
        }
      })();
    };
    // Not awaited: the watches replay from `from`, so they see the deletions whenever they connect.
    const ownerDeletion = deletionRevision(types.deployments);
    const setDeletion = deletionRevision(types.replicaSets);
    await cluster.client.delete(types.deployments, 'foreground', { namespace: NS });
    const [ownerRevision, setRevision] = await Promise.all([ownerDeletion, setDeletion]);
    expect(setRevision).toBeLessThan(ownerRevision);
    await waitFor(async () => (await podsOf('foreground')).length === 0, 20_000, 'pods to be collected');
  });

  it('adopts a matching orphan pod and releases a pod whose labels stop matching', async () => {
    await runningDeployment(deployment('adopt', 2));
    const [rs] = await setsOf('adopt');
    const [victim] = await podsOf('adopt');
    // Relabelled out of the selector: released (no longer owned), and replaced.
    await cluster.client.patch(types.pods, victim.metadata.name!, { metadata: { labels: { app: 'elsewhere' } } }, { type: 'merge', namespace: NS });
    await waitFor(async () => {
      const released = await cluster.client.get<Pod>(types.pods, victim.metadata.name!, { namespace: NS });
      return !released.metadata.ownerReferences?.length && (await podsOf('adopt')).filter((p) => p.status?.phase === 'Running').length === 2;
    }, 20_000, 'the pod to be released and replaced');
    // Labelled back: adopted again, and the ReplicaSet deletes one of its now 3 pods.
    await cluster.client.patch(types.pods, victim.metadata.name!, { metadata: { labels: rs.spec!.template!.metadata!.labels! } }, { type: 'merge', namespace: NS });
    await waitFor(async () => {
      const pods = await podsOf('adopt');
      return pods.length === 2 && pods.every((p) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid);
    }, 20_000, 'the pod to be adopted and the surplus deleted');
  });
});
