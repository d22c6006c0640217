/**
 * A DaemonSet (Swarm's global mode) across a server and three hosts, each a network namespace with its own
 * agent and runtimed, driven by the real kubectl: one pod on every host as a container in that host's
 * runtimed; a host that leaves (agent stopped, `kubectl delete node`) loses its pod, and when it joins
 * again it gets one back; a template change rolls out host by host and `kubectl rollout undo` takes it back.
 */
import { resourceForKind, type DaemonSet, type Pod } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { type Kubectl, kubectlFor, waitFor } from '@berth/testing';
import { nodeReadyStatus, startHostsCluster, type ClusterHost as Host, type HostsCluster } from '../support/hosts-cluster';

const PODS = resourceForKind('v1', 'Pod')!;
const NODES = resourceForKind('v1', 'Node')!;
const DAEMON_SETS = resourceForKind('apps/v1', 'DaemonSet')!;

const manifest = (mode: string) => `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: default
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: [sleep, "3600"]
        env:
        - {name: MODE, value: "${mode}"}
`;

describe('a DaemonSet across three hosts, driven by kubectl', () => {
  let cluster: HostsCluster;
  let client: KubeClient;
  let kubectl: Kubectl;
  let hosts: Host[] = [];
  const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs: number) => cluster.eventually(what, check, timeoutMs);

  const listPods = async () => (await client.list<Pod>(PODS, { namespace: 'default', labelSelector: 'app=node-agent' })).items;
  const containerIdOf = (pod: Pod) => pod.status?.containerStatuses?.[0]?.containerID?.replace('berth://', '');
  const modeOf = (pod: Pod) => pod.spec?.containers[0].env?.find((e) => e.name === 'MODE')?.value;

  function ok(...args: string[]): Promise<string> {
    return kubectl.ok(args, { timeoutMs: 150_000 });
  }

  /** One running pod of the mode on each named host, its container running in that host's runtimed, and nothing else. */
  async function onEachHost(names: string[], mode: string, timeoutMs = 150_000): Promise<Pod[]> {
    return eventually(
      `one running MODE=${mode} pod on each of ${names.join(', ')}`,
      async () => {
        const pods = (await listPods()).filter((p) => !p.metadata.deletionTimestamp);
        if (pods.length !== names.length) return undefined;
        for (const name of names) {
          const pod = pods.find((p) => p.spec?.nodeName === name);
          const id = pod && containerIdOf(pod);
          if (!pod || pod.status?.phase !== 'Running' || modeOf(pod) !== mode || !id) return undefined;
          const host = hosts.find((h) => h.name === name)!;
          if (!(await host.runtime.listContainers({})).some((c) => c.id === id && c.state === 'running')) return undefined;
        }
        const ds = await client.get<DaemonSet>(DAEMON_SETS, 'node-agent', { namespace: 'default' });
        const s = ds.status;
        const settled = s?.desiredNumberScheduled === names.length && s.numberAvailable === names.length && s.updatedNumberScheduled === names.length;
        return settled ? pods : undefined;
      },
      timeoutMs,
    );
  }

  beforeAll(async () => {
    cluster = await startHostsCluster(3, { serverArgs: ['--node-monitor-grace-period', '8s', '--pod-eviction-timeout', '5s'] });
    client = cluster.client;
    hosts = cluster.hosts;
    kubectl = kubectlFor(cluster.server);
  }, 180_000);

  afterAll(async () => {
    kubectl?.cleanup();
    if (!cluster) return;
    await client.delete(DAEMON_SETS, 'node-agent', { namespace: 'default' }).catch(() => undefined);
    await waitFor(async () => (await listPods()).length === 0, 30_000).catch(() => undefined);
    expect(await cluster.cleanup()).toEqual([]);
  }, 120_000);

  it('runs one pod on every host, each a container in its own host\'s runtimed', async () => {
    expect(await kubectl.run(['apply', '-f', '-'], { input: manifest('one') })).toMatchObject({ code: 0, stdout: 'daemonset.apps/node-agent created\n' });
    const pods = await onEachHost(hosts.map((h) => h.name), 'one');
    for (const host of hosts) {
      const live = (await host.runtime.listContainers({})).map((c) => c.id);
      expect(live).toEqual([containerIdOf(pods.find((p) => p.spec?.nodeName === host.name)!)]);
    }
    expect(await ok('rollout', 'status', 'ds/node-agent', '--timeout=120s')).toBe('daemon set "node-agent" successfully rolled out\n');
    const row = (await ok('get', 'ds', 'node-agent', '--no-headers')).trim().split(/\s+/);
    expect(row.slice(0, 7)).toEqual(['node-agent', '3', '3', '3', '3', '3', '<none>']);
  });

  it('takes the pod of a host that leaves away, and gives the host its pod back when it joins again', async () => {
    const leaving = hosts[1];
    await leaving.agent!.stop('SIGTERM');
    await ok('delete', 'node', leaving.name);
    const others = hosts.filter((h) => h !== leaving).map((h) => h.name);
    await onEachHost(others, 'one', 60_000);

    cluster.startAgent(leaving);
    await eventually(`${leaving.name} registered again and Ready`, async () => nodeReadyStatus(await client.get(NODES, leaving.name).catch(() => undefined)) === 'True', 60_000);
    const pods = await onEachHost(hosts.map((h) => h.name), 'one');
    // The host runs its new pod's container, and the old pod's container is gone.
    const own = pods.find((p) => p.spec?.nodeName === leaving.name)!;
    await eventually(`${leaving.name} to run only its new pod`, async () => {
      const ids = (await leaving.runtime.listContainers({ all: true })).map((c) => c.id);
      return ids.length === 1 && ids[0] === containerIdOf(own) ? true : undefined;
    }, 60_000);
  });

  it('rolls a new template out host by host, and kubectl rollout undo takes it back', async () => {
    const before = await onEachHost(hosts.map((h) => h.name), 'one');
    expect(await kubectl.run(['apply', '-f', '-'], { input: manifest('two') })).toMatchObject({ code: 0, stdout: 'daemonset.apps/node-agent configured\n' });
    expect(await ok('rollout', 'status', 'ds/node-agent', '--timeout=140s')).toContain('daemon set "node-agent" successfully rolled out');
    const after = await onEachHost(hosts.map((h) => h.name), 'two');
    const oldUids = new Set(before.map((p) => p.metadata.uid));
    expect(after.filter((p) => oldUids.has(p.metadata.uid))).toEqual([]);

    const history = (await ok('rollout', 'history', 'ds/node-agent')).trim().split('\n').slice(2).map((l) => l.trim().split(/\s+/)[0]);
    expect(history).toEqual(['1', '2']);
    expect(await ok('rollout', 'undo', 'ds/node-agent')).toBe('daemonset.apps/node-agent rolled back\n');
    expect(await ok('rollout', 'status', 'ds/node-agent', '--timeout=140s')).toContain('successfully rolled out');
    await onEachHost(hosts.map((h) => h.name), 'one');
  });
});
