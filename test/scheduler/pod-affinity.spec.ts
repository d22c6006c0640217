/**
 * Pod anti-affinity end to end: `berth server` with its scheduler and controllers, two fake Ready nodes
 * (no agents), and a Deployment applied with the real kubectl whose pods keep apart by hostname.
 */
import { kubectlFor, startBerthServer, waitFor, type Kubectl, type TestServer } from '@berth/testing';
import type { KubeClient } from '@berth/client';
import type { Pod } from '@berth/api';
import { clientFor, createNode, PODS } from './cluster';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: apart, labels: {app: apart}}
spec:
  replicas: 3
  selector: {matchLabels: {app: apart}}
  template:
    metadata: {labels: {app: apart}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector: {matchLabels: {app: apart}}
      containers:
      - {name: main, image: busybox}
`;

describe('required pod anti-affinity through the API server', () => {
  let server: TestServer;
  let client: KubeClient;
  let kubectl: Kubectl;

  beforeAll(async () => {
    server = await startBerthServer({ controlLoops: true });
    client = clientFor(server);
    kubectl = kubectlFor(server);
    await createNode(client, 'node-1');
    await createNode(client, 'node-2');
  });

  afterAll(async () => {
    kubectl?.cleanup();
    client?.close();
    await server?.cleanup();
  });

  it('binds one replica per node and leaves the third Pending with Kubernetes\' FailedScheduling event', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: DEPLOYMENT });
    const listPods = async () => (await client.list<Pod>(PODS, { namespace: 'default', labelSelector: 'app=apart' })).items;
    const pending = await waitFor(
      async () => {
        const pods = await listPods();
        const unschedulable = pods.filter((p) => !p.spec?.nodeName && p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
        return pods.length === 3 && pods.filter((p) => p.spec?.nodeName).length === 2 && unschedulable.length === 1 ? unschedulable[0] : undefined;
      },
      30_000,
      'two replicas bound and one unschedulable',
    );
    const nodes = (await listPods()).flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : [])).sort();
    expect(nodes).toEqual(['node-1', 'node-2']);

    const message = "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.";
    const name = pending.metadata.name!;
    const events = await waitFor(
      async () => {
        const text = await kubectl.ok(['get', 'events', '--field-selector', `involvedObject.name=${name},reason=FailedScheduling`, '-o', 'jsonpath={.items[*].message}']);
        return text.includes(message) ? text : undefined;
      },
      30_000,
      'the FailedScheduling event',
    );
    expect(events).toContain(message);
    expect(await kubectl.ok(['get', 'pod', name, '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}'])).toBe(message);

    // A third node makes room: the pending replica goes there.
    await createNode(client, 'node-3');
    await waitFor(async () => (await client.get<Pod>(PODS, name, { namespace: 'default' })).spec?.nodeName === 'node-3', 30_000, 'the third replica bound to node-3');
  });
});
