// Three berth servers on three simulated hosts, each beside a node of one three-node NATS cluster, with one
// server token: one CA (each server's certificate naming its own host), one admin kubeconfig for all, the same
// objects; a server with another token stops with one line.
import { createSimulatedHosts, freePort, kubectlFor, waitFor, type HostProcess, type Kubectl, type SimulatedNetwork } from '@berth/testing';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { parse as parseYaml } from 'yaml';

const TOKEN = 'three-hosts-server-token';
let net: SimulatedNetwork | undefined;
let dir: string;
const kubectls: Kubectl[] = [];
const natsProcesses: HostProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-ha-identity-'));
  net = await createSimulatedHosts(3);
});

afterAll(async () => {
  for (const k of kubectls) k.cleanup();
  try {
    await net?.cleanup();
    expect(net?.leftovers() ?? []).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A nats-server on each host, routed to the others'; resolves once JetStream has its meta leader. */
async function startNats(network: SimulatedNetwork): Promise<string> {
  const { hosts } = network;
  // Each host has its own addresses; free ports all the same, so nothing fixed is ever assumed free.
  const [clientPort, clusterPort] = [await freePort(), await freePort()];
  for (const host of hosts) {
    const config = join(dir, `nats-${host.index}.conf`);
    const routes = hosts.filter((h) => h !== host).map((h) => `nats-route://${h.ip}:${clusterPort}`);
    writeFileSync(
      config,
      [
        `server_name: n${host.index}`,
        'max_payload: 8MB',
        `listen: ${host.ip}:${clientPort}`,
        `jetstream { store_dir: "${join(dir, `nats-${host.index}`)}" }`,
        `cluster { name: berth-ha, listen: ${host.ip}:${clusterPort}, routes: [${routes.join(', ')}] }`,
        '',
      ].join('\n'),
    );
    natsProcesses.push(host.spawn('nats-server', ['-c', config]));
  }
  const servers = hosts.map((h) => `${h.ip}:${clientPort}`);
  await waitFor(async () => {
    const nc = await connect({ servers, timeout: 2000 });
    try {
      await (await nc.jetstreamManager()).getAccountInfo();
      return true;
    } catch {
      return false;
    } finally {
      await nc.close();
    }
  }, 30_000, 'a JetStream meta leader').catch((err: Error) => {
    throw new Error(`${err.message}\n${natsProcesses.map((p) => p.output()).join('\n')}`);
  });
  return `nats://${servers.join(',')}`;
}

function startServer(hostIndex: number, store: string, port: number, token: string): { dataDir: string; process: HostProcess } {
  const host = net!.hosts[hostIndex];
  const dataDir = mkdtempSync(join(dir, `server-${host.index}-`));
  const args = ['server', '--data-dir', dataDir, '--https-port', String(port), '--bind-address', host.ip, '--registry-port', '0'];
  args.push('--disable-agent', '--store', store, '--store-replicas', '3', '--token', token);
  return { dataDir, process: host.berth(args) };
}

test('three servers on three hosts share one CA, one admin credential and the objects; another token is refused', async () => {
  const store = await startNats(net!);
  const port = await freePort();
  const servers = [0, 1, 2].map((i) => startServer(i, store, port, TOKEN));
  const urls = net!.hosts.map((h) => `https://${h.ip}:${port}`);
  for (const [i, server] of servers.entries()) {
    await waitFor(() => existsSync(join(server.dataDir, 'kubeconfig.yaml')), 60_000, `server ${i + 1} listening`).catch((err: Error) => {
      throw new Error(`${err.message}:\n${server.process.output()}`);
    });
  }
  const kubeconfigs = servers.map((s) => parseYaml(readFileSync(join(s.dataDir, 'kubeconfig.yaml'), 'utf8')));
  const ca = (k: { clusters: Array<{ cluster: Record<string, string> }> }) => k.clusters[0].cluster['certificate-authority-data'];
  expect(new Set(kubeconfigs.map(ca)).size).toBe(1);

  // The first server's kubeconfig against every server, by its host's address: each certificate names its host.
  const kubectl = kubectlFor({ kubeconfigPath: join(servers[0].dataDir, 'kubeconfig.yaml') });
  kubectls.push(kubectl);
  await kubectl.ok(['--server', urls[0], 'create', 'configmap', 'via-host-1', '--from-literal=a=1']);
  for (const url of urls) {
    expect(await kubectl.ok(['--server', url, 'get', 'configmap', 'via-host-1', '-o', 'jsonpath={.data.a}'])).toBe('1');
  }
  await kubectl.ok(['--server', urls[2], 'create', 'configmap', 'via-host-3']);
  await kubectl.ok(['--server', urls[1], 'get', 'configmap', 'via-host-3']);

  const wrong = startServer(2, store, await freePort(), 'another-token');
  const exit = await wrong.process.exited;
  expect(exit.code).toBe(1);
  expect(wrong.process.output()).toContain("berth server: the token does not open this cluster's bootstrap data\n");
}, 180_000);
