import type { Pod } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FAKE_STOP_EXIT_CODE, FakeRuntime } from './fake-runtime';
import { LABELS } from './labels';
import { type PodClient, PodSyncer } from './pod-sync';
import { ProbeManager } from './probes';

async function rejection(work: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const POD_CIDR = '10.88.3.0/24';

describe('FakeRuntime', () => {
  it('runs a container the moment it is started and keeps it running until stopped', async () => {
    const runtime = new FakeRuntime({ podCidr: POD_CIDR });
    const sandbox = await runtime.runPodSandbox({ name: 'p', labels: { app: 'a' } });
    const created = await runtime.createContainer({ image: 'busybox', command: ['sleep', '3600'], sandboxId: sandbox.id, labels: { app: 'a' } });
    expect(created.state).toBe('created');
    expect(await runtime.listContainers()).toEqual([]);

    const started = await runtime.startContainer(created.id);
    expect(started).toMatchObject({ state: 'running', args: ['sleep', '3600'], exit: null });
    expect(Date.parse(started.startedAt)).not.toBeNaN();
    expect((await runtime.listContainers({ labels: { app: 'a' } })).map((c) => c.id)).toEqual([created.id]);
    expect(await runtime.listContainers({ labels: { app: 'b' } })).toEqual([]);

    const stopped = await runtime.stopContainer(created.id);
    expect(stopped).toMatchObject({ state: 'exited', exit: { exitCode: FAKE_STOP_EXIT_CODE, reason: 'Error' } });
    expect(await runtime.listContainers()).toEqual([]);
    expect(await runtime.listContainers({ all: true })).toHaveLength(1);
  });

  it('answers as runtimed does for unknown objects, missing images, and removing a running container', async () => {
    const runtime = new FakeRuntime({ images: ['busybox'] });
    expect(isBerthError(await rejection(() => runtime.inspectImage('nginx')), 'NotFound')).toBe(true);
    expect(isBerthError(await rejection(() => runtime.createContainer({ image: 'nginx' })), 'NotFound')).toBe(true);
    expect(isBerthError(await rejection(() => runtime.startContainer('nope')), 'NotFound')).toBe(true);
    expect(isBerthError(await rejection(() => runtime.removePodSandbox('nope')), 'NotFound')).toBe(true);

    const { id } = await runtime.createContainer({ image: 'busybox' });
    await runtime.startContainer(id);
    expect(isBerthError(await rejection(() => runtime.startContainer(id)), 'Conflict')).toBe(true);
    expect(isBerthError(await rejection(() => runtime.removeContainer(id)), 'Conflict')).toBe(true);
    expect(isBerthError(await rejection(() => runtime.exec(id)), 'BadRequest')).toBe(true);
    await runtime.removeContainer(id, { force: true });
    expect(await runtime.listContainers({ all: true })).toEqual([]);
  });

  it('stops and removes the containers of a sandbox with it', async () => {
    const runtime = new FakeRuntime({ podCidr: POD_CIDR });
    const sandbox = await runtime.runPodSandbox({ name: 'p' });
    const { id } = await runtime.createContainer({ image: 'busybox', sandboxId: sandbox.id });
    await runtime.startContainer(id);

    expect((await runtime.stopPodSandbox(sandbox.id)).state).toBe('notready');
    expect((await runtime.listContainers({ all: true }))[0]).toMatchObject({ state: 'exited' });
    await runtime.removePodSandbox(sandbox.id);
    expect(await runtime.listPodSandboxes()).toEqual([]);
    expect(await runtime.listContainers({ all: true })).toEqual([]);
  });

  it('logs nothing', async () => {
    const runtime = new FakeRuntime();
    const { id } = await runtime.createContainer({ image: 'busybox' });
    const entries = [];
    for await (const entry of runtime.logs(id)) entries.push(entry);
    expect(entries).toEqual([]);
  });

  describe('pod network', () => {
    it('refuses pod-network sandboxes until a pod CIDR is configured, and runs host-network ones at once', async () => {
      const runtime = new FakeRuntime();
      expect(await runtime.status()).toEqual({ networkReady: false, podCidr: '', bridge: 'berth0' });
      const refused = await rejection(() => runtime.runPodSandbox({ name: 'p' }));
      expect(isBerthError(refused, 'ServiceUnavailable') && refused.message).toMatch(/^network not ready/);
      expect(await runtime.runPodSandbox({ name: 'h', network: 'host' })).toMatchObject({ network: 'host', ip: '' });

      expect(await runtime.updateRuntimeConfig(POD_CIDR)).toEqual({ networkReady: true, podCidr: POD_CIDR, bridge: 'berth0' });
      expect(await runtime.runPodSandbox({ name: 'p' })).toMatchObject({ network: '', ip: '10.88.3.2' });
    });

    it('rejects what is not an IPv4 network address as Invalid', async () => {
      const runtime = new FakeRuntime();
      for (const bad of ['10.88.0.0', '10.88.0.0/33', '300.1.1.0/24', 'fd00::/64', '10.88.0.1/24']) {
        expect(isBerthError(await rejection(() => runtime.updateRuntimeConfig(bad)), 'Invalid')).toBe(true);
      }
      expect((await runtime.status()).networkReady).toBe(false);
    });

    it('hands out distinct addresses of the CIDR, released when a sandbox is stopped or removed', async () => {
      const runtime = new FakeRuntime({ podCidr: '10.88.9.0/30' });
      const only = await runtime.runPodSandbox({ name: 'a', portMappings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }] });
      // A /30 has one address besides the network, gateway and broadcast ones.
      expect(only).toMatchObject({ ip: '10.88.9.2', portMappings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }] });
      expect(isBerthError(await rejection(() => runtime.runPodSandbox({ name: 'b' })), 'ServiceUnavailable')).toBe(true);

      expect((await runtime.stopPodSandbox(only.id)).ip).toBe('');
      const second = await runtime.runPodSandbox({ name: 'b' });
      expect(second.ip).toBe('10.88.9.2');
      await runtime.removePodSandbox(second.id);
      expect((await runtime.runPodSandbox({ name: 'c' })).ip).toBe('10.88.9.2');
    });
  });

  it('pulls from its in-memory registry: what it lacks is NotFound, a credential it needs is Unauthorized without it', async () => {
    const runtime = new FakeRuntime({ images: [], registry: { 'open:1': null, 'private:1': { username: 'u', password: 'p' } } });
    expect(await runtime.pullImage('open:1')).toEqual({ image: expect.objectContaining({ names: ['open:1'] }), digest: 'sha256:fake' });
    await expect(runtime.inspectImage('open:1')).resolves.toBeDefined();
    await expect(runtime.pullImage('missing:1')).rejects.toMatchObject({ reason: 'NotFound' });
    await expect(runtime.pullImage('private:1')).rejects.toMatchObject({ reason: 'Unauthorized' });
    await runtime.pullImage('private:1', { auth: { username: 'u', password: 'p' } });
    expect(runtime.pulls).toEqual([{ ref: 'open:1' }, { ref: 'missing:1' }, { ref: 'private:1' }, { ref: 'private:1', auth: { username: 'u', password: 'p' } }]);
    expect((await runtime.listImages()).map((i) => i.names[0])).toEqual(['open:1', 'private:1']);
    // A hollow node (no image list) pulls anything at once.
    await expect(new FakeRuntime().pullImage('anything:1')).resolves.toBeDefined();
  });

  it('removes an image no container uses, and keeps one a container uses unless forced', async () => {
    const runtime = new FakeRuntime({ images: ['a:1', 'b:1'], podCidr: '10.88.0.0/24' });
    const sandbox = await runtime.runPodSandbox({ name: 's' } as never);
    await runtime.createContainer({ name: 'c', image: 'b:1', sandboxId: sandbox.id } as never);
    await runtime.removeImage('a:1');
    await expect(runtime.removeImage('b:1')).rejects.toMatchObject({ reason: 'Conflict' });
    await runtime.removeImage('b:1', true);
    expect(await runtime.listImages()).toEqual([]);
    await expect(runtime.removeImage('a:1')).rejects.toMatchObject({ reason: 'NotFound' });
  });

  it('gives unique ids across runtimes (hollow nodes of one cluster)', async () => {
    const [a, b] = [new FakeRuntime(), new FakeRuntime()];
    expect((await a.createContainer({ image: 'x' })).id).not.toBe((await b.createContainer({ image: 'x' })).id);
  });

  describe("under the agent's pod worker", () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'berth-fake-runtime-'));
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('gets a pod reported Running with ready containers, and torn down when it is deleted', async () => {
      const runtime = new FakeRuntime({ podCidr: '10.88.7.0/24' });
      const logger = pino({ level: 'silent' });
      let current: Pod | undefined = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'ns', uid: 'uid-1', resourceVersion: '1' },
        spec: { nodeName: 'hollow-1', terminationGracePeriodSeconds: 1, containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] },
      };
      const client: PodClient = {
        get: async () => current as never,
        updateStatus: async (_type, pod) => (current = pod as Pod) as never,
        delete: async () => {
          current = undefined;
          return {} as never;
        },
      };
      const events = { record: () => undefined };
      const syncer = new PodSyncer({
        client,
        runtime,
        objects: { configMap: async () => undefined, secret: async () => undefined },
        podByKey: () => current,
        dataDir,
        hostIP: '192.0.2.1',
        allocatable: { cpu: 2, memory: 2 ** 30 },
        backoff: { initialMs: 10_000, maxMs: 300_000 },
        logger,
        orphanGraceSeconds: 0,
        events,
        probes: new ProbeManager({ runtime, logger, events, onChange: () => undefined }),
        cluster: { clusterDNS: '169.254.20.10', clusterDomain: 'cluster.local' },
        hostResolvConf: () => ({}),
      });

      await syncer.reconcile('ns/p');
      expect(current!.status).toMatchObject({ phase: 'Running', containerStatuses: [{ name: 'a', ready: true }, { name: 'b', ready: true }] });
      const running = await runtime.listContainers({ labels: { [LABELS.podUid]: 'uid-1' } });
      expect(running).toHaveLength(2);

      current = { ...current!, metadata: { ...current!.metadata, deletionTimestamp: new Date().toISOString() } };
      await syncer.reconcile('ns/p');
      expect(current).toBeUndefined();
      expect(await runtime.listContainers({ all: true })).toEqual([]);
      expect(await runtime.listPodSandboxes()).toEqual([]);
    });
  });
});
