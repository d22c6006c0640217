/**
 * `berth server` without --disable-agent is a working single-node cluster: a Deployment applied to it
 * runs as real runc containers through this host's runtimed, and deleting it removes them.
 */
import { RuntimeClient } from '@berth/runtime-client';
import { waitFor, type TestServer } from '@berth/testing';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';

describe('berth server as a single-node cluster', () => {
  let cluster: NodeCluster;
  let server: TestServer;
  let runtime: RuntimeClient;

  beforeAll(async () => {
    cluster = await startNodeCluster();
    ({ server, runtime } = cluster);
  }, 60_000);

  afterAll(async () => {
    if (cluster) expect(await cluster.cleanup()).toEqual([]);
  }, 60_000);

  async function send(method: string, path: string, body?: unknown) {
    const res = await server.fetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    return { status: res.status, object: JSON.parse(res.body) };
  }

  interface PodView {
    status: { phase?: string; containerStatuses?: { ready: boolean; containerID?: string }[] };
  }

  it("runs a Deployment's pods as real containers, and removes them when it is deleted", async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sleeper' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'sleeper' } },
        template: {
          metadata: { labels: { app: 'sleeper' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
          },
        },
      },
    };
    expect((await send('POST', '/apis/apps/v1/namespaces/default/deployments', deployment)).status).toBe(201);

    const running: PodView[] = await waitFor(async () => {
      const pods = (await send('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dsleeper')).object.items as PodView[];
      return pods.length === 2 && pods.every((p) => p.status.phase === 'Running' && p.status.containerStatuses?.[0]?.ready) ? pods : undefined;
    }, 90_000, 'two Running pods');
    const containerIds = running.map((p) => p.status.containerStatuses![0].containerID!.replace('berth://', '')).sort();
    const live = (await runtime.listContainers({})).filter((c) => c.state === 'running').map((c) => c.id).sort();
    expect(live).toEqual(containerIds);

    const available = await waitFor(async () => {
      const status = (await send('GET', '/apis/apps/v1/namespaces/default/deployments/sleeper')).object.status;
      return status?.availableReplicas === 2 && status;
    }, 30_000, 'the deployment to be available');
    expect(available.readyReplicas).toBe(2);

    expect((await send('DELETE', '/apis/apps/v1/namespaces/default/deployments/sleeper')).status).toBe(200);
    await waitFor(async () => (await runtime.listContainers({ all: true })).length === 0 && (await runtime.listPodSandboxes()).length === 0, 60_000, 'the containers and sandboxes to be removed');
  });
});
