/**
 * Leader election between real processes: one API server without control loops, two `berth scheduler`s
 * and two `berth controller-manager`s against it. Only the holder of each Lease acts; kill -9 the
 * holding scheduler and the other binds the next pod; SIGTERM the holding controller-manager and it hands
 * its Lease back. And `berth server`'s own loops, under one identity.
 */
import type { Deployment, Event, Lease, Pod, ReplicaSet } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { type Kubectl, kubectlFor, kubectlTable, REPO_ROOT, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubelets, listOf, types } from '../controllers/cluster';
import { deployment, NS } from '../controllers/fixtures';

interface Daemon {
  name: string;
  child: ChildProcess;
  output(): string;
  /** Its leader election identity, from its first log line about the Lease. */
  identity(): string | undefined;
  exited: Promise<number | null>;
}

function startDaemon(app: 'scheduler' | 'controller-manager', name: string, args: string[]): Daemon {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'apps', app, 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, output: () => output, identity: () => /"identity":"([^"]+)"/.exec(output)?.[1], exited };
}

const alive = (d: Daemon) => d.child.exitCode === null && d.child.signalCode === null;

describe('leader election: two schedulers and two controller-managers on one API server', () => {
  let server: TestServer;
  let client: KubeClient;
  let kubelets: FakeKubelets;
  let kubectl: Kubectl;
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    // Starting the server rebuilds dist/ when a source is newer; it runs no scheduler or controllers itself.
    server = await startBerthServer();
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    kubectl = kubectlFor(server);
    // The fake kubelets run what a scheduler bound; they bind nothing themselves.
    kubelets = new FakeKubelets(client, undefined, false);
    await kubelets.addNode('node-a');
    await kubelets.addNode('node-b');
  });

  afterAll(async () => {
    for (const d of daemons.filter(alive)) {
      d.child.kill('SIGKILL');
      await d.exited;
    }
    await kubelets?.stop();
    client?.close();
    kubectl?.cleanup();
    await server?.cleanup();
  });

  const lease = (name: string) => client.get<Lease>(types.leases, name, { namespace: 'kube-system' });
  const holderOf = async (name: string, candidates: Daemon[]) => {
    const holder = (await lease(name)).spec?.holderIdentity;
    return candidates.find((d) => d.identity() === holder);
  };
  const scheduledEvents = async (pod: string) =>
    (await listOf<Event>(client, types.events, NS)).filter((e) => e.involvedObject.name === pod && e.reason === 'Scheduled').length;
  const diagnostics = () => daemons.map((d) => `--- ${d.name}\n${d.output()}`).join('\n');

  it('one of each acts, kubectl names the holders, a killed scheduler is replaced, a stopped controller-manager hands over', async () => {
    // A Lease of 6 s instead of 15: the kill -9 below makes the standby wait out a whole lease duration.
    const timing = ['--leader-elect-lease-duration', '6s', '--leader-elect-renew-deadline', '4s', '--leader-elect-retry-period', '1s'];
    const common = ['--kubeconfig', server.kubeconfigPath, '--log-level', 'info', ...timing];
    const schedulers = [startDaemon('scheduler', 'scheduler-1', common), startDaemon('scheduler', 'scheduler-2', common)];
    const controllerArgs = [...common, '--controllers', 'deployment,replicaset,garbage-collector'];
    const managers = [startDaemon('controller-manager', 'controller-manager-1', controllerArgs), startDaemon('controller-manager', 'controller-manager-2', controllerArgs)];
    daemons.push(...schedulers, ...managers);

    const scheduler = await waitFor(() => holderOf('kube-scheduler', schedulers), 30_000, `a scheduler to hold kube-system/kube-scheduler\n${diagnostics()}`);
    const manager = await waitFor(() => holderOf('kube-controller-manager', managers), 30_000, `a controller-manager to hold its Lease\n${diagnostics()}`);
    const standbyScheduler = schedulers.find((d) => d !== scheduler)!;
    const standbyManager = managers.find((d) => d !== manager)!;
    // Both standbys are up and competing (each has read the Lease and named its holder).
    await waitFor(() => [standbyScheduler, standbyManager].every((d) => d.output().includes('new leader observed')), 30_000, `the standbys to see the leaders\n${diagnostics()}`);

    // kubectl prints the Leases as Kubernetes does: NAME, HOLDER, AGE.
    const rows = kubectlTable(await kubectl.ok(['get', 'lease', '-n', 'kube-system']));
    expect(rows.map((r) => Object.keys(r))[0]).toEqual(['NAME', 'HOLDER', 'AGE']);
    // Besides the API server's own identity Lease (apiserver-<hash>, as kube-apiserver's).
    const holders = Object.fromEntries(rows.filter((r) => !r.NAME!.startsWith('apiserver-')).map((r) => [r.NAME, r.HOLDER]));
    expect(holders).toEqual({ 'kube-scheduler': scheduler.identity(), 'kube-controller-manager': manager.identity() });
    expect(rows.filter((r) => r.NAME!.startsWith('apiserver-'))).toHaveLength(1);
    expect(scheduler.identity()).toMatch(/^[^_]+_[0-9a-f-]{36}$/);

    // A Deployment gets one ReplicaSet, its pods are created once and bound once.
    await client.create<Deployment>(types.deployments, deployment('web', 3));
    const running = async () => (await listOf<Pod>(client, types.pods, NS, 'app=web')).filter((p) => p.spec?.nodeName && p.status?.phase === 'Running');
    const pods = await waitFor(async () => ((await running()).length === 3 ? running() : undefined), 60_000, `3 web pods running\n${diagnostics()}`);
    const replicaSets = await listOf<ReplicaSet>(client, types.replicaSets, NS, 'app=web');
    expect(replicaSets).toHaveLength(1);
    await waitFor(async () => (await Promise.all(pods.map((p) => scheduledEvents(p.metadata.name!)))).every((n) => n >= 1), 15_000, 'Scheduled events');
    expect(await Promise.all(pods.map((p) => scheduledEvents(p.metadata.name!)))).toEqual([1, 1, 1]);
    const creates = (await listOf<Event>(client, types.events, NS)).filter((e) => e.involvedObject.name === replicaSets[0].metadata.name && e.reason === 'SuccessfulCreate');
    expect(creates).toHaveLength(3);
    // The standbys never started acting.
    expect(standbyScheduler.output()).not.toContain('scheduler started');
    expect(standbyManager.output()).not.toContain('controller-manager started');
    expect(scheduler.output()).toContain('scheduler started');

    // kill -9 the holding scheduler: its Lease is not released, so the other takes it only after seeing it
    // unchanged for the lease duration; then it binds the next pod.
    const killedAt = Date.now();
    scheduler.child.kill('SIGKILL');
    await scheduler.exited;
    await client.create<Pod>(types.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'after-failover', namespace: NS }, spec: { containers: [{ name: 'main', image: 'busybox:1' }] } });
    const bound = await waitFor(async () => (await client.get<Pod>(types.pods, 'after-failover', { namespace: NS })).spec?.nodeName, 60_000, `the pod to be bound after the failover\n${diagnostics()}`);
    process.stdout.write(`leader failover (scheduler killed -9 → next pod bound on ${bound}): ${((Date.now() - killedAt) / 1000).toFixed(1)} s\n`);
    expect((await lease('kube-scheduler')).spec).toMatchObject({ holderIdentity: standbyScheduler.identity(), leaseTransitions: 1 });
    expect(standbyScheduler.output()).toContain('scheduler started');
    await waitFor(() => scheduledEvents('after-failover'), 15_000, 'the Scheduled event');
    expect(await scheduledEvents('after-failover')).toBe(1);

    // SIGTERM the holding controller-manager: it stops its controllers, then empties the holder, so the
    // other never waits for the Lease to expire.
    manager.child.kill('SIGTERM');
    expect(await manager.exited).toBe(0);
    expect(manager.output()).toContain('released the leader lease');
    expect([standbyManager.identity(), '']).toContain((await lease('kube-controller-manager')).spec?.holderIdentity);
    await waitFor(async () => (await lease('kube-controller-manager')).spec?.holderIdentity === standbyManager.identity(), 30_000, `the other controller-manager to take over\n${diagnostics()}`);
    // It acts: scaling up creates pods again.
    await client.patch(types.deployments, 'web', { spec: { replicas: 4 } }, { type: 'merge', namespace: NS });
    await waitFor(async () => ((await running()).length === 4 ? true : undefined), 60_000, `4 web pods running\n${diagnostics()}`);
    expect(await listOf<ReplicaSet>(client, types.replicaSets, NS, 'app=web')).toHaveLength(1);
  }, 240_000);
});

describe('leader election inside berth server', () => {
  let dataDir: string;
  const servers: TestServer[] = [];
  let client: KubeClient | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-leader-'));
  });

  afterAll(async () => {
    client?.close();
    for (const s of servers) await s.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds both Leases under one identity, and hands them back when stopped', async () => {
    // On sqlite a server elects no leader unless asked: one server is the only writer that store can have.
    const first = await startBerthServer({ dataDir, controlLoops: true, extraArgs: ['--leader-elect'] });
    servers.push(first);
    client = new KubeClient(connectionFromFile(first.kubeconfigPath));
    const leases = async (c: KubeClient) =>
      Promise.all(['kube-scheduler', 'kube-controller-manager'].map(async (name) => (await c.get<Lease>(types.leases, name, { namespace: 'kube-system' })).spec));
    const [scheduler, manager] = await waitFor(async () => {
      const specs = await leases(client!);
      return specs.every((s) => s?.holderIdentity) ? specs : undefined;
    }, 30_000, `the server to hold both Leases\n${first.output()}`);
    expect(scheduler?.holderIdentity).toBe(manager?.holderIdentity);
    client.close();
    client = undefined;
    await first.stop();
    expect(first.output()).toContain('released the leader lease');

    // Read back through a server on the same store that runs no loops (competes for nothing): both holders were emptied.
    const second = await startBerthServer({ dataDir });
    servers.push(second);
    client = new KubeClient(connectionFromFile(second.kubeconfigPath));
    expect((await leases(client)).map((s) => s?.holderIdentity)).toEqual(['', '']);
  }, 120_000);
});
