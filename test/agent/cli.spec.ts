// `bin/berth agent` as a process: the join command against a berth server, with a runtimed
// listening in its data dir.
import type { Lease, Node, Pod } from '@berth/api';
import { LABELS, nodeCredentialPath } from '@berth/agent';
import { connectionFromFile, formatJoinToken, KubeClient, parseJoinToken } from '@berth/client';
import { RuntimeClient } from '@berth/runtime-client';
import { BERTH_BIN, freePort, startBerthServer, type TestServer } from '@berth/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimedFixture, waitFor } from '../runtimed/support';
import { busyboxPod, types } from './cluster';

interface Exit {
  code: number | null;
  output: string;
}

/** An agent in the machine's network namespace, so without the node services that would change it (nftables, routes, DNS address). */
function startAgentProcess(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; output(): string; exited: Promise<Exit> } {
  const child = spawn(BERTH_BIN, ['agent', '--disable-node-services', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code) => resolve({ code, output })));
  return { child, output: () => output, exited };
}

describe('berth agent', () => {
  let server: TestServer;
  let client: KubeClient;
  const runtimed = new RuntimedFixture();
  const emptyDir = mkdtempSync(join(tmpdir(), 'berth-agent-cli-'));
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    // Each is kept as soon as it runs, so afterAll stops it even when the other failed to start.
    await Promise.all([startBerthServer().then((started) => (server = started)), runtimed.start()]);
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    await runtimed.importBusybox();
  }, 120_000);

  afterAll(async () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    try {
      await runtimed.cleanup();
    } finally {
      client?.close();
      await server?.cleanup();
      rmSync(emptyDir, { recursive: true, force: true });
    }
  }, 60_000);

  const joinArgs = (dataDir: string, nodeName: string) => ['--server', server.url, '--token', server.token, '--certificate-authority', join(server.dataDir, 'pki', 'ca.crt'), '--data-dir', dataDir, '--node-name', nodeName];
  const joinToken = () => readFileSync(join(server.dataDir, 'token'), 'utf8').trim();

  it('prints the join command with the file of the token it wrote, never the token', () => {
    const tokenFile = join(server.dataDir, 'token');
    expect(server.output()).toContain(
      `berth server: join another host: copy ${tokenFile} to it (mode 0600) and run there: berth agent --server ${server.url} --token-file ${tokenFile} --data-dir /var/lib/berth-agent`,
    );
    expect(server.output()).not.toContain(parseJoinToken(joinToken())!.secret);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it('joins with --token-file, keeps its own credential (0600), and starts again without any token', async () => {
    const dataDir = join(emptyDir, 'token-file-host');
    // The agent renews its Lease (microsecond times) as soon as it has registered the node.
    const renewedAfter = (since: number) => async () => {
      const lease = await client.get<Lease>(types.leases, 'token-file-node', { namespace: 'kube-node-lease' }).catch(() => undefined);
      return Date.parse(lease?.spec?.renewTime ?? '') > since;
    };
    const secret = parseJoinToken(joinToken())!.secret;
    const args = ['--server', server.url, '--data-dir', dataDir, '--node-name', 'token-file-node', '--runtime-socket', runtimed.socket];
    mkdirSync(dataDir, { mode: 0o755 });
    const first = startAgentProcess([...args, '--token-file', join(server.dataDir, 'token')]);
    running.push(first.child);
    await waitFor(`the node's lease (agent output: ${first.output()})`, renewedAfter(0), 30_000);
    // Neither ps nor the credential file shows the join token.
    expect(readFileSync(`/proc/${first.child.pid}/cmdline`, 'utf8')).not.toContain(secret);
    const credential = nodeCredentialPath(dataDir);
    expect(statSync(credential).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'node')).mode & 0o777).toBe(0o700);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readFileSync(credential, 'utf8')).not.toContain(secret);
    expect(connectionFromFile(credential)).toMatchObject({ server: server.url, ca: server.ca, token: undefined, clientCert: expect.stringContaining('BEGIN CERTIFICATE') });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    // Restarted with no token anywhere: its own credential is enough, and it is the node's again.
    const restartedAt = Date.now();
    const second = startAgentProcess(args, { ...process.env, BERTH_TOKEN: '' });
    running.push(second.child);
    await waitFor(`the node's lease renewed again (agent output: ${second.output()})`, renewedAfter(restartedAt), 30_000);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it.each([
    ['a token pinning another CA', () => `K10${'0'.repeat(64)}::node:${parseJoinToken(joinToken())!.secret}`, () => "berth agent: the server's CA does not match the token"],
    ['a wrong node secret', () => formatJoinToken(server.ca, 'not-the-secret'), () => `berth agent: the server at ${server.url} refused the token (401 Unauthorized)`],
  ])('refuses to join with %s, in one line', async (_what, token, message) => {
    const agent = startAgentProcess(['--server', server.url, '--token', token(), '--data-dir', join(emptyDir, 'refused'), '--node-name', 'refused']);
    running.push(agent.child);
    const exit = await agent.exited;
    expect(exit).toEqual({ code: 1, output: `${message()}\n` });
  });

  it('says so in one line when the server cannot be reached', async () => {
    const url = `https://127.0.0.1:${await freePort()}`;
    for (const credentials of [['--token', joinToken()], ['--token', server.token, '--insecure-skip-tls-verify']]) {
      const agent = startAgentProcess(['--server', url, ...credentials, '--data-dir', join(emptyDir, 'unreachable'), '--node-name', 'unreachable']);
      running.push(agent.child);
      const exit = await agent.exited;
      expect(exit.code).toBe(1);
      expect(exit.output).toMatch(/^berth agent: The connection to the server 127\.0\.0\.1:\d+ was refused - did you specify the right host or port\?\n$/);
    }
  });

  it('says so clearly when the runtimed it was told to use is not there', async () => {
    const socket = join(emptyDir, 'elsewhere.sock');
    const agent = startAgentProcess([...joinArgs(emptyDir, 'lonely'), '--runtime-socket', socket]);
    running.push(agent.child);
    const exit = await agent.exited;
    expect(exit.code).toBe(1);
    expect(exit.output).toContain(`berth agent: no runtimed socket at ${socket}`);
  });

  it('starts its own runtimed in a data dir that has none, and stops it on SIGTERM', async () => {
    const dataDir = join(emptyDir, 'host');
    // The join token alone: the agent fetches the CA and checks it against the token.
    const agent = startAgentProcess(['--server', server.url, '--token', joinToken(), '--data-dir', dataDir, '--node-name', 'self-contained']);
    running.push(agent.child);
    await waitFor(`the node to be Ready (agent output: ${agent.output()})`, async () => {
      const n = await client.get<Node>(types.nodes, 'self-contained').catch(() => undefined);
      return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 30_000);
    const own = new RuntimeClient(join(dataDir, 'runtimed.sock'));
    try {
      expect((await own.version()).version).toBeTruthy();
    } finally {
      own.close();
    }
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    const stillServing = new RuntimeClient(join(dataDir, 'runtimed.sock'));
    try {
      await expect(stillServing.version()).rejects.toThrow();
    } finally {
      stillServing.close();
    }
  });

  it('joins the cluster, runs its pods, and leaves them running when stopped', async () => {
    // The fixture's socket is <dir>/run/runtimed.sock: that dir is the agent's data dir.
    const agent = startAgentProcess([...joinArgs(runtimed.stateDir, 'cli-node'), '--node-ip', '127.0.0.2']);
    running.push(agent.child);
    const node = await waitFor(`the node to be Ready (agent output: ${agent.output()})`, async () => {
      const n = await client.get<Node>(types.nodes, 'cli-node').catch(() => undefined);
      return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && n;
    }, 30_000);
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.2' });
    // On the host's network: this server assigns no pod CIDRs (no controllers), and the fixture's runtimed
    // runs in the machine's network namespace, where no suite may build a pod network.
    await client.create<Pod>(types.pods, { ...busyboxPod('cli-pod', {}), spec: { ...busyboxPod('cli-pod', { hostNetwork: true }).spec!, nodeName: 'cli-node' } });
    const pod = await waitFor('the pod to run', async () => {
      const p = await client.get<Pod>(types.pods, 'cli-pod', { namespace: 'default' });
      return p.status?.phase === 'Running' && p;
    }, 30_000);
    expect(pod.status).toMatchObject({ hostIP: '127.0.0.2', podIP: '127.0.0.2' });
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    const containers = await runtimed.client.listContainers({ labels: { [LABELS.podUid]: pod.metadata.uid! } });
    expect(containers.map((c) => c.state)).toEqual(['running']);
  });
});
