/**
 * A cluster of hosts on one machine: `berth server --disable-agent` in the root network namespace and
 * three hosts, each a network namespace of its own with an agent (and the runtimed it starts) joined
 * with the server's join token, as `berth agent --server URL --token TOKEN` joins a real host. A
 * Deployment spreads over the hosts; a host that dies has its pods replaced on the others; when it comes
 * back it is Ready again and removes the containers of the pods deleted meanwhile.
 */
import { resourceForKind, type Deployment, type Node, type Pod } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { busyboxRootfsTarball } from '@berth/image';
import { RuntimeClient } from '@berth/runtime-client';
import { createSimulatedHosts, startBerthServer, waitFor, type HostProcess, type SimulatedHost, type SimulatedNetwork, type TestServer } from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PODS = resourceForKind('v1', 'Pod')!;
const NODES = resourceForKind('v1', 'Node')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const BUSYBOX_CONFIG = { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };
const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
const REPLICAS = 6;
const CGROUP_ROOT = '/sys/fs/cgroup';

/** A simulated host and the berth node on it. */
interface Host {
  sim: SimulatedHost;
  name: string;
  dataDir: string;
  cgroupParent: string;
  runtime: RuntimeClient;
  agent?: HostProcess;
}

const tail = (text: string, chars = 3000) => (text.length > chars ? `...${text.slice(-chars)}` : text);

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => !!point && point.startsWith(dir));
}

/** A cgroup path's directories on every hierarchy (v1 or unified), deepest first. */
function cgroupTree(cgroupPath: string): string[] {
  const unified = existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
  const tops = (unified ? [CGROUP_ROOT] : readdirSync(CGROUP_ROOT).map((c) => join(CGROUP_ROOT, c))).map((base) => join(base, cgroupPath));
  const below = (dir: string): string[] => [
    ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => below(join(dir, e.name))),
    dir,
  ];
  return tops.filter(existsSync).flatMap(below);
}

async function answers(runtime: RuntimeClient): Promise<boolean> {
  return runtime.version().then(
    () => true,
    () => false,
  );
}

const isReady = (node: Node | undefined) => node?.status?.conditions?.find((c) => c.type === 'Ready')?.status;

describe('a server and three hosts joined with the join token', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-mn-'));
  let network: SimulatedNetwork | undefined;
  let server: TestServer | undefined;
  let client: KubeClient;
  let token: string;
  const hosts: Host[] = [];

  const diagnostics = () =>
    [
      `server:\n${tail(server?.output() ?? '')}`,
      ...hosts.map((h) => `${h.name} agent:\n${tail(h.agent?.output() ?? '(not running)')}\n${h.name} runtimed:\n${tail(readLog(join(h.dataDir, 'runtimed.log')), 1500)}`),
    ].join('\n');
  const readLog = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  /** waitFor, with the cluster's logs in the failure. */
  const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs: number) =>
    waitFor(check, timeoutMs, what).catch((err: Error) => {
      throw new Error(`${err.message}\n${diagnostics()}`);
    });

  function startAgent(host: Host): void {
    host.agent = host.sim.berth([
      'agent',
      '--server', `https://${network!.gatewayIP}:${server!.port}`,
      '--token', token,
      '--data-dir', host.dataDir,
      '--node-name', host.name,
      '--node-ip', host.sim.ip,
      '--cgroup-parent', host.cgroupParent,
    ]);
  }

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
    // The hosts' network first: the server's certificate then names the bridge address they reach it at.
    network = await createSimulatedHosts(3);
    server = await startBerthServer({
      controlLoops: true,
      extraArgs: ['--bind-address', '0.0.0.0', '--node-monitor-grace-period', '8s', '--pod-eviction-timeout', '5s'],
    });
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    token = readFileSync(join(server.dataDir, 'token'), 'utf8').trim();
    for (const sim of network.hosts) {
      const dataDir = join(root, `host-${sim.index}`);
      mkdirSync(dataDir);
      hosts.push({
        sim,
        name: `host-${sim.index}`,
        dataDir,
        cgroupParent: `/berth-mn-${network.runId}-${sim.index}`,
        runtime: new RuntimeClient(join(dataDir, 'runtimed.sock')),
      });
    }
    for (const host of hosts) startAgent(host);
    await eventually('the three nodes to be Ready', async () => {
      const nodes = await Promise.all(hosts.map((h) => getNode(h.name)));
      return nodes.every((n) => isReady(n) === 'True');
    }, 60_000);
    const busybox = await busyboxRootfsTarball();
    for (const host of hosts) await host.runtime.importImage(busybox, { name: 'busybox:latest', config: BUSYBOX_CONFIG });
  }, 120_000);

  /** Removes every container and sandbox of a host through its runtimed. */
  async function removeContainers(host: Host): Promise<void> {
    for (const c of await host.runtime.listContainers({ all: true }).catch(() => [])) await host.runtime.removeContainer(c.id, { force: true }).catch(() => undefined);
    for (const s of await host.runtime.listPodSandboxes().catch(() => [])) await host.runtime.removePodSandbox(s.id).catch(() => undefined);
  }

  afterAll(async () => {
    try {
      if (client) {
        await client.delete(DEPLOYMENTS, 'spread', { namespace: 'default' }).catch(() => undefined);
        await waitFor(async () => (await listPods()).length === 0, 30_000).catch(() => undefined);
      }
      // Pods' containers outlive agents and runtimeds by design. No pod is left for an agent to recreate
      // them: remove them through the hosts' live runtimeds, then stop the agents (each stops its runtimed).
      const live = await Promise.all(hosts.map((h) => answers(h.runtime)));
      await Promise.all(hosts.filter((_, i) => live[i]).map(removeContainers));
      await Promise.all(hosts.map((h) => h.agent?.stop()));
      // A host that was down when a test failed: a runtimed of its own to clean it with.
      for (const host of hosts.filter((_, i) => !live[i])) {
        const cleaner = host.sim.berth(['runtimed', '--root', join(host.dataDir, 'runtime'), '--socket', join(host.dataDir, 'runtimed.sock'), '--cgroup-parent', host.cgroupParent]);
        try {
          await waitFor(() => answers(host.runtime), 30_000, `a runtimed to clean ${host.name} with`);
          await removeContainers(host);
        } finally {
          await cleaner.stop();
        }
      }
    } finally {
      for (const host of hosts) host.runtime.close();
      client?.close();
      await server?.cleanup();
      await network?.cleanup();
    }
    const mounts = mountsUnder(root);
    for (const point of [...mounts].reverse()) execFileSync('umount', ['-l', point]);
    const cgroups = hosts.flatMap((h) => cgroupTree(h.cgroupParent));
    for (const dir of cgroups) {
      try {
        rmdirSync(dir);
      } catch {
        // still in use: reported below
      }
    }
    rmSync(root, { recursive: true, force: true });
    expect(network?.leftovers() ?? []).toEqual([]);
    expect(mounts).toEqual([]);
    expect(hosts.flatMap((h) => cgroupTree(h.cgroupParent))).toEqual([]);
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
