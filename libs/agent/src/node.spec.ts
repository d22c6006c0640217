import type { KubeObject, ResourceType } from '@berth/api';
import { BerthError, errors } from '@berth/errors';
import pino from 'pino';
import type { Image } from '@berth/runtime-client';
import { hostFacts, nodeImages, NodeHeartbeat, nodeStatus, type NodeClient } from './node';

const host = hostFacts({ hostname: 'h1', internalIP: '192.0.2.10', cpus: 4, memoryBytes: 8 * 1024 ** 3, operatingSystem: 'linux', architecture: 'amd64' });

/** The API calls a heartbeat makes, with failures injected per call. */
function fakeClient(failures: Array<BerthError | undefined> = []) {
  const calls: string[] = [];
  const objects = new Map<string, KubeObject>();
  const next = (what: string) => {
    calls.push(what);
    const failure = failures.shift();
    if (failure) throw failure;
  };
  const client: NodeClient = {
    async create(type: ResourceType, obj: KubeObject) {
      next(`create ${type.kind}`);
      const key = `${type.kind}/${obj.metadata.name}`;
      if (objects.has(key)) throw errors.alreadyExists(type.plural, obj.metadata.name!);
      objects.set(key, { ...obj, metadata: { ...obj.metadata, uid: `uid-${obj.metadata.name}` } });
      return objects.get(key) as never;
    },
    async get(type: ResourceType, name: string) {
      next(`get ${type.kind}`);
      const obj = objects.get(`${type.kind}/${name}`);
      if (!obj) throw errors.notFound(type.plural, name);
      return obj as never;
    },
    async patch(type: ResourceType, name: string, patch: unknown, opts) {
      next(`patch ${type.kind}${opts.subresource ? `/${opts.subresource}` : ''}`);
      const key = `${type.kind}/${name}`;
      const obj = objects.get(key);
      if (!obj) throw errors.notFound(type.plural, name);
      objects.set(key, { ...obj, ...(patch as object) });
      return objects.get(key) as never;
    },
  };
  return { client, calls, objects };
}

const logger = pino({ level: 'silent' });

describe('nodeStatus', () => {
  it('reports capacity, allocatable, addresses and node info from the host', () => {
    const status = nodeStatus(host, '0.1.0', { type: 'Ready', status: 'True' });
    expect(status).toMatchObject({
      capacity: { cpu: '4', memory: '8388608Ki', pods: '110' },
      allocatable: { cpu: '4', memory: '8388608Ki', pods: '110' },
      addresses: [
        { type: 'InternalIP', address: '192.0.2.10' },
        { type: 'Hostname', address: 'h1' },
      ],
      nodeInfo: { containerRuntimeVersion: 'berth://0.1.0', operatingSystem: 'linux', architecture: 'amd64' },
    });
  });
});

const image = (names: string[], size: number, repoDigests: string[] = []): Image => ({ id: `id-${size}`, digest: `sha256:${size}`, names, created: '', size, repoDigests });

describe('nodeImages', () => {
  it("lists the largest first, each by its repository digests then its tags (at most 5), as kubelet; nameless ones are left out", () => {
    const tags = ['a:1', 'a:2', 'a:3', 'a:4', 'a:5'];
    expect(nodeImages([image(['small:1'], 10), image(tags, 300, ['reg/a@sha256:300']), image([], 200)])).toEqual([
      { names: ['reg/a@sha256:300', ...tags.slice(0, 4)], sizeBytes: 300 },
      { names: ['small:1'], sizeBytes: 10 },
    ]);
  });

  it('reports at most 50', () => {
    expect(nodeImages(Array.from({ length: 60 }, (_, i) => image([`i:${i}`], i)))).toHaveLength(50);
  });
});

describe('NodeHeartbeat', () => {
  it("reports the node's images in its status, and a change at the next Lease renewal", async () => {
    const { client, objects } = fakeClient();
    let images = [image(['busybox:latest'], 4_260_000)];
    const heartbeat = new NodeHeartbeat({ client, nodeName: 'n1', host, runtimeVersion: 'v', logger, leaseRenewMs: 10, images: async () => images });
    try {
      await heartbeat.start();
      const reported = () => (objects.get('Node/n1') as { status?: { images?: unknown } }).status?.images;
      expect(reported()).toEqual([{ names: ['busybox:latest'], sizeBytes: 4_260_000 }]);
      images = [...images, image(['web:1'], 5_000_000)];
      for (let i = 0; JSON.stringify(reported()).indexOf('web:1') < 0; i++) {
        if (i > 500) throw new Error('the new image was never reported');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(reported()).toEqual([
        { names: ['web:1'], sizeBytes: 5_000_000 },
        { names: ['busybox:latest'], sizeBytes: 4_260_000 },
      ]);
    } finally {
      heartbeat.stop();
    }
  });

  it('creates the node, posts its status, and creates its Lease owned by the node', async () => {
    const { client, calls, objects } = fakeClient();
    const heartbeat = new NodeHeartbeat({ client, nodeName: 'n1', host, runtimeVersion: 'v', logger });
    await heartbeat.start();
    heartbeat.stop();
    expect(calls).toEqual(['create Node', 'patch Node/status', 'patch Lease', 'get Node', 'create Lease']);
    expect(objects.get('Lease/n1')).toMatchObject({
      metadata: { namespace: 'kube-node-lease', ownerReferences: [{ kind: 'Node', name: 'n1', uid: 'uid-n1' }] },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 20, renewTime: expect.stringMatching(/\.\d{6}Z$/) },
    });
  });

  it('takes over a node registered before, refreshing its labels', async () => {
    const { client, calls } = fakeClient();
    await client.create({ kind: 'Node', plural: 'nodes' } as ResourceType, { metadata: { name: 'n1' } } as KubeObject);
    calls.length = 0;
    const heartbeat = new NodeHeartbeat({ client, nodeName: 'n1', host, runtimeVersion: 'v', logger });
    await heartbeat.start();
    heartbeat.stop();
    expect(calls.slice(0, 3)).toEqual(['create Node', 'patch Node', 'get Node']);
  });

  it('waits for an API server that cannot be reached yet, but fails at once on any other refusal', async () => {
    const down = () => errors.unavailable('connection refused');
    const { client, calls } = fakeClient([down(), down()]);
    const heartbeat = new NodeHeartbeat({ client, nodeName: 'n1', host, runtimeVersion: 'v', logger });
    await heartbeat.start();
    heartbeat.stop();
    expect(calls.slice(0, 3)).toEqual(['create Node', 'create Node', 'create Node']);

    const refused = fakeClient([errors.unauthorized()]);
    await expect(new NodeHeartbeat({ client: refused.client, nodeName: 'n1', host, runtimeVersion: 'v', logger }).start()).rejects.toMatchObject({ reason: 'Unauthorized' });
  });
});
