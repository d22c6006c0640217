import { type ContainerPort, type Endpoints, type KubeObject, type Pod, resourceForKind, type ResourceType, type Service, type ServicePort, type ServiceSpec } from '@berth/api';
import { connectionFromFile, type DeleteOptions, KubeClient, type WriteOptions } from '@berth/client';
import { type ControllerManager, startControllerManager } from '@berth/controllers';
import { isBerthError } from '@berth/errors';
import { kubectlFor, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import pino from 'pino';
import { Registry } from 'prom-client';
import { types } from './cluster';
import { NS } from './fixtures';

const serviceType = resourceForKind('v1', 'Service')!;
const endpointsType = resourceForKind('v1', 'Endpoints')!;
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** Counts the controller's writes of Endpoints: the API server skips no-op writes, so resourceVersions alone cannot tell. */
class CountingClient extends KubeClient {
  endpointsWrites = 0;

  private count(type: ResourceType): void {
    if (type.kind === 'Endpoints') this.endpointsWrites++;
  }

  override async create<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    this.count(type);
    return super.create(type, obj, opts);
  }

  override async update<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    this.count(type);
    return super.update(type, obj, opts);
  }

  override async delete(type: ResourceType, name: string, opts?: DeleteOptions) {
    this.count(type);
    return super.delete(type, name, opts);
  }
}

interface PodShape {
  ready?: boolean;
  ip: string;
  /** The node the pod runs on; '' for a pod not placed yet. */
  node?: string;
  ports?: ContainerPort[];
}

/**
 * The Endpoints controller in a controller-manager of its own (short resync, so a resync is seen in the
 * test) against a real apiserver. The test plays the kubelets: it places pods on nodes and reports their IP
 * and readiness itself, so each state the controller sees is exactly the one the test sets up.
 */
describe('Endpoints controller against a real apiserver', () => {
  let server: TestServer;
  let client: KubeClient;
  let controllerClient: CountingClient;
  let manager: ControllerManager;
  const registry = new Registry();

  beforeAll(async () => {
    server = await startBerthServer();
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    controllerClient = new CountingClient(connectionFromFile(server.kubeconfigPath));
    manager = startControllerManager({
      client: controllerClient,
      logger: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }),
      controllers: ['endpoints'],
      resyncPeriodMs: 300,
      registry,
    });
    await manager.waitForSync(30_000);
  });

  afterAll(async () => {
    await manager?.stop();
    controllerClient?.close();
    client?.close();
    await server?.cleanup();
  });

  async function startPod(name: string, app: string, { ready = true, ip, node = 'node-a', ports }: PodShape): Promise<Pod> {
    const pod = await client.create<Pod>(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { app } },
      spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: 'main', image: 'busybox:1', ...(ports ? { ports } : {}) }] },
    });
    return reportStatus(pod, ready, ip);
  }

  /** What the pod's kubelet reports: Running with ip, Ready or not. */
  async function reportStatus(pod: Pod, ready: boolean, ip = pod.status?.podIP): Promise<Pod> {
    const now = new Date().toISOString();
    const status = ready ? 'True' : 'False';
    return client.updateStatus<Pod>(types.pods, {
      ...pod,
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip: ip! }],
        conditions: ['Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status, lastTransitionTime: now })),
      },
    });
  }

  const getPod = (name: string) => client.get<Pod>(types.pods, name, { namespace: NS });
  const removePod = (name: string) => client.delete(types.pods, name, { namespace: NS, gracePeriodSeconds: 0 });

  async function createService(name: string, ports: ServicePort[], spec: ServiceSpec = {}, labels?: Record<string, string>): Promise<Service> {
    return client.create<Service>(serviceType, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
      spec: { selector: { app: name }, ports, ...spec },
    });
  }

  async function endpointsOf(name: string): Promise<Endpoints | undefined> {
    try {
      return await client.get<Endpoints>(endpointsType, name, { namespace: NS });
    } catch (err) {
      if (isBerthError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  /** The pods in an Endpoints object as `pod@ip:port` per readiness, sorted, for compact expectations. */
  function membersOf(endpoints: Endpoints | undefined): { ready: string[]; notReady: string[] } {
    const describe = (list: Endpoints['subsets'] = [], pick: 'addresses' | 'notReadyAddresses') =>
      list.flatMap((s) => (s[pick] ?? []).flatMap((a) => (s.ports ?? []).map((p) => `${a.targetRef?.name}@${a.ip}:${p.port}`))).sort();
    return { ready: describe(endpoints?.subsets, 'addresses'), notReady: describe(endpoints?.subsets, 'notReadyAddresses') };
  }

  async function waitForMembers(name: string, expected: { ready: string[]; notReady?: string[] }): Promise<Endpoints> {
    const want = { ready: [...expected.ready].sort(), notReady: [...(expected.notReady ?? [])].sort() };
    let last: Endpoints | undefined;
    try {
      return await waitFor(
        async () => {
          last = await endpointsOf(name);
          return last && JSON.stringify(membersOf(last)) === JSON.stringify(want) ? last : undefined;
        },
        10_000,
        `endpoints ${name}`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: want ${JSON.stringify(want)}, have ${JSON.stringify(membersOf(last))}`);
    }
  }

  const http: ServicePort = { name: 'http', port: 80, targetPort: 8080 };

  it('lists ready pods in addresses and the others in notReadyAddresses, with the pod references', async () => {
    const a = await startPod('split-a', 'split', { ip: '10.88.0.2' });
    await startPod('split-b', 'split', { ip: '10.88.1.3', node: 'node-b', ready: false });
    await startPod('split-unplaced', 'split', { ip: '10.88.0.9', node: '' });
    await client.create<Pod>(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'split-no-ip', namespace: NS, labels: { app: 'split' } },
      spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'busybox:1' }] },
    });
    await createService('split', [http], {}, { tier: 'front' });
    const endpoints = await waitForMembers('split', { ready: ['split-a@10.88.0.2:8080'], notReady: ['split-b@10.88.1.3:8080'] });
    expect(endpoints.metadata.labels?.tier).toBe('front');
    expect(endpoints.metadata.ownerReferences).toBeUndefined();
    expect(endpoints.subsets).toEqual([
      {
        addresses: [{ ip: '10.88.0.2', nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: NS, name: 'split-a', uid: a.metadata.uid } }],
        notReadyAddresses: [expect.objectContaining({ ip: '10.88.1.3', nodeName: 'node-b' })],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
    const kubectl = kubectlFor(server);
    try {
      const shown = await kubectl.run(['get', 'endpoints', 'split', '-n', NS]);
      expect(shown.stdout).toContain('10.88.0.2:8080');
    } finally {
      kubectl.cleanup();
    }
  });

  it('resolves a named targetPort in each pod and leaves out pods without that port', async () => {
    await startPod('named-a', 'named', { ip: '10.88.0.20', ports: [{ name: 'web', containerPort: 8080 }] });
    await startPod('named-b', 'named', { ip: '10.88.0.21', ports: [{ name: 'web', containerPort: 9090 }] });
    await startPod('named-none', 'named', { ip: '10.88.0.22', ports: [{ name: 'admin', containerPort: 8080 }] });
    await createService('named', [{ name: 'http', port: 80, targetPort: 'web' }]);
    const endpoints = await waitForMembers('named', { ready: ['named-a@10.88.0.20:8080', 'named-b@10.88.0.21:9090'] });
    expect(endpoints.subsets?.map((s) => s.ports)).toEqual([[{ name: 'http', port: 8080, protocol: 'TCP' }], [{ name: 'http', port: 9090, protocol: 'TCP' }]]);
  });

  it('follows pods coming and going', async () => {
    await createService('scaled', [http]);
    await waitFor(() => endpointsOf('scaled'), 10_000, 'endpoints of a service without pods');
    const ips = ['10.88.0.30', '10.88.0.31', '10.88.0.32'];
    for (const [i, ip] of ips.entries()) await startPod(`scaled-${i}`, 'scaled', { ip });
    await waitForMembers('scaled', { ready: ips.map((ip, i) => `scaled-${i}@${ip}:8080`) });
    await removePod('scaled-0');
    await removePod('scaled-2');
    await waitForMembers('scaled', { ready: ['scaled-1@10.88.0.31:8080'] });
    await removePod('scaled-1');
    const empty = await waitForMembers('scaled', { ready: [] });
    expect(empty.subsets ?? []).toEqual([]);
  });

  it('moves a pod turning unready to notReadyAddresses, and back', async () => {
    await startPod('flaky', 'flaky', { ip: '10.88.0.40' });
    await createService('flaky', [http]);
    await waitForMembers('flaky', { ready: ['flaky@10.88.0.40:8080'] });
    await reportStatus(await getPod('flaky'), false);
    await waitForMembers('flaky', { ready: [], notReady: ['flaky@10.88.0.40:8080'] });
    await reportStatus(await getPod('flaky'), true);
    await waitForMembers('flaky', { ready: ['flaky@10.88.0.40:8080'] });
  });

  it('drops a pod relabelled out of the selector and takes it into the service it now matches', async () => {
    await startPod('moving', 'blue', { ip: '10.88.0.50' });
    await createService('blue', [http]);
    await createService('green', [http]);
    await waitForMembers('blue', { ready: ['moving@10.88.0.50:8080'] });
    await client.patch(types.pods, 'moving', { metadata: { labels: { app: 'green' } } }, { type: 'merge', namespace: NS });
    await waitForMembers('blue', { ready: [] });
    await waitForMembers('green', { ready: ['moving@10.88.0.50:8080'] });
  });

  it('drops a terminating pod at once, before it is gone', async () => {
    await startPod('leaving', 'leaving', { ip: '10.88.0.60' });
    await startPod('staying', 'leaving', { ip: '10.88.0.61' });
    await createService('leaving', [http]);
    await waitForMembers('leaving', { ready: ['leaving@10.88.0.60:8080', 'staying@10.88.0.61:8080'] });
    try {
      // Bound pods are deleted gracefully: the pod stays, marked, until its (here absent) kubelet confirms.
      await client.delete(types.pods, 'leaving', { namespace: NS, gracePeriodSeconds: 30 });
      expect((await getPod('leaving')).metadata.deletionTimestamp).toBeDefined();
      await waitForMembers('leaving', { ready: ['staying@10.88.0.61:8080'] });
    } finally {
      await removePod('leaving').catch(() => undefined);
    }
  });

  it('labels the Endpoints of a headless service', async () => {
    await startPod('headless-a', 'headless', { ip: '10.88.0.70' });
    await createService('headless', [http], { clusterIP: 'None' }, { app: 'headless' });
    const endpoints = await waitForMembers('headless', { ready: ['headless-a@10.88.0.70:8080'] });
    expect(endpoints.metadata.labels).toEqual({ app: 'headless', [HEADLESS_LABEL]: '' });
  });

  it('deletes the Endpoints with the service, and restores them when someone else changes or deletes them', async () => {
    await startPod('gone-a', 'gone', { ip: '10.88.0.80' });
    await createService('gone', [http]);
    const first = await waitForMembers('gone', { ready: ['gone-a@10.88.0.80:8080'] });
    await client.update<Endpoints>(endpointsType, { ...first, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80, protocol: 'TCP' }] }] });
    await waitForMembers('gone', { ready: ['gone-a@10.88.0.80:8080'] });
    await client.delete(endpointsType, 'gone', { namespace: NS });
    const again = await waitForMembers('gone', { ready: ['gone-a@10.88.0.80:8080'] });
    expect(again.metadata.uid).not.toBe(first.metadata.uid);
    await client.delete(serviceType, 'gone', { namespace: NS });
    await waitFor(async () => (await endpointsOf('gone')) === undefined, 10_000, 'endpoints deleted with their service');
  });

  it('leaves the Endpoints of a service without a selector to its user', async () => {
    await startPod('manual-pod', 'manual', { ip: '10.88.0.90' });
    const manual: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'manual', namespace: NS, labels: { owner: 'me' } },
      subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    };
    const created = await client.create<Endpoints>(endpointsType, manual);
    await createService('manual', [{ port: 5432 }], { selector: undefined });
    // A selector service created after it is reconciled after it too: its Endpoints appearing proves the manual one was seen.
    await startPod('after-manual', 'after-manual', { ip: '10.88.0.91' });
    await createService('after-manual', [http]);
    await waitForMembers('after-manual', { ready: ['after-manual@10.88.0.91:8080'] });
    const kept = await endpointsOf('manual');
    expect(kept?.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(kept?.subsets).toEqual(manual.subsets);
  });

  /** Successful reconciles of the endpoints controller so far. */
  async function reconciles(): Promise<number> {
    const metric = await registry.getSingleMetric('berth_controller_reconcile_total')!.get();
    return metric.values.filter((v) => v.labels.controller === 'endpoints' && v.labels.result === 'success').reduce((sum, v) => sum + v.value, 0);
  }

  it('writes nothing when nothing changed, through pod status writes and resyncs', async () => {
    const pod = await startPod('steady', 'steady', { ip: '10.88.0.100' });
    await createService('steady', [http]);
    const before = await waitForMembers('steady', { ready: ['steady@10.88.0.100:8080'] });
    const writes = controllerClient.endpointsWrites;
    // A status write that changes nothing the Endpoints show (a new resourceVersion, same IP and readiness).
    const current = await getPod(pod.metadata.name!);
    await client.updateStatus<Pod>(types.pods, { ...current, status: { ...current.status, message: 'still fine' } });
    // Every resync round reconciles each service once or twice (its own resync and its Endpoints'); twice
    // that many reconciles span a whole round, which includes this service.
    const services = (await client.list<Service>(serviceType, { namespace: NS })).items.length;
    const start = await reconciles();
    await waitFor(async () => (await reconciles()) >= start + 4 * services + 1, 20_000, 'a full resync round');
    expect(controllerClient.endpointsWrites).toBe(writes);
    expect((await endpointsOf('steady'))?.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});
