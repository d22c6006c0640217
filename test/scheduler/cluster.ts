/** Fake nodes and pods written through the API, for the scheduler's tests and bench (no agents run). */
import type { Node, Pod, ResourceList, Taint, Toleration } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { RESOURCES } from '@berth/api';
import { waitFor, type TestServer } from '@berth/testing';

const typeOf = (kind: string) => RESOURCES.find((r) => r.group === '' && r.kind === kind)!;
export const NODES = typeOf('Node');
export const PODS = typeOf('Pod');
export const EVENTS = typeOf('Event');

export function clientFor(server: TestServer): KubeClient {
  return new KubeClient(connectionFromFile(server.kubeconfigPath));
}

export interface FakeNode {
  labels?: Record<string, string>;
  taints?: Taint[];
  allocatable?: ResourceList;
}

export const DEFAULT_ALLOCATABLE: ResourceList = { cpu: '2', memory: '4Gi', pods: '110' };

/** A Ready node with the given allocatable; status is a subresource, so it is written after the node. */
export async function createNode(client: KubeClient, name: string, fake: FakeNode = {}): Promise<Node> {
  await client.create<Node>(NODES, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...fake.labels } },
    spec: fake.taints ? { taints: fake.taints } : {},
  });
  const allocatable = fake.allocatable ?? DEFAULT_ALLOCATABLE;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return client.patch<Node>(
    NODES,
    name,
    {
      status: {
        capacity: allocatable,
        allocatable,
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake node', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    },
    { type: 'merge', subresource: 'status' },
  );
}

export interface FakePod {
  namespace?: string;
  schedulerName: string;
  cpu?: string;
  memory?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  hostPort?: { port: number; protocol?: 'TCP' | 'UDP' };
}

export function createPod(client: KubeClient, name: string, fake: FakePod): Promise<Pod> {
  const requests: ResourceList = {};
  if (fake.cpu) requests.cpu = fake.cpu;
  if (fake.memory) requests.memory = fake.memory;
  return client.create<Pod>(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: fake.namespace ?? 'default' },
    spec: {
      schedulerName: fake.schedulerName,
      nodeSelector: fake.nodeSelector,
      tolerations: fake.tolerations,
      containers: [
        {
          name: 'app',
          image: 'busybox',
          resources: { requests },
          ports: fake.hostPort ? [{ containerPort: 80, hostPort: fake.hostPort.port, protocol: fake.hostPort.protocol ?? 'TCP' }] : undefined,
        },
      ],
    },
  });
}

/** Deletes every pod and node (pods with no grace) and waits until both lists are empty. */
export async function deleteAll(client: KubeClient, namespace = 'default'): Promise<void> {
  for (const [type, ns] of [[PODS, namespace], [NODES, undefined]] as const) {
    const { items } = await client.list(type, { namespace: ns });
    await Promise.all(
      items.map((item) =>
        client.delete(type, item.metadata.name!, { namespace: ns, gracePeriodSeconds: 0 }).catch((err) => {
          if ((err as { reason?: string }).reason !== 'NotFound') throw err;
        }),
      ),
    );
    await waitFor(async () => (await client.list(type, { namespace: ns })).items.length === 0, 15_000, `all ${type.plural} deleted`);
  }
}
