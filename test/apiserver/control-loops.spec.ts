/**
 * `berth server` runs the controllers and the scheduler in-process: a Deployment becomes a ReplicaSet
 * and pods bound to the Ready node; deletion cascades, or orphans with --cascade=orphan.
 */
import { kubectlFor, startBerthServer, waitFor, type Kubectl, type TestServer } from '@berth/testing';

describe('berth server with its control loops', () => {
  let server: TestServer;
  let kubectl: Kubectl;

  beforeAll(async () => {
    server = await startBerthServer({ controlLoops: true });
    kubectl = kubectlFor(server);
    expect((await send('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } })).status).toBe(201);
    const status = {
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }],
        allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      },
    };
    expect((await send('PATCH', '/api/v1/nodes/node-a/status', status)).status).toBe(200);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await server?.cleanup();
  });

  async function send(method: string, path: string, body?: unknown) {
    const res = await server.fetch(path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
    });
    return { status: res.status, object: JSON.parse(res.body) };
  }

  const list = async (path: string) =>
    (await send('GET', path)).object.items as { metadata: { name: string; ownerReferences?: unknown[]; deletionTimestamp?: string }; spec: { nodeName?: string } }[];

  function deployment(name: string) {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      },
    };
  }

  it('turns a Deployment into a ReplicaSet and pods bound to the Ready node', async () => {
    expect((await send('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web'))).status).toBe(201);
    const pods = await waitFor(async () => {
      const items = await list('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
      return items.length === 2 && items.every((p) => p.spec.nodeName === 'node-a') && items;
    }, 20_000, 'two pods bound to node-a');
    expect(pods).toHaveLength(2);
    expect(await list('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb')).toHaveLength(1);
  });

  it('kubectl delete --cascade=orphan keeps the ReplicaSet and pods, without their owner', async () => {
    expect((await send('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('kept'))).status).toBe(201);
    await waitFor(async () => (await list('/api/v1/namespaces/default/pods?labelSelector=app%3Dkept')).length === 2, 20_000, 'two pods');
    const deleted = await kubectl.run(['delete', 'deployment', 'kept', '--cascade=orphan']);
    expect(deleted.code).toBe(0);
    await waitFor(async () => (await send('GET', '/apis/apps/v1/namespaces/default/deployments/kept')).status === 404, 20_000, 'the deployment to go');
    const replicaSets = await waitFor(async () => {
      const items = await list('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dkept');
      return items.length === 1 && !items[0].metadata.ownerReferences?.length && items;
    }, 20_000, 'the replica set to lose its owner');
    expect(replicaSets).toHaveLength(1);
    expect(await list('/api/v1/namespaces/default/pods?labelSelector=app%3Dkept')).toHaveLength(2);
  });

  it('kubectl delete cascades to the ReplicaSet and pods by default', async () => {
    expect((await kubectl.run(['delete', 'deployment', 'web'])).code).toBe(0);
    await waitFor(async () => (await list('/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb')).length === 0, 20_000, 'the replica set to go');
    // No agent runs node-a to stop the containers and finish the pods' graceful deletion: they stay Terminating.
    await waitFor(async () => (await list('/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).every((p) => p.metadata.deletionTimestamp), 20_000, 'the pods to be deleted');
  });
});
