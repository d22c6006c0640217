import type { ConfigMap, Pod, Secret } from '@berth/api';
import type { Container } from '@berth/runtime-client';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pino from 'pino';
import { FakeRuntime } from './fake-runtime';
import { LABELS } from './labels';
import { type PodClient, PodSyncer } from './pod-sync';
import { ProbeManager } from './probes';
import { terminationLogPath } from './termination-message';
import { podDir } from './volumes';

/** The fake runtime, recording the grace each stop gave; a test may hold stops in `beforeStop`. */
class RecordingRuntime extends FakeRuntime {
  readonly stopTimeouts: (number | undefined)[] = [];
  beforeStop: (timeoutSeconds?: number) => Promise<void> = async () => undefined;

  override async stopContainer(id: string, timeoutSeconds?: number): Promise<Container> {
    this.stopTimeouts.push(timeoutSeconds);
    await this.beforeStop(timeoutSeconds);
    return super.stopContainer(id);
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
  let runtime: RecordingRuntime;
  let current: Pod | undefined;
  let statusWrites: Pod[];
  let deletes: unknown[];
  let events: string[];
  let configMaps: Record<string, Record<string, string>>;
  let secrets: Record<string, Secret>;
  let configMapReads: number;
  let syncer: PodSyncer;
  const containers = () => runtime.listContainers({ all: true });
  const sandboxes = () => runtime.listPodSandboxes();

  beforeEach(() => {
    runtime = new RecordingRuntime({ images: ['busybox', 'busybox:2'], registry: { busybox: null, 'busybox:2': null }, podCidr: '10.88.0.0/24' });
    statusWrites = [];
    deletes = [];
    events = [];
    configMaps = {};
    secrets = {};
    configMapReads = 0;
    recorder = { record: (_pod: Pod, type: string, reason: string, message: string) => void events.push(`${type} ${reason} ${message}`) };
    client = {
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
    syncer = newSyncer();
  });

  let recorder: { record: (pod: Pod, type: string, reason: string, message: string) => void };
  let client: PodClient;
  function newSyncer(): PodSyncer {
    return new PodSyncer({
      client,
      runtime,
      objects: {
        configMap: async (namespace, name) => {
          configMapReads++;
          const data = configMaps[name];
          return data ? ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { ...data } } as ConfigMap) : undefined;
        },
        secret: async (_namespace, name) => secrets[name],
      },
      podByKey: () => current,
      dataDir,
      hostIP: '192.0.2.1',
      allocatable: { cpu: 2, memory: 2 ** 30 },
      backoff: { initialMs: 10_000, maxMs: 300_000 },
      logger,
      orphanGraceSeconds: 2,
      events: recorder,
      probes: new ProbeManager({ runtime, logger, events: recorder, onChange: () => undefined }),
      cluster: { clusterDNS: '169.254.20.10', clusterDomain: 'cluster.local' },
      hostResolvConf: () => ({}),
    });
  }

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts the pod once and writes its status only when it changes', async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    await syncer.reconcile('ns/p');
    expect(await sandboxes()).toHaveLength(1);
    expect((await containers()).map((c) => [c.state, c.config.labels[LABELS.attempt]])).toEqual([['running', '0']]);
    expect(statusWrites).toHaveLength(1);
    // busybox has no tag: pulled on every container start (imagePullPolicy Always by default).
    expect(events).toEqual([
      'Normal Pulling Pulling image "busybox"',
      expect.stringMatching(/^Normal Pulled Successfully pulled image "busybox" in \d+(ms|\.?\d*s) \(\d+(ms|\.?\d*s) including waiting\)\. Image size: 0 bytes\.$/),
      'Normal Created Created container c',
      'Normal Started Started container c',
    ]);
    expect(statusWrites[0]!.status).toMatchObject({ phase: 'Running', containerStatuses: [{ name: 'c', ready: true, containerID: `berth://${(await containers())[0]!.id}` }] });
  });

  it('restarts at once the first time, then backs off with CrashLoopBackOff until the delay has passed', async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    runtime.exitContainer((await containers())[0]!.id, 1);
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => c.config.labels[LABELS.attempt])).toEqual(['0', '1']);
    runtime.exitContainer((await containers())[1]!.id, 1);
    const result = await syncer.reconcile('ns/p');
    expect(result).toEqual({ requeueAfter: expect.any(Number) });
    expect((result as { requeueAfter: number }).requeueAfter).toBeGreaterThan(9_000);
    expect(events).toContain('Warning BackOff Back-off restarting failed container c in pod p_ns(uid-1)');
    expect(current!.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } });
    // Once the delay has passed, the third run starts and the first is removed.
    const later = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 60_000);
    try {
      await syncer.reconcile('ns/p');
    } finally {
      later.mockRestore();
    }
    expect((await containers()).map((c) => [c.config.labels[LABELS.attempt], c.state])).toEqual([['1', 'exited'], ['2', 'running']]);
  });

  it('waits for a missing image with ErrImagePull, then ImagePullBackOff', async () => {
    current = testPod('uid-1', { containers: [{ name: 'c', image: 'missing' }] });
    await syncer.reconcile('ns/p');
    expect(current.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ErrImagePull');
    await syncer.reconcile('ns/p');
    expect(current.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ImagePullBackOff');
    expect(await containers()).toHaveLength(0);
  });

  it('pulls with the pod\'s image pull secret and runs the pod; Never with an absent image waits with ErrImageNeverPull', async () => {
    const auth = { username: 'u', password: 'p' };
    runtime = new RecordingRuntime({ images: ['busybox'], registry: { 'registry.example.com/app:1': auth }, podCidr: '10.88.0.0/24' });
    syncer = newSyncer();
    const config = { auths: { 'registry.example.com': { auth: Buffer.from('u:p').toString('base64') } } };
    secrets = { regcred: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'ns' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') } } };
    current = testPod('uid-1', { imagePullSecrets: [{ name: 'regcred' }], containers: [{ name: 'c', image: 'registry.example.com/app:1' }, { name: 'n', image: 'local:1', imagePullPolicy: 'Never' }] });
    await syncer.reconcile('ns/p');
    expect(runtime.pulls).toEqual([{ ref: 'registry.example.com/app:1', auth }]);
    expect(current.status?.containerStatuses?.map((s) => [s.name, s.state?.running ? 'running' : s.state?.waiting?.reason])).toEqual([
      ['c', 'running'],
      ['n', 'ErrImageNeverPull'],
    ]);
    expect(current.status?.containerStatuses?.[0]?.imageID).toBe('registry.example.com/app@sha256:fake');
  });

  it('reports a container the runtime cannot create as asked as CreateContainerConfigError, with its message', async () => {
    current = testPod('uid-1', { securityContext: { runAsNonRoot: true } });
    await syncer.reconcile('ns/p');
    expect(current.status?.containerStatuses?.[0]?.state?.waiting).toEqual({
      reason: 'CreateContainerConfigError',
      message: 'container "k8s_c_p_ns_uid-1_0" is invalid: security.runAsNonRoot: Forbidden: container has runAsNonRoot and image will run as root',
    });
    expect(await containers()).toHaveLength(0);
    current = testPod('uid-2', { securityContext: { runAsNonRoot: true, runAsUser: 1000 } });
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => [c.state, c.config.user, c.config.security.runAsNonRoot])).toEqual([['running', '1000', true]]);
  });

  it("tears down an earlier pod's objects when a new pod takes its name, and everything when the pod is gone", async () => {
    current = testPod('old');
    await syncer.reconcile('ns/p');
    current = testPod('new');
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => c.config.labels[LABELS.podUid])).toEqual(['new']);
    expect((await sandboxes()).map((s) => s.labels[LABELS.podUid])).toEqual(['new']);
    current = undefined;
    await syncer.reconcile('ns/p');
    expect([await containers(), await sandboxes()]).toEqual([[], []]);
  });

  it('stops a pod marked for deletion and deletes it with grace 0 and its uid as precondition', async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    current = { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString() } };
    await syncer.reconcile('ns/p');
    expect([await containers(), await sandboxes()]).toEqual([[], []]);
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
    runtime.beforeStop = async (timeoutSeconds) => {
      // The long grace runs until the shorter stop ends it.
      if (timeoutSeconds) await new Promise<void>((resolve) => waiting.push(resolve));
      else for (const resolve of waiting) resolve();
    };
    current = { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 60 } };
    const finishing = syncer.reconcile('ns/p');
    current = { ...current, metadata: { ...current.metadata, deletionGracePeriodSeconds: 0 } };
    await finishing;
    expect(runtime.stopTimeouts).toEqual([60, 0]);
    expect([await containers(), await sandboxes()]).toEqual([[], []]);
    expect(deletes).toHaveLength(1);
  });

  it("lists a finished pod's runtime objects once per sync, and writes nothing when nothing changed", async () => {
    current = testPod('uid-1', { restartPolicy: 'Never' });
    await syncer.reconcile('ns/p');
    runtime.exitContainer((await containers())[0]!.id, 0);
    await syncer.reconcile('ns/p');
    expect(current!.status?.phase).toBe('Succeeded');
    const writes = statusWrites.length;
    const lists = jest.spyOn(runtime, 'listContainers');
    const sandboxLists = jest.spyOn(runtime, 'listPodSandboxes');
    // Its own status write and its controller's update (a finalizer gone) come back: each is one sync.
    await syncer.reconcile('ns/p');
    expect([lists.mock.calls.length, sandboxLists.mock.calls.length]).toEqual([1, 1]);
    expect(statusWrites).toHaveLength(writes);
    expect(current!.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });

  it('gives back the network of a pod that has ended, keeping its containers and its status', async () => {
    current = testPod('uid-1', { restartPolicy: 'Never' });
    await syncer.reconcile('ns/p');
    const podIP = current!.status?.podIP;
    expect(podIP).toMatch(/^10\.88\.0\./);
    runtime.exitContainer((await containers())[0]!.id, 0);
    await syncer.reconcile('ns/p');
    expect(current!.status?.phase).toBe('Succeeded');
    const writes = statusWrites.length;
    await syncer.reconcile('ns/p');
    expect((await sandboxes()).map((s) => [s.state, s.ip])).toEqual([['notready', '']]);
    expect((await containers()).map((c) => c.state)).toEqual(['exited']);
    await syncer.reconcile('ns/p');
    expect(statusWrites).toHaveLength(writes);
    expect(current!.status).toMatchObject({ phase: 'Succeeded', podIP, podIPs: [{ ip: podIP }] });
  });

  it('keeps the network of a pod whose containers restart', async () => {
    current = testPod('uid-1', { restartPolicy: 'OnFailure' });
    await syncer.reconcile('ns/p');
    runtime.exitContainer((await containers())[0]!.id, 1);
    await syncer.reconcile('ns/p');
    await syncer.reconcile('ns/p');
    expect(current!.status?.phase).not.toBe('Succeeded');
    expect((await sandboxes()).map((s) => s.state)).toEqual(['ready']);
  });

  it('runs init containers one at a time, in order, before the containers', async () => {
    current = testPod('uid-1', { restartPolicy: 'Never', initContainers: [{ name: 'i1', image: 'busybox' }, { name: 'i2', image: 'busybox' }] });
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => c.config.labels[LABELS.containerName])).toEqual(['i1']);
    runtime.exitContainer((await containers())[0]!.id, 0);
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => c.config.labels[LABELS.containerName])).toEqual(['i1', 'i2']);
    runtime.exitContainer((await containers())[1]!.id, 1);
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => c.config.labels[LABELS.containerName])).toEqual(['i1', 'i2']);
    expect(current!.status?.phase).toBe('Failed');
  });

  it("restarts a running container when the pod's image is updated, keeping the old run as the previous one", async () => {
    current = testPod();
    await syncer.reconcile('ns/p');
    current = { ...current, spec: { ...current.spec!, containers: [{ name: 'c', image: 'busybox:2' }] } };
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => [c.config.labels[LABELS.attempt], c.image, c.state])).toEqual([
      ['0', 'busybox', 'exited'],
      ['1', 'busybox:2', 'running'],
    ]);
    expect(events).toContain('Normal Killing Container c definition changed, will be restarted');
    expect(current.status?.containerStatuses?.[0]).toMatchObject({ image: 'busybox:2', restartCount: 1, state: { running: {} } });
  });

  it('kills a container whose postStart hook fails, saying why', async () => {
    // The fake runtime cannot exec, so an exec hook fails.
    current = testPod('uid-1', { containers: [{ name: 'c', image: 'busybox', lifecycle: { postStart: { exec: { command: ['true'] } } } }] });
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => c.state)).toEqual(['exited']);
    expect(events).toContainEqual(expect.stringMatching(/^Warning FailedPostStartHook PostStartHook failed: .*exec is not supported/));
    expect(current.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PostStartHookError');
  });

  it("runs a container's preStop hook before stopping it, within the grace period", async () => {
    current = testPod('uid-1', { terminationGracePeriodSeconds: 30, containers: [{ name: 'c', image: 'busybox', lifecycle: { preStop: { sleep: { seconds: 1 } } } }] });
    await syncer.reconcile('ns/p');
    current = { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 30 } };
    await syncer.reconcile('ns/p');
    // The hook took a second of the 30: SIGTERM gets the rest.
    expect(runtime.stopTimeouts).toEqual([29]);
    expect([await containers(), await sandboxes()]).toEqual([[], []]);
  });

  it('fails a pod that outlives its activeDeadlineSeconds and stops its containers for good', async () => {
    current = testPod('uid-1', { activeDeadlineSeconds: 5 });
    await syncer.reconcile('ns/p');
    expect(current.status?.phase).toBe('Running');
    current = { ...current, status: { ...current.status, startTime: new Date(Date.now() - 6000).toISOString() } };
    await syncer.reconcile('ns/p');
    expect(current.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
    expect(events).toContain('Normal DeadlineExceeded Pod was active on the node longer than the specified deadline');
    await syncer.reconcile('ns/p');
    expect((await containers()).map((c) => c.state)).toEqual(['exited']);
    expect(current.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
  });

  it("reports what a container wrote to its terminationMessagePath once it ended", async () => {
    current = testPod('uid-1', { containers: [{ name: 'c', image: 'busybox', terminationMessagePath: '/dev/termination-log' }] });
    await syncer.reconcile('ns/p');
    const [first] = await containers();
    expect(first!.config.mounts).toContainEqual(expect.objectContaining({ type: 'bind', source: terminationLogPath(podDir(dataDir, 'uid-1'), 'c', 0), destination: '/dev/termination-log', readOnly: false }));
    // What the container would write there.
    writeFileSync(terminationLogPath(podDir(dataDir, 'uid-1'), 'c', 0), 'out of cheese');
    runtime.exitContainer(first!.id, 3);
    await syncer.reconcile('ns/p');
    expect(current.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 3, message: 'out of cheese' });
  });

  it("reads an ended run's termination message once, not on every status report", async () => {
    current = testPod('uid-1', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', terminationMessagePath: '/dev/termination-log' }] });
    await syncer.reconcile('ns/p');
    const [run] = await containers();
    const path = terminationLogPath(podDir(dataDir, 'uid-1'), 'c', 0);
    writeFileSync(path, 'done');
    runtime.exitContainer(run!.id, 0);
    const fsp = require('node:fs/promises') as typeof import('node:fs/promises');
    const open = fsp.open;
    let reads = 0;
    const spy = jest.spyOn(fsp, 'open').mockImplementation(((file: string, ...rest: unknown[]) => {
      if (file === path) reads++;
      return (open as (...args: unknown[]) => unknown)(file, ...rest);
    }) as never);
    try {
      await syncer.reconcile('ns/p');
      expect(current.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, message: 'done' });
      expect(reads).toBe(1);
      await syncer.reconcile('ns/p');
      await syncer.reconcile('ns/p');
      expect(reads).toBe(1);
      expect(current.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, message: 'done' });
    } finally {
      spy.mockRestore();
    }
  });

  it('makes the volumes ready once, then again only when the labels change or the ConfigMaps are read again', async () => {
    configMaps = { cm: { key: 'one' } };
    const volumes = [
      { name: 'config', configMap: { name: 'cm' } },
      { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      { name: 'scratch', emptyDir: {} },
    ];
    const pod = testPod('uid-1', { volumes, containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] });
    current = { ...pod, metadata: { ...pod.metadata, labels: { app: 'one' } } };
    const root = join(podDir(dataDir, 'uid-1'), 'volumes');
    // What making a volume ready does first: mkdir for an emptyDir, readlink of `..data` for a volume of files.
    const fsp = require('node:fs/promises') as typeof import('node:fs/promises');
    const touched: string[] = [];
    const watch = <K extends 'mkdir' | 'readlink'>(name: K) => {
      const real = fsp[name] as (...args: unknown[]) => unknown;
      return jest.spyOn(fsp, name).mockImplementation(((path: string, ...rest: unknown[]) => {
        const at = relative(root, String(path));
        if (/^[^./][^/]*(\/\.\.data)?$/.test(at)) touched.push(`${name} ${at}`);
        return real(path, ...rest);
      }) as never);
    };
    const spies = [watch('mkdir'), watch('readlink')];
    const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');
    const sync = async () => {
      touched.length = 0;
      await syncer.reconcile('ns/p');
      return [...touched].sort();
    };
    const once = ['mkdir config', 'mkdir info', 'mkdir scratch', 'readlink config/..data', 'readlink info/..data'];
    try {
      // Two containers started: the volumes are made ready for the first and taken as they are for the second.
      expect(await sync()).toEqual(once);
      expect((await containers()).map((c) => c.state)).toEqual(['running', 'running']);
      expect(configMapReads).toBe(1);
      // Nothing changed: nothing is read back or made again.
      expect(await sync()).toEqual([]);
      expect(configMapReads).toBe(1);
      // The labels change: the volumes show them at once, the ConfigMap as it was read.
      configMaps = { cm: { key: 'two' } };
      current = { ...current, metadata: { ...current.metadata, labels: { app: 'two' } } };
      expect(await sync()).toEqual(expect.arrayContaining(once));
      expect([read('info', 'labels'), read('config', 'key'), configMapReads]).toEqual(['app="two"', 'one', 1]);
      expect(await sync()).toEqual([]);
      // The refresh period has passed: the ConfigMap is read again and shown.
      const later = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 60_000);
      try {
        expect(await sync()).toEqual(expect.arrayContaining(once));
        expect([read('config', 'key'), configMapReads]).toEqual(['two', 2]);
        expect(await sync()).toEqual([]);
      } finally {
        later.mockRestore();
      }
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("gives the writable volumes fsGroup's group when they are first made ready, also when the first try failed", async () => {
    // The ConfigMap is not there yet: the container waits, and its emptyDir was made already.
    current = testPod('uid-fsgroup', { securityContext: { fsGroup: 2000 }, volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'config', configMap: { name: 'cm' } }] });
    await syncer.reconcile('ns/p');
    expect(current.status?.containerStatuses?.[0]?.state?.waiting).toMatchObject({ reason: 'CreateContainerConfigError', message: 'configmaps "cm" not found' });
    configMaps = { cm: { key: 'v' } };
    const later = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 60_000);
    // The files of the ConfigMap's volume get the group once, as they are written, not walked again.
    // The walk goes by fd (chown of /proc/self/fd/N, lchown of /proc/self/fd/<dir>/<name>): each call is counted under the path it reached.
    const fsp = require('node:fs/promises') as typeof import('node:fs/promises');
    const { chown, lchown } = fsp;
    const reached = (path: import('node:fs').PathLike) => String(path).replace(/^\/proc\/self\/fd\/\d+/, (fd) => readlinkSync(fd));
    const grouped: string[] = [];
    const spies = [
      jest.spyOn(fsp, 'chown').mockImplementation((path, uid, gid) => {
        grouped.push(reached(path));
        return chown(path, uid, gid);
      }),
      jest.spyOn(fsp, 'lchown').mockImplementation((path, uid, gid) => {
        grouped.push(reached(path));
        return lchown(path, uid, gid);
      }),
    ];
    try {
      await syncer.reconcile('ns/p');
    } finally {
      later.mockRestore();
      for (const spy of spies) spy.mockRestore();
    }
    expect((await containers()).map((c) => c.state)).toEqual(['running']);
    const volumes = join(podDir(dataDir, 'uid-fsgroup'), 'volumes');
    const scratch = statSync(join(volumes, 'scratch'));
    expect([scratch.gid, scratch.mode & 0o7777]).toEqual([2000, 0o2777]);
    const key = statSync(join(volumes, 'config', 'key'));
    expect([key.gid, key.mode & 0o7777]).toEqual([2000, 0o644]);
    expect(grouped.filter((path) => path.startsWith(join(volumes, 'config', '..2')) && path.endsWith('/key'))).toHaveLength(1);
  });
});
