import { type EndpointSlice, type Pod, resourceForKind, type Service } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { type ControllerManager, MANAGED_BY, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, startControllerManager } from '@berth/controllers';
import { kubectlFor, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import pino from 'pino';
import { listOf, types } from './cluster';
import { NS } from './fixtures';

const serviceType = resourceForKind('v1', 'Service')!;

/**
 * The EndpointSlice controller (and the garbage collector) against a real apiserver; the test plays the
 * kubelets, reporting each pod's IP and readiness itself.
 */
describe('EndpointSlice controller against a real apiserver', () => {
  let server: TestServer;
  let client: KubeClient;
  let manager: ControllerManager;

  beforeAll(async () => {
    server = await startBerthServer();
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    manager = startControllerManager({ client, logger: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }), controllers: ['endpointslice', 'garbage-collector'] });
    await manager.waitForSync(30_000);
  });

  afterAll(async () => {
    await manager?.stop();
    client?.close();
    await server?.cleanup();
  });

  async function startPod(name: string, ip: string, ready: boolean, node = 'node-a'): Promise<Pod> {
    const pod = await client.create<Pod>(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { app: 'web' } },
      spec: { nodeName: node, containers: [{ name: 'main', image: 'busybox:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
    });
    const now = new Date().toISOString();
    const status = ready ? 'True' : 'False';
    return client.updateStatus<Pod>(types.pods, {
      ...pod,
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: ['Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status, lastTransitionTime: now })) },
    });
  }

  const slicesOf = async (service: string) => listOf<EndpointSlice>(client, types.endpointSlices, NS, `${SERVICE_NAME_LABEL}=${service}`);

  /** `pod@ip ready/serving/terminating on node` for every endpoint of the service's slices, sorted. */
  async function endpointsOf(service: string): Promise<string[]> {
    return (await slicesOf(service))
      .flatMap((s) => s.endpoints ?? [])
      .map((e) => `${e.targetRef?.name}@${e.addresses.join(',')} ${e.conditions?.ready}/${e.conditions?.serving}/${e.conditions?.terminating} on ${e.nodeName}`)
      .sort();
  }

  async function waitForEndpoints(service: string, expected: string[]): Promise<void> {
    let last: string[] = [];
    try {
      await waitFor(async () => ((last = await endpointsOf(service)).join('\n') === [...expected].sort().join('\n') ? true : undefined), 10_000, `slices of ${service}`);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen:\n${last.join('\n')}`);
    }
  }

  it('keeps slices of ready, serving and terminating pods beside the Endpoints, and drops them with the Service', async () => {
    const service = await client.create<Service>(serviceType, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS, labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    // A Service selecting no pod yet has one empty slice.
    const [placeholder] = await waitFor(async () => ((await slicesOf('web')).length === 1 ? slicesOf('web') : undefined), 10_000, 'the empty slice');
    expect(placeholder.endpoints ?? []).toEqual([]);
    expect(placeholder.metadata.labels).toEqual({ tier: 'front', [SERVICE_NAME_LABEL]: 'web', [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(placeholder.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Service', name: 'web', uid: service.metadata.uid, controller: true })]);
    expect(placeholder.metadata.name).toMatch(/^web-/);

    await startPod('web-1', '10.88.0.11', true);
    await startPod('web-2', '10.88.0.12', false, 'node-b');
    await waitForEndpoints('web', ['web-1@10.88.0.11 true/true/false on node-a', 'web-2@10.88.0.12 false/false/false on node-b']);
    const [slice] = await slicesOf('web');
    expect(slice.addressType).toBe('IPv4');
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);

    const kubectl = kubectlFor(server);
    const table = await kubectl.run(['get', 'endpointslices']).then((r) => r.stdout.split('\n')).finally(() => kubectl.cleanup());
    expect(table[0].split(/\s{2,}/)).toEqual(['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE']);
    expect(table[1].split(/\s+/).slice(0, 4)).toEqual([slice.metadata.name, 'IPv4', '8080', '10.88.0.11,10.88.0.12']);

    // A pod being deleted (its node has not finished it) stays, terminating and no longer ready.
    await client.delete(types.pods, 'web-1', { namespace: NS, gracePeriodSeconds: 30 });
    await waitForEndpoints('web', ['web-1@10.88.0.11 false/true/true on node-a', 'web-2@10.88.0.12 false/false/false on node-b']);
    await client.delete(types.pods, 'web-1', { namespace: NS, gracePeriodSeconds: 0 });
    await waitForEndpoints('web', ['web-2@10.88.0.12 false/false/false on node-b']);
    expect(await slicesOf('web')).toHaveLength(1);

    await client.delete(serviceType, 'web', { namespace: NS });
    await waitFor(async () => ((await slicesOf('web')).length === 0 ? true : undefined), 10_000, 'slices gone with the Service');
  });

  it('puts back a slice someone deleted, and leaves slices another manager owns alone', async () => {
    await client.create<Service>(serviceType, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api', namespace: NS },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await waitForEndpoints('api', ['web-2@10.88.0.12 false/false/false on node-b']);
    const foreign = await client.create<EndpointSlice>(types.endpointSlices, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'api-manual', namespace: NS, labels: { [SERVICE_NAME_LABEL]: 'api', [MANAGED_BY_LABEL]: 'someone-else' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['192.0.2.1'] }],
    });
    const [ours] = (await slicesOf('api')).filter((s) => s.metadata.name !== 'api-manual');
    await client.delete(types.endpointSlices, ours.metadata.name!, { namespace: NS });
    await waitFor(
      async () => ((await slicesOf('api')).filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && s.metadata.name !== ours.metadata.name).length === 1 ? true : undefined),
      10_000,
      'a new slice',
    );
    expect((await client.get<EndpointSlice>(types.endpointSlices, 'api-manual', { namespace: NS })).metadata.resourceVersion).toBe(foreign.metadata.resourceVersion);
  });
});
