/**
 * A cluster of hosts on one machine: `berth server --disable-agent` in the root network namespace and
 * three hosts, each a network namespace of its own with an agent (and the runtimed it starts) joined
 * with the server's join token, as `berth agent --server URL --token TOKEN` joins a real host. A
 * Deployment spreads over the hosts; a host that dies has its pods replaced on the others; when it comes
 * back it is Ready again and removes the containers of the pods deleted meanwhile.
 */
import { resourceForKind, type Deployment, type Node, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { waitFor } from '@berth/testing';
import { nodeReadyStatus as isReady, runtimeAnswers as answers, startHostsCluster, type ClusterHost as Host, type HostsCluster } from '../support/hosts-cluster';

const PODS = resourceForKind('v1', 'Pod')!;
const NODES = resourceForKind('v1', 'Node')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
const REPLICAS = 6;

describe('a server and three hosts joined with the join token', () => {
  let cluster: HostsCluster;
  let client: KubeClient;
  let hosts: Host[] = [];
  const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs: number) => cluster.eventually(what, check, timeoutMs);
  const startAgent = (host: Host) => cluster.startAgent(host);

  const getNode = (name: string) => client.get<Node>(NODES, name).catch(() => undefined);
  const listPods = async () => (await client.list<Pod>(PODS, { namespace: 'default', labelSelector: 'app=spread' })).items;
  const containerIdOf = (pod: Pod) => pod.status?.containerStatuses?.[0]?.containerID?.replace('berth://', '');

  /** Running pods, each with its container running in the runtimed of the host it is bound to. */
  async function runningOnTheirHosts(pods: Pod[]): Promise<boolean> {
    for (const pod of pods) {
      const host = hosts.find((h) => h.name === pod.spec?.nodeName);
      const id = containerIdOf(pod);
      if (!host || pod.status?.phase !== 'Running' || !id || pod.metadata.deletionTimestamp) return false;
      const live = await host.runtime.listContainers({});
      if (!live.some((c) => c.id === id && c.state === 'running')) return false;
    }
    return true;
  }

  beforeAll(async () => {
    cluster = await startHostsCluster(3, { serverArgs: ['--node-monitor-grace-period', '8s', '--pod-eviction-timeout', '5s'] });
    client = cluster.client;
    hosts = cluster.hosts;
  }, 180_000);

  afterAll(async () => {
    if (!cluster) return;
    await client.delete(DEPLOYMENTS, 'spread', { namespace: 'default' }).catch(() => undefined);
    await waitFor(async () => (await listPods()).length === 0, 30_000).catch(() => undefined);
    expect(await cluster.cleanup()).toEqual([]);
  }, 120_000);

  it('joined each host as a Ready node with its own address', async () => {
    for (const host of hosts) {
      const node = (await getNode(host.name))!;
      expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: host.sim.ip });
      // The agent and the runtimed it started both live in the host's network namespace.
      expect(host.sim.pids().length).toBeGreaterThanOrEqual(2);
    }
  });

  it('spreads a Deployment over all three hosts, each pod a container in its own host\'s runtimed', async () => {
    const deployment: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'spread', namespace: 'default' },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: 'spread' } },
        template: {
          metadata: { labels: { app: 'spread' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
          },
        },
      },
    };
    await client.create(DEPLOYMENTS, deployment);
    const pods = await eventually(`${REPLICAS} pods running on their hosts`, async () => {
      const all = await listPods();
      return all.length === REPLICAS && (await runningOnTheirHosts(all)) ? all : undefined;
    }, 120_000);
    for (const host of hosts) {
      const own = pods.filter((p) => p.spec?.nodeName === host.name);
      expect([host.name, own.length >= 1]).toEqual([host.name, true]);
      // Exactly this host's pods run in its runtimed: nothing from the other hosts.
      const live = (await host.runtime.listContainers({})).map((c) => c.id).sort();
      expect(live).toEqual(own.map(containerIdOf).sort());
      for (const pod of own) expect(pod.status).toMatchObject({ hostIP: host.sim.ip });
    }
  });

  it('replaces the pods of a dead host on the others, and cleans the host up when it comes back', async () => {
    const [, dead] = hosts as [Host, Host, Host];
    const before = await listPods();
    const deadPods = before.filter((p) => p.spec?.nodeName === dead.name);
    const deadContainers = (await dead.runtime.listContainers({})).map((c) => c.id);
    expect(deadContainers.length).toBe(deadPods.length);

    await dead.agent!.stop('SIGTERM');
    expect((await dead.agent!.exited).code).toBe(0);
    // Its runtimed went with it: the host is dead, not just its agent.
    expect(await answers(dead.runtime)).toBe(false);

    const tainted = await eventually(`${dead.name} to become NotReady with the unreachable taint`, async () => {
      const node = await getNode(dead.name);
      return isReady(node) === 'Unknown' && node?.spec?.taints?.some((t) => t.key === TAINT_UNREACHABLE && t.effect === 'NoExecute') ? node : undefined;
    }, 60_000);
    expect(tainted.spec?.taints).toContainEqual(expect.objectContaining({ key: TAINT_UNREACHABLE, effect: 'NoExecute' }));

    // Evicted without waiting for the dead agent (no pod stuck Terminating there), replaced elsewhere.
    const replaced = await eventually(`the pods of ${dead.name} to be deleted and ${REPLICAS} running on the other hosts`, async () => {
      const all = await listPods();
      return all.length === REPLICAS && all.every((p) => p.spec?.nodeName !== dead.name) && (await runningOnTheirHosts(all)) ? all : undefined;
    }, 120_000);
    const deadUids = new Set(deadPods.map((p) => p.metadata.uid));
    expect(replaced.filter((p) => deadUids.has(p.metadata.uid))).toEqual([]);

    startAgent(dead);
    const back = await eventually(`${dead.name} to be Ready again without taints`, async () => {
      const node = await getNode(dead.name);
      return isReady(node) === 'True' && !node?.spec?.taints?.length ? node : undefined;
    }, 60_000);
    expect(back.spec?.taints ?? []).toEqual([]);
    await eventually(`${dead.name} to remove the containers of its pods deleted while it was down`, async () => {
      const left = await dead.runtime.listContainers({ all: true });
      return !left.some((c) => deadContainers.includes(c.id));
    }, 60_000);
    // The others were not disturbed.
    expect(await runningOnTheirHosts(await listPods())).toBe(true);
  });
});
