/**
 * Issue 4's single-node "done means", with real runc containers: a Deployment runs, scales up and down,
 * rolls out a new template without dropping below its allowed availability, a crashing container backs
 * off with growing delays, a pod's containers get their grace period when it is deleted, and deleting
 * the Deployment leaves nothing on the host.
 */
import type { Deployment, Pod } from '@berth/api';
import { LABELS } from '@berth/agent';
import type { Container } from '@berth/runtime-client';
import { waitFor } from '@berth/testing';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'workloads';
const DEPLOYMENT = 'web';
const SELECTOR = `app=${DEPLOYMENT}`;

const isReady = (pod: Pod) => !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
/** Available as Kubernetes counts it: ready, and not on its way out. */
const isAvailable = (pod: Pod) => isReady(pod) && !pod.metadata.deletionTimestamp;
const versionOf = (pod: Pod) => pod.spec?.containers[0]?.env?.find((e) => e.name === 'VERSION')?.value;
const containerIdOf = (pod: Pod) => pod.status?.containerStatuses?.[0]?.containerID?.replace(/^berth:\/\//, '');

function webDeployment(replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: DEPLOYMENT, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: DEPLOYMENT } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: DEPLOYMENT } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'main',
              image: 'busybox:latest',
              imagePullPolicy: 'IfNotPresent',
              env: [{ name: 'VERSION', value: 'one' }],
              // Ready a moment after start, through a real exec probe; stops promptly on TERM.
              command: ['sh', '-c', 'trap "exit 0" TERM; sleep 1; touch /tmp/ready; while true; do sleep 1; done'],
              readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, timeoutSeconds: 5 },
            },
          ],
        },
      },
    },
  };
}

describe('workloads on a real single-node cluster', () => {
  let cluster: NodeCluster;
  const hostDirs: string[] = [];

  beforeAll(async () => {
    cluster = await startNodeCluster(['--crash-loop-backoff-base', '1s']);
    await createNamespace(cluster.client, NS);
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
    for (const dir of hostDirs) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  function hostDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'berth-workloads-'));
    hostDirs.push(dir);
    return dir;
  }

  const listPods = async (labelSelector = SELECTOR) => (await cluster.client.list<Pod>(types.pods, { namespace: NS, labelSelector })).items;
  const getPod = (name: string) => cluster.client.get<Pod>(types.pods, name, { namespace: NS });
  const scale = (replicas: number) => cluster.client.patch(types.deployments, DEPLOYMENT, { spec: { replicas } }, { type: 'merge', namespace: NS });

  /** Waits until the deployment has exactly `count` pods, all Running and ready, none terminating. */
  async function runningPods(count: number, what: string, check: (pod: Pod) => boolean = () => true): Promise<Pod[]> {
    return waitFor(
      async () => {
        const pods = await listPods();
        return pods.length === count && pods.every((p) => p.status?.phase === 'Running' && isAvailable(p) && check(p)) ? pods : undefined;
      },
      120_000,
      what,
    );
  }

  /** The running runtimed containers of the deployment's pods, which must be exactly the pods' containers. */
  async function expectRealContainers(pods: Pod[]): Promise<void> {
    await cluster.observe(NS);
    const running = (await cluster.runtime.listContainers({ labels: { [LABELS.podNamespace]: NS } })).filter((c) => c.state === 'running' && c.config.labels[LABELS.podName]?.startsWith(`${DEPLOYMENT}-`));
    expect(running.map((c) => c.id).sort()).toEqual(pods.map(containerIdOf).sort());
    for (const c of running) expect(c.pid).toBeGreaterThan(0);
  }

  it('runs a 3-replica Deployment as 3 Running pods, each a real runc container', async () => {
    await cluster.client.create(types.deployments, webDeployment(3));
    const pods = await runningPods(3, 'three Running pods');
    await expectRealContainers(pods);
    const status = await waitFor(async () => {
      const d = await cluster.client.get<Deployment>(types.deployments, DEPLOYMENT, { namespace: NS });
      return d.status?.availableReplicas === 3 && d.status;
    }, 30_000, 'the deployment to report 3 available replicas');
    expect(status).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3 });
  });

  it('scales to 5, then to 2, removing the surplus containers from runtimed', async () => {
    await scale(5);
    await expectRealContainers(await runningPods(5, 'five Running pods'));
    const before = new Set((await listPods()).map((p) => p.metadata.uid!));
    await scale(2);
    const kept = await runningPods(2, 'two pods left');
    const removed = [...before].filter((uid) => !kept.some((p) => p.metadata.uid === uid));
    expect(removed).toHaveLength(3);
    await waitFor(async () => {
      for (const uid of removed) {
        if ((await cluster.runtime.listContainers({ all: true, labels: { [LABELS.podUid]: uid } })).length) return false;
        if ((await cluster.runtime.listPodSandboxes({ [LABELS.podUid]: uid })).length) return false;
      }
      return true;
    }, 30_000, 'the surplus pods\' containers and sandboxes to be removed');
    await expectRealContainers(kept);
  });

  it('rolls out a new env without ever dropping below the allowed availability', async () => {
    const start = await cluster.client.list<Pod>(types.pods, { namespace: NS, labelSelector: SELECTOR });
    const replicas = 2;
    const allowed = replicas - 0; // maxUnavailable 0
    const pods = new Map(start.items.map((p) => [p.metadata.name!, p]));
    expect([...pods.values()].filter(isAvailable)).toHaveLength(replicas);
    const watch = await cluster.client.watch<Pod>(types.pods, { namespace: NS, labelSelector: SELECTOR, resourceVersion: start.metadata.resourceVersion });
    let fewest = Infinity;
    let events = 0;
    const watching = (async () => {
      for await (const event of watch) {
        if (event.type === 'BOOKMARK') continue;
        events++;
        if (event.type === 'DELETED') pods.delete(event.object.metadata.name!);
        else pods.set(event.object.metadata.name!, event.object);
        fewest = Math.min(fewest, [...pods.values()].filter(isAvailable).length);
      }
    })();
    try {
      await cluster.client.patch(
        types.deployments,
        DEPLOYMENT,
        { spec: { template: { spec: { containers: [{ name: 'main', env: [{ name: 'VERSION', value: 'two' }] }] } } } },
        { type: 'strategic', namespace: NS },
      );
      const rolled = await runningPods(replicas, 'every pod on the new template', (p) => versionOf(p) === 'two');
      await waitFor(async () => {
        const d = await cluster.client.get<Deployment>(types.deployments, DEPLOYMENT, { namespace: NS });
        return d.status?.updatedReplicas === replicas && d.status.availableReplicas === replicas && d.status.replicas === replicas;
      }, 30_000, 'the rollout to complete');
      await expectRealContainers(rolled);
      // The watch has seen the new pods come and the old ones go.
      await waitFor(() => [...pods.values()].filter((p) => versionOf(p) === 'two' && isAvailable(p)).length === replicas && pods.size === replicas, 10_000, 'the watch to catch up');
    } finally {
      watch.close();
      await watching.catch(() => undefined);
    }
    expect(events).toBeGreaterThan(0);
    expect(fewest).toBeGreaterThanOrEqual(allowed);
  });

  it('leaves no container, sandbox, mount or cgroup of its pods once the Deployment is deleted', async () => {
    // While the pods run, the same check finds their traces: it can tell.
    const traces = await cluster.leftovers(NS);
    for (const kind of ['container', 'sandbox', 'mount', 'cgroup']) expect(traces.filter((t) => t.startsWith(`${kind} `)).length).toBeGreaterThan(0);
    await cluster.client.delete(types.deployments, DEPLOYMENT, { namespace: NS });
    await waitFor(async () => (await listPods()).length === 0, 60_000, 'the pods to be gone');
    const left = await waitFor(async () => {
      const traces = await cluster.leftovers(NS);
      return traces.length === 0 ? ['none'] : undefined;
    }, 30_000, 'nothing of the pods to be left').catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${(await cluster.leftovers(NS)).join(', ')}`);
    });
    expect(left).toEqual(['none']);
  });

  it('restarts a crashing container with growing back-off delays (CrashLoopBackOff)', async () => {
    const dir = hostDir();
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crasher', namespace: NS },
      spec: {
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: 'record', hostPath: { path: dir } }],
        // Each run records when it started (host uptime: one clock for every run) and fails.
        containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'cut -d" " -f1 /proc/uptime >> /record/starts; exit 1'], volumeMounts: [{ name: 'record', mountPath: '/record' }] }],
      },
    };
    await cluster.client.create(types.pods, pod);
    try {
      const backOffMessages = new Set<string>();
      const starts = () => (existsSync(join(dir, 'starts')) ? readFileSync(join(dir, 'starts'), 'utf8').trim().split('\n').map(Number) : []);
      let last: Pod | undefined;
      await waitFor(async () => {
        last = await getPod('crasher');
        const waiting = last.status?.containerStatuses?.[0]?.state?.waiting;
        if (waiting?.reason === 'CrashLoopBackOff') backOffMessages.add(waiting.message?.split(' ')[1] ?? '');
        return starts().length >= 5 && backOffMessages.has('4s') && (last.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 4;
      }, 60_000, 'five runs, a 4s back-off and restartCount 4').catch((err) => {
        throw new Error(`${(err as Error).message}; runs at ${starts().join(', ')}; back-offs ${[...backOffMessages].join(', ')}; last status ${JSON.stringify(last?.status)}`);
      });
      // The first restart is immediate; then each waits at least the doubled delay after the last exit.
      const runs = starts();
      const gaps = runs.slice(1).map((at, i) => at - runs[i]);
      const minimumDelays = [0, 1, 2, 4];
      minimumDelays.forEach((delay, i) => expect(gaps[i]).toBeGreaterThanOrEqual(delay - 0.05));
      const status = (await getPod('crasher')).status?.containerStatuses?.[0];
      expect(status?.restartCount).toBeGreaterThanOrEqual(4);
      expect(status?.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
      const finished = Date.parse(status!.lastState!.terminated!.finishedAt!);
      const started = Date.parse(status!.lastState!.terminated!.startedAt!);
      expect(finished).toBeGreaterThanOrEqual(started);
    } finally {
      // Also when an expectation failed: the next test checks that nothing of the namespace is left.
      await cluster.client.delete(types.pods, 'crasher', { namespace: NS });
      await waitFor(async () => !(await getPod('crasher').catch(() => undefined)), 30_000, 'the crashing pod to be gone');
    }
  });

  it('gives a deleted pod its grace period: Terminating until its container, trapping TERM, exits, while a replacement starts at once', async () => {
    const dir = hostDir();
    const script = [
      'trap \'echo "TERM received"; touch /signal/term; while [ ! -f /signal/release ]; do sleep 0.1; done; echo exiting; exit 0\' TERM',
      'while true; do sleep 0.2; done',
    ].join('\n');
    const deployment: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'graceful', namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'graceful' } },
        template: {
          metadata: { labels: { app: 'graceful' } },
          spec: {
            terminationGracePeriodSeconds: 120,
            volumes: [{ name: 'signal', hostPath: { path: dir } }],
            containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], volumeMounts: [{ name: 'signal', mountPath: '/signal' }] }],
          },
        },
      },
    };
    await cluster.client.create(types.deployments, deployment);
    const running = await waitFor(async () => {
      const [p, ...others] = await listPods('app=graceful');
      return !others.length && p?.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready ? p : undefined;
    }, 60_000, 'the pod to run');
    const name = running.metadata.name!;
    const containerId = containerIdOf(running)!;
    const watch = await cluster.client.watch<Pod>(types.pods, { namespace: NS, fieldSelector: `metadata.name=${name}`, resourceVersion: running.metadata.resourceVersion });
    const seen: { type: string; deleting: boolean }[] = [];
    const watching = (async () => {
      for await (const event of watch) {
        if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') continue;
        seen.push({ type: event.type, deleting: !!event.object.metadata.deletionTimestamp });
        if (event.type === 'DELETED') return;
      }
    })();
    try {
      const marked = (await cluster.client.delete(types.pods, name, { namespace: NS })) as Pod;
      expect(marked.metadata.deletionGracePeriodSeconds).toBe(120);
      expect(Date.parse(marked.metadata.deletionTimestamp!)).toBeGreaterThan(Date.now() + 60_000);

      await waitFor(() => existsSync(join(dir, 'term')), 30_000, 'the container to get TERM');
      // It has been told to stop and is still at it: the pod stays, Terminating, and the container runs.
      const terminating = await getPod(name);
      expect(terminating.metadata.deletionTimestamp).toBe(marked.metadata.deletionTimestamp);
      const [container] = await cluster.runtime.listContainers({ all: true, labels: { [LABELS.podUid]: running.metadata.uid! } });
      expect(container).toMatchObject<Partial<Container>>({ id: containerId, state: 'running' });
      await waitFor(() => readFileSync(container.logPath, 'utf8').includes('TERM received'), 10_000, 'the container to print on stop');
      // A terminating pod is no replica any more: the ReplicaSet has already made another.
      await waitFor(async () => (await listPods('app=graceful')).some((p) => p.metadata.name !== name && !p.metadata.deletionTimestamp), 30_000, 'a replacement pod');
      expect((await getPod(name)).metadata.deletionTimestamp).toBeDefined();

      writeFileSync(join(dir, 'release'), '');
      // Deleted once the container exited, long before the 120 s grace period would have run out.
      await waitFor(async () => !(await getPod(name).catch(() => undefined)), 60_000, 'the pod to be gone');
      await watching;
    } finally {
      watch.close();
      await watching.catch(() => undefined);
    }
    const deleting = seen.slice(seen.findIndex((e) => e.deleting));
    expect(deleting[0]).toEqual({ type: 'MODIFIED', deleting: true });
    expect(deleting[deleting.length - 1]).toEqual({ type: 'DELETED', deleting: true });
    expect(deleting.every((e) => e.deleting)).toBe(true);
    expect(await cluster.runtime.listContainers({ all: true, labels: { [LABELS.podUid]: running.metadata.uid! } })).toEqual([]);

    await cluster.client.delete(types.deployments, 'graceful', { namespace: NS });
    await waitFor(async () => (await listPods('app=graceful')).length === 0, 60_000, 'the replacement to be gone');
    expect(await cluster.leftovers(NS)).toEqual([]);
  });

  it('cuts a terminating pod\'s grace short on a second DELETE without grace', async () => {
    const dir = hostDir();
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stubborn', namespace: NS },
      spec: {
        terminationGracePeriodSeconds: 300,
        volumes: [{ name: 'signal', hostPath: { path: dir } }],
        // Notes TERM and carries on: only SIGKILL ends it.
        containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', "trap 'touch /signal/term' TERM; while true; do sleep 0.2; done"], volumeMounts: [{ name: 'signal', mountPath: '/signal' }] }],
      },
    };
    await cluster.client.create(types.pods, pod);
    const running = await waitFor(async () => {
      const p = await getPod('stubborn');
      return p.status?.phase === 'Running' ? p : undefined;
    }, 60_000, 'the pod to run');
    await cluster.client.delete(types.pods, 'stubborn', { namespace: NS });
    await waitFor(() => existsSync(join(dir, 'term')), 30_000, 'the container to get TERM');
    expect((await getPod('stubborn')).metadata.deletionGracePeriodSeconds).toBe(300);
    await cluster.client.delete(types.pods, 'stubborn', { namespace: NS, gracePeriodSeconds: 0 });
    await waitFor(async () => !(await getPod('stubborn').catch(() => undefined)), 30_000, 'the pod to be gone');
    // Killed well within the first grace period, which would have run for 5 minutes. The pod left the API
    // at once, so the agent may still be tearing down its sandbox.
    await waitFor(async () => (await cluster.runtime.listContainers({ all: true, labels: { [LABELS.podUid]: running.metadata.uid! } })).length === 0, 30_000, 'its container to be killed and removed');
    await waitFor(async () => (await cluster.leftovers(NS)).length === 0, 30_000, 'nothing of the pod to be left');
  });
});
