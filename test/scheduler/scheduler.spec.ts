/**
 * The scheduler against a real `berth server` (no agents): fake Ready nodes are written through the API,
 * pods are created, and the scheduler runs in this process. Its pods name their own scheduler so a
 * scheduler the server may run itself leaves them alone.
 */
import type { Event, Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { startScheduler, type RunningScheduler, type SchedulerOptions } from '@berth/scheduler';
import { startBerthServer, waitFor, type TestServer } from '@berth/testing';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@berth/testing';
import pino from 'pino';
import { Registry } from 'prom-client';
import { clientFor, createNode, createPod, deleteAll, EVENTS, PODS } from './cluster';

const SCHEDULER = 'berth-test-scheduler';
const NODE_NAMES = ['node-1', 'node-2', 'node-3'];

describe('scheduler with a real API server', () => {
  let server: TestServer;
  let client: KubeClient;
  let scheduler: RunningScheduler | undefined;

  beforeAll(async () => {
    server = await startBerthServer();
    client = clientFor(server);
  });

  afterAll(async () => {
    client?.close();
    await server?.cleanup();
  });

  const createNodes = (nodes: Array<Parameters<typeof createNode>[2]> = [{}, {}, {}]) =>
    Promise.all(nodes.map((fake, i) => createNode(client, NODE_NAMES[i], fake)));

  async function startWithNodes(nodes?: Array<Parameters<typeof createNode>[2]>, options: Partial<SchedulerOptions> = {}): Promise<void> {
    await createNodes(nodes);
    scheduler = startScheduler({ client, logger: pino({ level: 'silent' }), schedulerName: SCHEDULER, ...options });
    await scheduler.waitForSync(15_000);
  }

  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await deleteAll(client);
  });

  const getPod = (name: string) => client.get<Pod>(PODS, name, { namespace: 'default' });
  const nodeOf = async (name: string) => (await getPod(name)).spec?.nodeName;
  const waitBound = (name: string) => waitFor(() => nodeOf(name), 15_000, `${name} bound`);

  async function eventsAbout(pod: Pod): Promise<Event[]> {
    const { items } = await client.list<Event>(EVENTS, { namespace: 'default', fieldSelector: `involvedObject.uid=${pod.metadata.uid}` });
    return items;
  }

  async function waitForEvent(pod: Pod, reason: string, check: (e: Event) => boolean = () => true): Promise<Event> {
    return waitFor(async () => (await eventsAbout(pod)).find((e) => e.reason === reason && check(e)), 15_000, `${reason} event for ${pod.metadata.name}`);
  }

  it('binds every pod, spreads them over the nodes and records Scheduled events', async () => {
    const metrics = new Registry();
    await startWithNodes(undefined, { metrics });
    const names = Array.from({ length: 6 }, (_, i) => `web-${i}`);
    await Promise.all(names.map((name) => createPod(client, name, { schedulerName: SCHEDULER, cpu: '500m', memory: '256Mi' })));
    const placed = await Promise.all(names.map(waitBound));
    const perNode = NODE_NAMES.map((node) => placed.filter((n) => n === node).length);
    expect(perNode).toEqual([2, 2, 2]);

    const pod = await getPod('web-0');
    const scheduled = await waitForEvent(pod, 'Scheduled');
    expect(scheduled).toMatchObject({
      type: 'Normal',
      message: `Successfully assigned default/web-0 to ${pod.spec!.nodeName}`,
      source: { component: SCHEDULER },
      involvedObject: { kind: 'Pod', name: 'web-0', uid: pod.metadata.uid },
    });
    expect(await metrics.metrics()).toContain('scheduler_schedule_attempts_total{result="scheduled"} 6');
  });

  it('reports a pod no node matches and binds it once a matching node appears', async () => {
    await startWithNodes();
    const created = await createPod(client, 'picky', { schedulerName: SCHEDULER, nodeSelector: { disk: 'ssd' } });
    const failed = await waitForEvent(created, 'FailedScheduling');
    expect(failed).toMatchObject({
      type: 'Warning',
      message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
      source: { component: SCHEDULER },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'picky', uid: created.metadata.uid },
      count: 1,
    });
    const condition = await waitFor(async () => (await getPod('picky')).status?.conditions?.find((c) => c.type === 'PodScheduled'));
    expect(condition).toMatchObject({ status: 'False', reason: 'Unschedulable', message: failed.message });

    await createNode(client, 'node-ssd', { labels: { disk: 'ssd' } });
    expect(await waitBound('picky')).toBe('node-ssd');
    await waitForEvent(created, 'Scheduled');
    const after = await waitFor(async () => (await getPod('picky')).status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True'));
    expect(after.reason).toBeUndefined();
  });

  it('never overcommits, counts repeats on one event, and retries when room frees up', async () => {
    await startWithNodes(undefined, { unschedulableRetryMs: 300 });
    const names = ['big-0', 'big-1', 'big-2', 'big-3'];
    // Created together: the four decisions follow each other faster than the informer sees the bindings.
    const pods = await Promise.all(names.map((name) => createPod(client, name, { schedulerName: SCHEDULER, cpu: '1500m' })));
    const outcome = await waitFor(async () => {
      const nodes = await Promise.all(names.map(nodeOf));
      const unbound = names.filter((_, i) => !nodes[i]);
      return unbound.length === 1 && nodes.filter(Boolean).length === 3 ? { nodes, unbound: unbound[0] } : undefined;
    });
    expect(new Set(outcome.nodes.filter(Boolean)).size).toBe(3);
    const waiting = pods[names.indexOf(outcome.unbound)];
    const failed = await waitForEvent(waiting, 'FailedScheduling', (e) => (e.count ?? 0) >= 2);
    expect(failed.message).toBe('0/3 nodes are available: 3 Insufficient cpu.');
    expect((await eventsAbout(waiting)).filter((e) => e.reason === 'FailedScheduling')).toHaveLength(1);
    expect(Date.parse(failed.lastTimestamp!)).toBeGreaterThanOrEqual(Date.parse(failed.firstTimestamp!));

    const freed = names.find((n) => n !== outcome.unbound)!;
    const freedNode = outcome.nodes[names.indexOf(freed)];
    await client.delete(PODS, freed, { namespace: 'default', gracePeriodSeconds: 0 });
    expect(await waitBound(outcome.unbound)).toBe(freedNode);
  });

  it('keeps pods off tainted nodes unless they tolerate the taint; PreferNoSchedule only steers', async () => {
    await startWithNodes([
      { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
      { taints: [{ key: 'maintenance', effect: 'NoExecute' }] },
      { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] },
    ]);
    await createPod(client, 'plain', { schedulerName: SCHEDULER });
    expect(await waitBound('plain')).toBe('node-3');

    await createPod(client, 'db', {
      schedulerName: SCHEDULER,
      nodeSelector: { 'kubernetes.io/hostname': 'node-1' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
    });
    expect(await waitBound('db')).toBe('node-1');

    const blocked = await createPod(client, 'blocked', { schedulerName: SCHEDULER, nodeSelector: { 'kubernetes.io/hostname': 'node-2' } });
    const failed = await waitForEvent(blocked, 'FailedScheduling');
    expect(failed.message).toBe(
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) had untolerated taint {maintenance: }.",
    );

    // Tolerating everything, a pod prefers the nodes without a PreferNoSchedule taint.
    await createPod(client, 'tolerant', { schedulerName: SCHEDULER, tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'NoExecute' }] });
    expect(['node-1', 'node-2']).toContain(await waitBound('tolerant'));
  });

  it('does not put two pods claiming the same host port on one node', async () => {
    await startWithNodes();
    const names = ['port-0', 'port-1', 'port-2'];
    await Promise.all(names.map((name) => createPod(client, name, { schedulerName: SCHEDULER, hostPort: { port: 8080 } })));
    const placed = await Promise.all(names.map(waitBound));
    expect(new Set(placed).size).toBe(3);

    const clash = await createPod(client, 'port-3', { schedulerName: SCHEDULER, hostPort: { port: 8080 } });
    const failed = await waitForEvent(clash, 'FailedScheduling');
    expect(failed.message).toBe("0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports.");

    await createPod(client, 'udp', { schedulerName: SCHEDULER, hostPort: { port: 8080, protocol: 'UDP' } });
    expect(NODE_NAMES).toContain(await waitBound('udp'));
  });

  it('runs standalone against --kubeconfig and exits cleanly on SIGTERM', async () => {
    await createNodes();
    // startBerthServer built every app, this one included.
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/apps/scheduler/main.js'), '--kubeconfig', server.kubeconfigPath, '--scheduler-name', SCHEDULER], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await createPod(client, 'solo', { schedulerName: SCHEDULER });
      expect(NODE_NAMES).toContain(await waitBound('solo'));
    } finally {
      child.kill('SIGTERM');
    }
    const escalate = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(escalate);
    expect(code).toBe(0);
    expect(stderr).toContain('scheduler started');
  });
});
