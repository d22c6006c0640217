import type { Node, Pod, PodSpec } from '@berth/api';
import { errors, type BerthError } from '@berth/errors';
import type { PodSandbox, PodSandboxConfig } from '@berth/runtime-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FakeRuntime } from './fake-runtime';
import { PodCidrSync, type PodCidrRuntime } from './pod-cidr';
import { type PodClient, PodSyncer } from './pod-sync';
import { ProbeManager } from './probes';

const logger = pino({ level: 'silent' });
const HOST_IP = '192.0.2.1';
const nodeWith = (podCIDR?: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} });

/** A runtime whose daemon can be "restarted" with its configuration lost, counting UpdateRuntimeConfig calls. */
class RestartableRuntime implements PodCidrRuntime {
  fake = new FakeRuntime();
  updates: string[] = [];
  status = () => this.fake.status();
  updateRuntimeConfig = (podCidr: string) => {
    this.updates.push(podCidr);
    return this.fake.updateRuntimeConfig(podCidr);
  };
}

describe('PodCidrSync', () => {
  it("hands the Node's podCIDR to the runtime once, and again after the runtime lost it", async () => {
    const runtime = new RestartableRuntime();
    let readyCalls = 0;
    const sync = new PodCidrSync({ client: {} as never, runtime, nodeName: 'n1', logger, onReady: () => readyCalls++ });

    await sync.reconcile(nodeWith());
    expect([sync.networkReady, runtime.updates, readyCalls]).toEqual([false, [], 0]);

    await sync.reconcile(nodeWith('10.88.4.0/24'));
    expect([sync.networkReady, sync.podCidr, runtime.updates, readyCalls]).toEqual([true, '10.88.4.0/24', ['10.88.4.0/24'], 1]);
    await sync.reconcile(nodeWith('10.88.4.0/24'));
    expect([runtime.updates, readyCalls]).toEqual([['10.88.4.0/24'], 1]);

    runtime.fake = new FakeRuntime();
    await sync.reconcile(nodeWith('10.88.4.0/24'));
    expect([sync.networkReady, runtime.updates]).toEqual([true, ['10.88.4.0/24', '10.88.4.0/24']]);
    expect(await runtime.status()).toEqual({ networkReady: true, podCidr: '10.88.4.0/24', bridge: 'berth0' });
  });

  it('keeps what the runtime has while the Node is unknown or has no podCIDR', async () => {
    const runtime = new RestartableRuntime();
    await runtime.fake.updateRuntimeConfig('10.88.5.0/24');
    const sync = new PodCidrSync({ client: {} as never, runtime, nodeName: 'n1', logger, onReady: () => undefined });
    await sync.reconcile(undefined);
    expect([sync.networkReady, runtime.updates]).toEqual([true, []]);
  });
});

/** The fake runtime, refusing sandboxes with `refusal` when a test sets it. */
class RefusingRuntime extends FakeRuntime {
  refusal: BerthError | undefined;
  override async runPodSandbox(config: PodSandboxConfig): Promise<PodSandbox> {
    if (this.refusal) throw this.refusal;
    return super.runPodSandbox(config);
  }
}

describe('pods and the pod network', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-pod-cidr-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  let runtime: RefusingRuntime;
  let pods: Map<string, Pod>;
  let events: string[];
  let networkReady: boolean;
  let syncer: PodSyncer;

  beforeEach(() => {
    runtime = new RefusingRuntime();
    pods = new Map();
    events = [];
    networkReady = false;
    const client: PodClient = {
      get: async () => undefined as never,
      updateStatus: async (_type, pod) => {
        pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod as Pod);
        return pod as never;
      },
      delete: async () => ({}) as never,
    };
    const recorder = { record: (_pod: Pod, type: string, reason: string, message: string) => void events.push(`${type} ${reason} ${message}`) };
    syncer = new PodSyncer({
      client,
      runtime,
      objects: { configMap: async () => undefined, secret: async () => undefined },
      podByKey: (key) => pods.get(key),
      dataDir,
      hostIP: HOST_IP,
      allocatable: { cpu: 2, memory: 2 ** 30 },
      backoff: { initialMs: 10_000, maxMs: 300_000 },
      logger,
      orphanGraceSeconds: 0,
      events: recorder,
      probes: new ProbeManager({ runtime, logger, events: recorder, onChange: () => undefined }),
      cluster: { clusterDNS: '169.254.20.10', clusterDomain: 'cluster.local' },
      hostResolvConf: () => ({}),
      podNetworkReady: () => networkReady,
    });
  });

  function addPod(name: string, spec: Partial<PodSpec> = {}): string {
    const env = [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }];
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '1' }, spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'busybox', env }], ...spec } };
    pods.set(`ns/${name}`, pod);
    return `ns/${name}`;
  }
  const statusOf = (key: string) => pods.get(key)!.status!;
  const envOf = async (name: string) => (await runtime.listContainers({ labels: { 'berth.io/pod-name': name } }))[0]?.config.env;

  it('keeps pods on the pod network ContainerCreating until the network is ready; hostNetwork pods run at once with the node IP', async () => {
    const waiting = addPod('waits');
    const host = addPod('host', { hostNetwork: true });
    expect(await syncer.reconcile(waiting)).toEqual({ requeueAfter: 5000 });
    await syncer.reconcile(host);

    expect(await runtime.listPodSandboxes({ 'berth.io/pod-name': 'waits' })).toEqual([]);
    expect(statusOf(waiting)).toMatchObject({ phase: 'Pending', hostIP: HOST_IP, containerStatuses: [{ name: 'main', state: { waiting: { reason: 'ContainerCreating', message: expect.stringMatching(/^network is not ready/) } } }] });
    expect(statusOf(waiting).podIP).toBeUndefined();
    expect(events).toContainEqual(expect.stringMatching(/^Warning NetworkNotReady network is not ready/));

    expect(statusOf(host)).toMatchObject({ phase: 'Running', podIP: HOST_IP, podIPs: [{ ip: HOST_IP }] });
    expect(await envOf('host')).toContain(`POD_IP=${HOST_IP}`);
    expect((await runtime.listPodSandboxes({ 'berth.io/pod-name': 'host' }))[0]).toMatchObject({ network: 'host', ip: '' });

    await runtime.updateRuntimeConfig('10.88.6.0/24');
    networkReady = true;
    await syncer.reconcile(waiting);
    expect(statusOf(waiting)).toMatchObject({ phase: 'Running', hostIP: HOST_IP, podIP: '10.88.6.2', podIPs: [{ ip: '10.88.6.2' }] });
    expect(await envOf('waits')).toContain('POD_IP=10.88.6.2');
  });

  it('gives each pod its own address, free again once the pod is gone', async () => {
    await runtime.updateRuntimeConfig('10.88.6.0/24');
    networkReady = true;
    const [a, b] = [addPod('a'), addPod('b')];
    await syncer.reconcile(a);
    await syncer.reconcile(b);
    expect([statusOf(a).podIP, statusOf(b).podIP]).toEqual(['10.88.6.2', '10.88.6.3']);

    pods.delete(a);
    await syncer.reconcile(a);
    expect(await runtime.listPodSandboxes({ 'berth.io/pod-name': 'a' })).toEqual([]);
    const c = addPod('c');
    await syncer.reconcile(c);
    expect(statusOf(c).podIP).toBe('10.88.6.2');
  });

  it('reports a sandbox the runtime refuses as ContainerCreating with the reason, and retries', async () => {
    runtime.refusal = errors.conflict('podsandboxes', 'clash', 'hostPort 8080 is already published by another sandbox');
    networkReady = true;
    const key = addPod('clash', { containers: [{ name: 'main', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080 }] }] });
    expect(await syncer.reconcile(key)).toEqual({ requeueAfter: 10_000 });
    const message = `Failed to create pod sandbox: ${runtime.refusal.message}`;
    expect(statusOf(key).containerStatuses?.[0]?.state?.waiting).toEqual({ reason: 'ContainerCreating', message });
    expect(events).toContainEqual(`Warning FailedCreatePodSandBox ${message}`);
  });
});
