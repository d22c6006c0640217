// Three berth servers on three simulated hosts, k3s style: the first with --cluster-init (its own nats-server,
// no --token: it makes one), which serves only 503 and the join endpoint until a second server joins; two
// more with --join. Then kubectl works against each, the Leases have holders, a wrong token is one line, and
// kill -9 of a server takes its nats-server with it while the other two keep taking writes; the same command
// on the same data dir brings it back into the cluster.
import { createSimulatedHosts, freePort, kubectlFor, waitFor, type HostProcess, type Kubectl, type SimulatedNetwork } from '@berth/testing';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'nats';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let net: SimulatedNetwork | undefined;
let dir: string;
const kubectls: Kubectl[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-ha-embedded-'));
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

interface Server {
  dataDir: string;
  args: string[];
  process: HostProcess;
}

function startServer(hostIndex: number, ports: { https: number; nats: number; cluster: number }, mode: string[]): Server {
  const host = net!.hosts[hostIndex];
  const dataDir = mkdtempSync(join(dir, `server-${host.index}-`));
  const args = ['server', '--data-dir', dataDir, '--https-port', String(ports.https), '--bind-address', host.ip, '--registry-port', '0', '--disable-agent'];
  args.push('--nats-port', String(ports.nats), '--nats-cluster-port', String(ports.cluster), ...mode);
  return { dataDir, args, process: host.berth(args) };
}

/** A GET that does not check the certificate: what the API port answers before it has the cluster's. */
function insecureGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The nats-server whose config is in the data dir, by its command line: the child of that server. */
function natsPid(server: Server): number | undefined {
  const config = join(server.dataDir, 'nats', 'nats.conf');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline[0].endsWith('nats-server') && cmdline.includes(config)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

test('--cluster-init waits for a second server, --join makes three; kill -9 of one takes its NATS, the others keep writing, a restart rejoins', async () => {
  // Each host has its own addresses: the same free ports on all three.
  const ports = { https: await freePort(), nats: await freePort(), cluster: await freePort() };
  const urls = net!.hosts.map((h) => `https://${h.ip}:${ports.https}`);
  const first = startServer(0, ports, ['--cluster-init']);
  const waiting = `waiting for a second server to join: berth server --join ${urls[0]} --token $(cat ${join(first.dataDir, 'server-token')})`;
  await waitFor(() => first.process.output().includes(waiting), 60_000, 'the first server waiting').catch((err: Error) => {
    throw new Error(`${err.message}:\n${first.process.output()}`);
  });
  const refused = await waitFor(async () => insecureGet(`${urls[0]}/api/v1/namespaces`).catch(() => undefined), 30_000, 'the first server answering');
  expect(refused.status).toBe(503);
  expect(JSON.parse(refused.body)).toMatchObject({ kind: 'Status', code: 503, message: expect.stringContaining(waiting) });
  const token = readFileSync(join(first.dataDir, 'server-token'), 'utf8').trim();

  const wrong = startServer(1, ports, ['--join', urls[0], '--token', 'not-the-token']);
  expect((await wrong.process.exited).code).toBe(1);
  expect(wrong.process.output()).toContain(`berth server: the token does not match the cluster's at ${urls[0]}\n`);

  const servers = [first, startServer(1, ports, ['--join', urls[0], '--token', token]), startServer(2, ports, ['--join', urls[0], '--token', token])];
  for (const [i, server] of servers.entries()) {
    await waitFor(() => existsSync(join(server.dataDir, 'kubeconfig.yaml')), 90_000, `server ${i + 1} serving`).catch((err: Error) => {
      throw new Error(`${err.message}:\n${server.process.output()}`);
    });
  }
  const kubectl = kubectlFor({ kubeconfigPath: join(first.dataDir, 'kubeconfig.yaml') });
  kubectls.push(kubectl);
  for (const [i, url] of urls.entries()) await kubectl.ok(['--server', url, 'create', 'configmap', `via-host-${i + 1}`]);
  for (const url of urls) {
    const names = await kubectl.ok(['--server', url, 'get', 'configmap', 'via-host-1', 'via-host-2', 'via-host-3', '-o', 'name']);
    expect(names.trim()).toBe('configmap/via-host-1\nconfigmap/via-host-2\nconfigmap/via-host-3');
  }
  const holders = await waitFor(async () => {
    const leases = await kubectl.ok(['--server', urls[1], 'get', 'lease', '-n', 'kube-system', 'kube-scheduler', 'kube-controller-manager', '-o', 'jsonpath={.items[*].spec.holderIdentity}']);
    return leases.split(' ').filter(Boolean).length === 2 ? leases : undefined;
  }, 60_000, 'both Leases held');
  expect(holders).toMatch(/\S+ \S+/);

  // The buckets start with 2 replicas and grow to 3 one step at a time after the third server joined: a kill
  // before that could take one of only two replicas, and a majority of a bucket with it.
  const natsConfig = readFileSync(join(servers[1].dataDir, 'nats', 'nats.conf'), 'utf8');
  const clientPassword = /authorization \{ user: "berth", password: "([0-9a-f]+)" \}/.exec(natsConfig)?.[1];
  expect(clientPassword).toBeDefined();
  const nc = await connect({ servers: `${net!.hosts[1].ip}:${ports.nats}`, user: 'berth', pass: clientPassword, timeout: 5000 });
  try {
    await waitFor(async () => {
      const jsm = await nc.jetstreamManager();
      const replicas = await Promise.all(['KV_berth', 'KV_berth-meta'].map(async (stream) => (await jsm.streams.info(stream)).config.num_replicas));
      return replicas.every((n) => n === 3) || undefined;
    }, 90_000, 'the store buckets to grow to 3 replicas');
  } finally {
    await nc.close();
  }

  // kill -9 of the first server: the kernel ends its nats-server with it (nothing outlives berth).
  const nats = natsPid(first);
  expect(nats).toBeDefined();
  first.process.child.kill('SIGKILL');
  await first.process.exited;
  await waitFor(() => natsPid(first) === undefined, 10_000, "the killed server's nats-server to be gone");
  // The other two are a majority of the NATS cluster: after the stream leaders moved, writes go through again.
  for (const url of urls.slice(1)) {
    const name = `after-kill-${url.split('//')[1].split(':')[0].replace(/\./g, '-')}`;
    await waitFor(async () => (await kubectl.run(['--server', url, 'create', 'configmap', name])).code === 0 || undefined, 60_000, `a write through ${url}`);
    expect((await kubectl.ok(['--server', urls[1], 'get', 'configmap', name, '-o', 'name'])).trim()).toBe(`configmap/${name}`);
  }

  // The same command on the same data dir: its NATS member comes back from the data dir (routes and
  // JetStream store) and catches up; the server serves what was written while it was gone.
  const restarted = net!.hosts[0].berth(first.args);
  await waitFor(async () => (await kubectl.run(['--server', urls[0], 'get', 'configmap', 'after-kill-' + net!.hosts[2].ip.replace(/\./g, '-')])).code === 0 || undefined, 90_000, 'the restarted server serving').catch((err: Error) => {
    throw new Error(`${err.message}:\n${restarted.output()}`);
  });
  expect(restarted.output()).not.toContain('waiting for a second server');
}, 300_000);
