/**
 * A cluster of hosts on one machine, for multi-node suites and the bench: `berth server` (no agent of its
 * own) in the root network namespace and N hosts, each a network namespace with an agent (and the
 * runtimed it starts) joined with the server's join token, as `berth agent --server URL --token-file FILE`
 * joins a real host; from then on each agent runs with its own node credential, kept in its data dir. Each host keeps its own pod network, service rules and DNS server in its namespace.
 */
import { resourceForKind, type Node, type Pod } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { cgroupPids, cgroupTree, mountPointsUnder, removeCgroupTree } from '@berth/host';
import { busyboxRootfsTarball } from '@berth/image';
import { RuntimeClient } from '@berth/runtime-client';
import {
  createSimulatedHosts,
  freePort,
  startBerthServer,
  startNatsClusterOn,
  waitFor,
  type HostProcess,
  type ServerOptions,
  type SimulatedHost,
  type SimulatedNetwork,
  type TestNatsCluster,
  type TestServer,
} from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NODES = resourceForKind('v1', 'Node')!;
const PODS = resourceForKind('v1', 'Pod')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const BUSYBOX_CONFIG = { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };

/** A simulated host and the berth node on it. */
export interface ClusterHost {
  sim: SimulatedHost;
  /** The Node's name: `host-<index>`. */
  name: string;
  dataDir: string;
  cgroupParent: string;
  runtime: RuntimeClient;
  agent?: HostProcess;
}

export interface HostsCluster {
  network: SimulatedNetwork;
  /** The first server. */
  server: TestServer;
  /** Every server (`servers` of the options), the first among them; restartServer replaces its entry. */
  servers: TestServer[];
  /** With `serverHosts`: the hosts the servers run in, the i-th server's the i-th. */
  serverHosts: SimulatedHost[];
  /** With `serverHosts`: the NATS cluster the servers share, one node in each server host. */
  nats?: TestNatsCluster;
  /** A client of the first server that moves to the next servers when it stops answering. */
  client: KubeClient;
  hosts: ClusterHost[];
  /** Starts (or restarts) the host's agent, which starts its runtimed. */
  startAgent(host: ClusterHost): void;
  /** Starts the i-th server again (after kill9 or stop) with its data dir, port, host and flags; waits until it is ready. */
  restartServer(index: number): Promise<TestServer>;
  /** waitFor, with the server's, agents' and runtimeds' logs in the failure. */
  eventually<T>(what: string, check: () => Promise<T> | T, timeoutMs: number): Promise<NonNullable<T>>;
  /**
   * Deletes a suite's Deployments and (at once) its bare Pods and waits up to 30 s for the namespace's pods
   * to go, so the agents tear their sandboxes down themselves before cleanup() removes what is left.
   */
  removeWorkloads(namespace: string, workloads: { deployments?: string[]; pods?: string[] }): Promise<void>;
  /**
   * Removes every container and sandbox (pods' containers outlive agents by design), stops the agents,
   * the server and the hosts' namespaces, unmounts and removes what is left; answers what could not be
   * removed (mounts, cgroups, network leftovers), which a suite expects to be empty.
   */
  cleanup(): Promise<string[]>;
}

export interface HostsClusterOptions {
  /** Extra `berth server` flags. */
  serverArgs?: string[];
  /** Extra `berth agent` flags. */
  agentArgs?: string[];
  /** Import busybox:latest into every host's runtimed; default true. */
  busybox?: boolean;
  /**
   * How many `berth server`s (default 1), all in the root namespace on their own ports. With more than one,
   * `store` must be a store they share (nats://), which holds their one identity (they start with one
   * server token), and every agent is given every server's address (`--server URL1,URL2`).
   */
  servers?: number;
  /** `--store` of the servers; sqlite in the first's data dir when absent. */
  store?: string;
  /**
   * Run each server in a host of its own (a network namespace on the hosts' LAN, before the agents' hosts)
   * beside a node of a NATS cluster of as many nodes, which is their store (`--store-replicas` = servers):
   * killing or cutting off a server host loses that server and that NATS node, as a real host would.
   */
  serverHosts?: boolean;
}

const tail = (text: string, chars = 3000) => (text.length > chars ? `...${text.slice(-chars)}` : text);
const readLog = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

export async function runtimeAnswers(runtime: RuntimeClient): Promise<boolean> {
  return runtime.version().then(
    () => true,
    () => false,
  );
}

export const nodeReadyStatus = (node: Node | undefined) => node?.status?.conditions?.find((c) => c.type === 'Ready')?.status;

/** Removes every container and sandbox of a host through its runtimed. */
async function removeContainers(host: ClusterHost): Promise<void> {
  for (const c of await host.runtime.listContainers({ all: true }).catch(() => [])) await host.runtime.removeContainer(c.id, { force: true }).catch(() => undefined);
  for (const s of await host.runtime.listPodSandboxes().catch(() => [])) await host.runtime.removePodSandbox(s.id).catch(() => undefined);
}

/** Starts the server and `count` hosts, waits until every node is Ready, and loads busybox onto each. */
export async function startHostsCluster(count: number, options: HostsClusterOptions = {}): Promise<HostsCluster> {
  const root = mkdtempSync(join(tmpdir(), 'berth-hosts-'));
  const hosts: ClusterHost[] = [];
  let network: SimulatedNetwork | undefined;
  let server: TestServer | undefined;
  const servers: TestServer[] = [];
  let client: KubeClient | undefined;
  let tokenFile = '';
  const serverOptions: ServerOptions[] = [];
  let serverHosts: SimulatedHost[] = [];
  let nats: TestNatsCluster | undefined;
  // Agents reach a server in a host of its own at that host's address, one in the root namespace at the LAN's gateway.
  const agentUrl = (s: TestServer) => (s.host ? s.url : `https://${network!.gatewayIP}:${s.port}`);

  const diagnostics = () =>
    [
      ...servers.map((s, i) => `server ${i + 1} (${s.url}):\n${tail(s.output())}`),
      ...hosts.map((h) => `${h.name} agent:\n${tail(h.agent?.output() ?? '(not running)')}\n${h.name} runtimed:\n${tail(readLog(join(h.dataDir, 'runtimed.log')), 1500)}`),
    ].join('\n');
  const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs: number) =>
    waitFor(check, timeoutMs, what).catch((err: Error) => {
      throw new Error(`${err.message}\n${diagnostics()}`);
    });

  const startAgent = (host: ClusterHost) => {
    host.agent = host.sim.berth([
      'agent',
      '--server', servers.map(agentUrl).join(','),
      '--token-file', tokenFile,
      '--data-dir', host.dataDir,
      '--node-name', host.name,
      '--node-ip', host.sim.ip,
      '--cgroup-parent', host.cgroupParent,
      ...(options.agentArgs ?? []),
    ]);
  };

  const cleanup = async (): Promise<string[]> => {
    const leftovers: string[] = [];
    try {
      const live = await Promise.all(hosts.map((h) => runtimeAnswers(h.runtime)));
      await Promise.all(hosts.filter((_, i) => live[i]).map(removeContainers));
      await Promise.all(hosts.map((h) => h.agent?.stop()));
      // A host that was down when a test failed: a runtimed of its own to clean it with.
      for (const host of hosts.filter((_, i) => !live[i])) {
        const cleaner = host.sim.berth(['runtimed', '--root', join(host.dataDir, 'runtime'), '--socket', join(host.dataDir, 'runtimed.sock'), '--cgroup-parent', host.cgroupParent]);
        try {
          await waitFor(() => runtimeAnswers(host.runtime), 30_000, `a runtimed to clean ${host.name} with`);
          await removeContainers(host);
        } finally {
          await cleaner.stop();
        }
      }
    } finally {
      for (const host of hosts) host.runtime.close();
      client?.close();
      for (const s of servers) await s.cleanup();
      await nats?.stop();
      await network?.cleanup();
    }
    // Processes still in a host's cgroups (a container whose shim died with a failed test) are reported,
    // then killed with their cgroups, so that the next run does not inherit them.
    for (const host of hosts) {
      for (const pid of await cgroupPids(host.cgroupParent)) leftovers.push(`process ${pid} in ${host.cgroupParent}`);
      await removeCgroupTree(host.cgroupParent);
    }
    const mounts = await mountPointsUnder(root);
    for (const point of mounts) execFileSync('umount', ['-l', point], { timeout: 30_000 });
    rmSync(root, { recursive: true, force: true });
    leftovers.push(...(network?.leftovers() ?? []), ...mounts.map((m) => `mount ${m}`), ...hosts.flatMap((h) => cgroupTree(h.cgroupParent)).map((c) => `cgroup ${c}`));
    return leftovers;
  };

  try {
    // The hosts' network first: the server's certificate then names the bridge address they reach it at.
    const serverCount = options.servers ?? 1;
    network = await createSimulatedHosts(options.serverHosts ? serverCount + count : count);
    serverHosts = options.serverHosts ? network.hosts.slice(0, serverCount) : [];
    let store = options.store;
    const storeArgs: string[] = [];
    if (options.serverHosts) {
      if (store) throw new Error('serverHosts makes the servers\' store itself: options.store must be absent');
      nats = await startNatsClusterOn(serverHosts);
      store = nats.url;
      storeArgs.push('--store-replicas', String(serverCount));
    }
    // Servers on one store share its identity (CA, admin token, join secret), opened with one server token.
    const shared = serverCount > 1 ? ['--token', randomBytes(16).toString('hex')] : [];
    const common = { controlLoops: true, store, extraArgs: ['--bind-address', '0.0.0.0', ...storeArgs, ...shared, ...(options.serverArgs ?? [])] };
    for (let i = 0; i < serverCount; i++) {
      if (i > 0 && !store) throw new Error('several servers need a store they share (options.store)');
      // The test's data dir (removed with root), not the server's own: a restart reuses it.
      const dataDir = join(root, `server-${i + 1}`);
      mkdirSync(dataDir, { mode: 0o700 });
      const opts: ServerOptions = { ...common, dataDir, host: serverHosts[i], port: await freePort() };
      serverOptions.push(opts);
      servers.push(await startBerthServer(opts));
    }
    server = servers[0]!;
    const first = connectionFromFile(server.kubeconfigPath);
    client = new KubeClient(servers.length > 1 ? { ...first, servers: servers.map((s) => s.url) } : first);
    tokenFile = join(server.dataDir, 'token');
    for (const sim of network.hosts.slice(serverHosts.length)) {
      const dataDir = join(root, `host-${sim.index}`);
      mkdirSync(dataDir);
      hosts.push({ sim, name: `host-${sim.index}`, dataDir, cgroupParent: `/berth-hosts-${network.runId}-${sim.index}`, runtime: new RuntimeClient(join(dataDir, 'runtimed.sock'), { callTimeoutMs: 60_000 }) });
    }
    for (const host of hosts) startAgent(host);
    const kube = client;
    const busybox = options.busybox === false ? undefined : await busyboxRootfsTarball();
    // Each host's busybox goes in as soon as its runtimed answers (before its node is Ready), the hosts at once.
    const imports = hosts.map(async (host) => {
      if (!busybox) return;
      await eventually(`${host.name}'s runtimed to answer`, () => runtimeAnswers(host.runtime), 120_000);
      await host.runtime.importImage(busybox, { name: 'busybox:latest', config: BUSYBOX_CONFIG });
      // Also under a pinned tag: the CLI's workloads (no imagePullPolicy) would pull :latest (Always), and no registry has it here.
      await host.runtime.tagImage('busybox:latest', 'busybox:1.36');
    });
    // Settled, all of them, before a failure is thrown: cleanup must not race an import still running.
    const settled = await Promise.allSettled([
      eventually(`the ${count} nodes to be Ready`, async () => {
        const nodes = await Promise.all(hosts.map((h) => kube.get<Node>(NODES, h.name).catch(() => undefined)));
        return nodes.every((n) => nodeReadyStatus(n) === 'True');
      }, 120_000),
      ...imports,
    ]);
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
  const removeWorkloads = async (namespace: string, workloads: { deployments?: string[]; pods?: string[] }): Promise<void> => {
    const api = client!;
    for (const name of workloads.deployments ?? []) await api.delete(DEPLOYMENTS, name, { namespace }).catch(() => undefined);
    for (const name of workloads.pods ?? []) await api.delete(PODS, name, { namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    await waitFor(async () => (await api.list<Pod>(PODS, { namespace })).items.length === 0, 30_000).catch(() => undefined);
  };
  const restartServer = async (index: number): Promise<TestServer> => {
    const opts = serverOptions[index];
    if (!opts) throw new Error(`no server ${index}`);
    await servers[index]!.kill9();
    servers[index] = await startBerthServer(opts);
    return servers[index]!;
  };
  return {
    network,
    get server() {
      return servers[0]!;
    },
    servers,
    serverHosts,
    nats,
    client,
    hosts,
    startAgent,
    restartServer,
    eventually,
    removeWorkloads,
    cleanup,
  };
}
