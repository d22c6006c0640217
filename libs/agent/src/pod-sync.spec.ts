import type { Pod } from '@berth/api';
import { errors } from '@berth/errors';
import type { Container, ContainerConfig, PodSandbox, PodSandboxConfig } from '@berth/runtime-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LABELS } from './labels';
import { type AgentRuntime, type PodClient, PodSyncer } from './pod-sync';
import { ProbeManager } from './probes';

/** runtimed reduced to records: containers run when started and exit when the test says so. */
class FakeRuntime {
  sandboxes: PodSandbox[] = [];
  containers: Container[] = [];
  images = new Set(['busybox']);
  private next = 0;

  private matches(labels: Record<string, string>, wanted: Record<string, string> = {}): boolean {
    return Object.entries(wanted).every(([k, v]) => labels[k] === v);
  }

  /** The grace each stopContainer call gave. */
  readonly stopTimeouts: (number | undefined)[] = [];

  readonly api: AgentRuntime = {
    version: async () => ({ version: 'test', runtimeName: 'fake', runcVersion: '', root: '' }),
    inspectImage: async (ref: string) => {
      if (!this.images.has(ref)) throw errors.notFound('images', ref);
      return { image: { id: 'sha256:i', digest: 'sha256:d', names: [ref], created: '', size: 0 }, configJson: '{}', manifestJson: '{}' };
    },
    runPodSandbox: async (config: PodSandboxConfig) => {
      const sandbox = { id: `sb${++this.next}`, name: config.name, hostname: config.hostname ?? '', state: 'ready', createdAt: '', labels: config.labels ?? {}, networkNamespace: '', ipcNamespace: '', utsNamespace: '' } as PodSandbox;
      this.sandboxes.push(sandbox);
      return sandbox;
    },
    stopPodSandbox: async (id: string) => {
      const sandbox = this.sandboxes.find((s) => s.id === id)!;
      sandbox.state = 'notready';
      return sandbox;
    },
    removePodSandbox: async (id: string) => void (this.sandboxes = this.sandboxes.filter((s) => s.id !== id)),
    listPodSandboxes: async (labels?: Record<string, string>) => this.sandboxes.filter((s) => this.matches(s.labels, labels)),
    createContainer: async (config: ContainerConfig) => {
      const container = { id: `c${++this.next}`, name: config.name, image: config.image, imageId: 'sha256:i', imageDigest: 'sha256:d', sandboxId: config.sandboxId, state: 'created', startedAt: '', exit: null, config: { labels: config.labels ?? {} } } as unknown as Container;
      this.containers.push(container);
      return container;
    },
    startContainer: async (id: string) => Object.assign(this.container(id), { state: 'running', startedAt: new Date().toISOString() }),
    stopContainer: async (id: string, timeoutSeconds?: number) => {
      this.stopTimeouts.push(timeoutSeconds);
      return this.exit(id, 137);
    },
    removeContainer: async (id: string) => void (this.containers = this.containers.filter((c) => c.id !== id)),
    listContainers: async (options = {}) => this.containers.filter((c) => this.matches(c.config.labels, options.labels)),
    exec: () => {
      throw new Error('no exec in this fake');
    },
    status: async () => ({ networkReady: true, podCidr: '10.88.0.0/24', bridge: 'berth0' }),
    updateRuntimeConfig: async (podCidr: string) => ({ networkReady: true, podCidr, bridge: 'berth0' }),
  };

  container(id: string): Container {
    const found = this.containers.find((c) => c.id === id);
    if (!found) throw errors.notFound('containers', id);
    return found;
  }

  exit(id: string, exitCode: number, exitedAt = new Date()): Container {
    return Object.assign(this.container(id), { state: 'exited', exit: { exitCode, exitedAt: exitedAt.toISOString(), reason: exitCode ? 'Error' : 'Completed' } });
  }
}

function testPod(uid = 'uid-1', overrides: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid, resourceVersion: '1' },
    spec: { nodeName: 'n', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox' }], ...overrides },
  };
}

describe('PodSyncer', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-pod-sync-'));
  const logger = pino({ level: 'silent' });
  let runtime: FakeRuntime;
  let current: Pod | undefined;
  let statusWrites: Pod[];
  let deletes: unknown[];
  let events: string[];
  let syncer: PodSyncer;

  beforeEach(() => {
    runtime = new FakeRuntime();
    statusWrites = [];
    deletes = [];
    events = [];
    const recorder = { record: (_pod: Pod, type: string, reason: string, message: string) => void events.push(`${type} ${reason} ${message}`) };
    const client: PodClient = {
      get: async () => current as never,
      updateStatus: async (_type, pod) => {
        statusWrites.push(pod as Pod);
        current = { ...(pod as Pod), metadata: { ...pod.metadata, resourceVersion: String(Number(pod.metadata.resourceVersion) + 1) } };
        return current as never;
      },
      delete: async (_type, name, opts) => {
        deletes.push({ name, ...opts });
        return current!;
      },
    };
    syncer = new PodSyncer({
      client,
      runtime: runtime.api,
      objects: { configMap: async () => undefined, secret: async () => undefined },
      podByKey: () => current,
      dataDir,
      hostIP: '192.0.2.1',
      backoff: { initialMs: 10_000, maxMs: 300_000 },
      logger,
      orphanGraceSeconds: 2,
      events: recorder,
      probes: new ProbeManager({ runtime: runtime.api, logger, events: recorder, onChange: () => undefined }),
      cluster: { clusterDNS: '169.254.20.10', clusterDomain: 'cluster.local' },
      hostResolvConf: () => ({}),
    });
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts the pod once and writes its status only when it changes', async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    await syncer.reconcile('ns/p');
    expect(runtime.sandboxes).toHaveLength(1);
    expect(runtime.containers.map((c) => [c.state, c.config.labels[LABELS.attempt]])).toEqual([['running', '0']]);
    expect(statusWrites).toHaveLength(1);
    expect(events).toEqual(['Normal Pulled Container image "busybox" already present on machine', 'Normal Created Created container c', 'Normal Started Started container c']);
    expect(statusWrites[0]!.status).toMatchObject({ phase: 'Running', containerStatuses: [{ name: 'c', ready: true, containerID: `berth://${runtime.containers[0]!.id}` }] });
  });

  it('restarts at once the first time, then backs off with CrashLoopBackOff until the delay has passed', async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    runtime.exit(runtime.containers[0]!.id, 1);
    await syncer.reconcile('ns/p');
    expect(runtime.containers.map((c) => c.config.labels[LABELS.attempt])).toEqual(['0', '1']);
    runtime.exit(runtime.containers[1]!.id, 1);
    const result = await syncer.reconcile('ns/p');
    expect(result).toEqual({ requeueAfter: expect.any(Number) });
    expect((result as { requeueAfter: number }).requeueAfter).toBeGreaterThan(9_000);
    expect(events).toContain('Warning BackOff Back-off restarting failed container c in pod p_ns(uid-1)');
    expect(current!.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } });
    // Once the delay has passed (the exit was long ago), the third run starts and the first is removed.
    runtime.exit(runtime.containers[1]!.id, 1, new Date(Date.now() - 60_000));
    await syncer.reconcile('ns/p');
    expect(runtime.containers.map((c) => [c.config.labels[LABELS.attempt], c.state])).toEqual([['1', 'exited'], ['2', 'running']]);
  });

  it('waits for a missing image with ErrImagePull, then ImagePullBackOff', async () => {
    current = testPod('uid-1', { containers: [{ name: 'c', image: 'missing' }] });
    await syncer.reconcile('ns/p');
    expect(current.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ErrImagePull');
    await syncer.reconcile('ns/p');
    expect(current.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ImagePullBackOff');
    expect(runtime.containers).toHaveLength(0);
  });

  it("tears down an earlier pod's objects when a new pod takes its name, and everything when the pod is gone", async () => {
    current = testPod('old');
    await syncer.reconcile('ns/p');
    current = testPod('new');
    await syncer.reconcile('ns/p');
    expect(runtime.containers.map((c) => c.config.labels[LABELS.podUid])).toEqual(['new']);
    expect(runtime.sandboxes.map((s) => s.labels[LABELS.podUid])).toEqual(['new']);
    current = undefined;
    await syncer.reconcile('ns/p');
    expect([runtime.containers, runtime.sandboxes]).toEqual([[], []]);
  });

  it('stops a pod marked for deletion and deletes it with grace 0 and its uid as precondition', async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    current = { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString() } };
    await syncer.reconcile('ns/p');
    expect([runtime.containers, runtime.sandboxes]).toEqual([[], []]);
    expect(deletes).toEqual([{ name: 'p', namespace: 'ns', gracePeriodSeconds: 0, preconditions: { uid: 'uid-1' } }]);
  });

  it("stops a deleted pod's containers with the grace its deletion gave, none when it was deleted without grace", async () => {
    for (const [uid, deletionGracePeriodSeconds] of [['uid-1', 7], ['uid-2', 0]] as const) {
      current = testPod(uid);
      await syncer.reconcile('ns/p');
      current = { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds } };
      await syncer.reconcile('ns/p');
    }
    expect(runtime.stopTimeouts).toEqual([7, 0]);
  });

  it('stops the containers again, sooner, when a later DELETE shortens the grace period', async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    const waiting: (() => void)[] = [];
    runtime.api.stopContainer = async (id: string, timeoutSeconds?: number) => {
      runtime.stopTimeouts.push(timeoutSeconds);
      // The long grace runs until the shorter stop ends it.
      if (timeoutSeconds) await new Promise<void>((resolve) => waiting.push(resolve));
      else for (const resolve of waiting) resolve();
      return runtime.exit(id, 137);
    };
    current = { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 60 } };
    const finishing = syncer.reconcile('ns/p');
    current = { ...current, metadata: { ...current.metadata, deletionGracePeriodSeconds: 0 } };
    await finishing;
    expect(runtime.stopTimeouts).toEqual([60, 0]);
    expect([runtime.containers, runtime.sandboxes]).toEqual([[], []]);
    expect(deletes).toHaveLength(1);
  });

  it('runs init containers one at a time, in order, before the containers', async () => {
    current = testPod('uid-1', { restartPolicy: 'Never', initContainers: [{ name: 'i1', image: 'busybox' }, { name: 'i2', image: 'busybox' }] });
    await syncer.reconcile('ns/p');
    expect(runtime.containers.map((c) => c.config.labels[LABELS.containerName])).toEqual(['i1']);
    runtime.exit(runtime.containers[0]!.id, 0);
    await syncer.reconcile('ns/p');
    expect(runtime.containers.map((c) => c.config.labels[LABELS.containerName])).toEqual(['i1', 'i2']);
    runtime.exit(runtime.containers[1]!.id, 1);
    await syncer.reconcile('ns/p');
    expect(runtime.containers.map((c) => c.config.labels[LABELS.containerName])).toEqual(['i1', 'i2']);
    expect(current!.status?.phase).toBe('Failed');
  });
});
