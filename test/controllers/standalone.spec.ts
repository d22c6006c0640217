import type { Event, Pod, ReplicaSet } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { freePort, REPO_ROOT, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eventsAbout, FakeKubelets, listOf, types } from './cluster';
import { NS } from './fixtures';

const MAIN = join(REPO_ROOT, 'dist', 'apps', 'controller-manager', 'main.js');

describe('apps/controller-manager as its own process', () => {
  let server: TestServer;
  let client: KubeClient;
  let kubelets: FakeKubelets;
  let manager: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    // Starting the server rebuilds dist/ (every app at once) when a source is newer.
    server = await startBerthServer();
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    kubelets = new FakeKubelets(client);
    await kubelets.addNode('solo');
  });

  afterAll(async () => {
    if (manager && manager.exitCode === null && manager.signalCode === null) {
      const exited = new Promise((resolve) => manager!.once('exit', resolve));
      manager.kill('SIGKILL');
      await exited;
    }
    await kubelets?.stop();
    client?.close();
    await server?.cleanup();
  });

  it('runs a ReplicaSet from --kubeconfig, replaces a deleted pod, scales down, serves /metrics, and exits cleanly on SIGTERM', async () => {
    expect(existsSync(MAIN)).toBe(true);
    const metricsPort = await freePort();
    const args = ['--kubeconfig', server.kubeconfigPath, '--controllers', 'replicaset,garbage-collector', '--metrics-bind-address', `127.0.0.1:${metricsPort}`, '--log-level', 'warn'];
    manager = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    manager.stdout!.on('data', (d) => (output += d));
    manager.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => manager!.once('exit', (code) => resolve(code)));

    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'direct', namespace: NS },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'direct' } },
        template: { metadata: { labels: { app: 'direct' } }, spec: { containers: [{ name: 'main', image: 'img:1' }] } },
      },
    };
    await client.create(types.replicaSets, rs);
    const running = async () => (await listOf<Pod>(client, types.pods, NS, 'app=direct')).filter((p) => p.status?.phase === 'Running');
    const status = () => client.get<ReplicaSet>(types.replicaSets, 'direct', { namespace: NS }).then((r) => r.status);
    await waitFor(async () => (await running()).length === 3 && (await status())?.availableReplicas === 3, 20_000, `3 pods running (${output})`);

    const [victim] = await running();
    await client.delete(types.pods, victim.metadata.name!, { namespace: NS });
    await waitFor(async () => {
      const pods = await running();
      return pods.length === 3 && !pods.some((p) => p.metadata.name === victim.metadata.name);
    }, 20_000, 'the deleted pod to be replaced');

    await client.patch(types.replicaSets, 'direct', { spec: { replicas: 1 } }, { type: 'merge', namespace: NS });
    await waitFor(async () => (await listOf<Pod>(client, types.pods, NS, 'app=direct')).length === 1 && (await status())?.replicas === 1, 20_000, 'scale down to 1');
    const count = (events: Event[], reason: string) => events.filter((e) => e.reason === reason).length;
    const recorded = await eventsAbout(client, NS, 'direct', (events) => count(events, 'SuccessfulCreate') >= 4 && count(events, 'SuccessfulDelete') >= 2);
    // Exactly: no pod was created or deleted twice.
    expect(count(recorded, 'SuccessfulCreate')).toBe(4);
    expect(count(recorded, 'SuccessfulDelete')).toBe(2);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(metrics).toMatch(/^berth_controller_reconcile_total\{controller="replicaset",result="success"\} [1-9]/m);
    expect(metrics).toContain('berth_controller_workqueue_depth{controller="garbage-collector"}');

    manager.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
