/**
 * `berth server` without --disable-agent is a working single-node cluster: a Deployment applied to it
 * runs as real runc containers through this host's runtimed, and deleting it removes them.
 */
import { busyboxRootfsTarball } from '@berth/image';
import { RuntimeClient } from '@berth/runtime-client';
import { startBerthServer, waitFor, type TestServer } from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

const BUSYBOX_CONFIG = { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };

describe('berth server as a single-node cluster', () => {
  let server: TestServer;
  let runtime: RuntimeClient;

  beforeAll(async () => {
    server = await startBerthServer({ controlLoops: true, agent: true });
    // The API answers first; this host's node joins moments later.
    await waitFor(async () => {
      const nodes = (await send('GET', '/api/v1/nodes')).object.items as { status?: { conditions?: { type: string; status: string }[] } }[];
      return nodes.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 30_000, `this host's node to be Ready:\n${server.output()}`);
    runtime = new RuntimeClient(join(server.dataDir, 'runtimed.sock'));
    await runtime.importImage(await busyboxRootfsTarball(), { name: 'busybox:latest', config: BUSYBOX_CONFIG });
  }, 60_000);

  afterAll(async () => {
    // Pods' containers outlive the server by design: remove what a failed test left, then stop it.
    if (runtime) {
      for (const c of await runtime.listContainers({ all: true }).catch(() => [])) await runtime.removeContainer(c.id, { force: true }).catch(() => undefined);
      for (const s of await runtime.listPodSandboxes().catch(() => [])) await runtime.removePodSandbox(s.id).catch(() => undefined);
      runtime.close();
    }
    if (!server) return;
    await server.stop();
    const ownMounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point) => point?.startsWith(server.dataDir))
      .reverse();
    for (const point of ownMounts) execFileSync('umount', ['-l', point]);
    await server.cleanup();
    // runtimed's default cgroup parent, empty once its containers are gone.
    for (const controller of readdirSync('/sys/fs/cgroup')) {
      try {
        rmdirSync(join('/sys/fs/cgroup', controller, 'berth'));
      } catch {
        // absent, or in use by another berth on this machine
      }
    }
    expect(ownMounts).toEqual([]);
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
