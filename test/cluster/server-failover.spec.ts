/**
 * Nodes fail over between servers: two `berth server`s on one NATS store (one cluster identity, opened with
 * one server token) and one host whose agent is given both (`--server URL1,URL2`).
 * kill -9 the server the agent uses: the agent moves to the other within seconds, the node never goes
 * NotReady, a new pod on it starts, and `kubectl exec` and `logs` reach the node through the other server:
 * before the kill forwarded to the server holding the node's tunnel, after it directly.
 */
import { resourceForKind, type Endpoints, type Lease, type Node, type Pod } from '@berth/api';
import { NODE_LEASE_NAMESPACE } from '@berth/client';
import { kubectlFor, startNatsServer, type Kubectl, type TestNatsServer, type TestServer } from '@berth/testing';
import { get } from 'node:http';
import { nodeReadyStatus, startHostsCluster, type ClusterHost, type HostsCluster } from '../support/hosts-cluster';

const PODS = resourceForKind('v1', 'Pod')!;
const NODES = resourceForKind('v1', 'Node')!;
const LEASES = resourceForKind('coordination.k8s.io/v1', 'Lease')!;
const ENDPOINTS = resourceForKind('v1', 'Endpoints')!;

function sleeper(name: string, node: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'main',
          image: 'busybox:latest',
          imagePullPolicy: 'IfNotPresent',
          // httpd forks once it listens on 8080: the greeting then means it serves.
          command: ['sh', '-c', `mkdir -p /www && echo served by ${name} > /www/index.html && httpd -p 8080 -h /www && echo hello from ${name}; exec sleep 3600`],
        },
      ],
    },
  };
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 30_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer through the port-forward in 30 s')));
    req.on('error', reject);
  });
}

/** Whether a server's log says it holds `node`'s tunnel now (its last word about it is "open"). */
function holdsTunnel(server: TestServer, node: string): boolean {
  const lines = server.output().split('\n').filter((l) => l.includes(`"node":"${node}"`) && /node tunnel (open|closed)/.test(l));
  return lines.at(-1)?.includes('node tunnel open') ?? false;
}

describe('an agent given two servers fails over when the one it uses is killed', () => {
  let nats: TestNatsServer;
  let cluster: HostsCluster;
  let host: ClusterHost;
  let kubectl: Kubectl;
  const eventually = <T>(what: string, check: () => Promise<T> | T, timeoutMs: number) => cluster.eventually(what, check, timeoutMs);

  beforeAll(async () => {
    nats = await startNatsServer();
    cluster = await startHostsCluster(1, { servers: 2, store: `${nats.url}?bucket=failover` });
    host = cluster.hosts[0]!;
  }, 240_000);

  afterAll(async () => {
    kubectl?.cleanup();
    if (cluster) {
      await cluster.removeWorkloads('default', { pods: ['before', 'after'] });
      expect(await cluster.cleanup()).toEqual([]);
    }
    await nats?.stop();
  }, 120_000);

  it('keeps the node Ready, starts a new pod on it, and serves exec, logs and port-forward through the other server', async () => {
    const [first, second] = cluster.servers as [TestServer, TestServer];
    const { client } = cluster;
    // The agent uses the first server it was given: the node's tunnel is there.
    await eventually('the first server to hold the node tunnel', () => holdsTunnel(first, host.name), 30_000);
    await client.create(PODS, sleeper('before', host.name), { namespace: 'default' });
    await eventually('pod before to run', async () => (await client.get<Pod>(PODS, 'before', { namespace: 'default' })).status?.phase === 'Running', 60_000);

    // Each server keeps itself in the kubernetes Endpoints; the agent adds them to the servers it was given.
    const endpoints = await client.get<Endpoints>(ENDPOINTS, 'kubernetes', { namespace: 'default' });
    expect((endpoints.subsets ?? []).flatMap((s) => s.ports!.map((p) => p.port)).sort()).toEqual([first.port, second.port].sort());
    await eventually('the agent to learn the servers from the Endpoints', () => host.agent!.output().includes('API servers learned from the kubernetes Endpoints'), 30_000);

    // The second server does not hold the node's tunnel: it forwards exec and logs to the first, which does.
    kubectl = kubectlFor(second);
    expect(holdsTunnel(second, host.name)).toBe(false);
    const lease = await client.get<Lease>(LEASES, `node-tunnel.${host.name}`, { namespace: 'kube-system' });
    expect(lease.spec?.holderIdentity).toMatch(new RegExp(`^https://[^/]+:${first.port}$`));
    expect(await kubectl.ok(['logs', 'before'])).toBe('hello from before\n');
    expect(await kubectl.ok(['exec', 'before', '--', 'sh', '-c', 'echo forwarded to $HOSTNAME'])).toBe('forwarded to before\n');
    expect(await kubectl.ok(['exec', '-i', 'before', '--', 'cat'], { input: 'stdin through two servers\n' })).toBe('stdin through two servers\n');
    const forward = kubectl.start(['port-forward', 'pod/before', '0:8080']);
    try {
      const match = await eventually('kubectl port-forward to listen', () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(forward.output()), 30_000);
      expect(await httpGet(Number(match[1]))).toBe('served by before\n');
    } finally {
      await forward.kill();
    }

    // Watch the node's Ready condition from now on (the client moves to the second server when the first dies).
    const readiness: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const node = await client.get<Node>(NODES, host.name).catch(() => undefined);
        if (node) readiness.push(nodeReadyStatus(node) ?? 'none');
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    const killedAt = Date.now();
    await first.kill9();
    const renewTime = async () => Date.parse((await client.get<Lease>(LEASES, host.name, { namespace: NODE_LEASE_NAMESPACE })).spec?.renewTime ?? '');
    await eventually('the node Lease renewed after the kill', async () => (await renewTime()) > killedAt, 60_000);
    const leaseRenewedAfterMs = Date.now() - killedAt;
    await eventually('the second server to hold the node tunnel', () => holdsTunnel(second, host.name), 60_000);
    const tunnelAfterMs = Date.now() - killedAt;
    process.stdout.write(`agent failover (server killed -9): node Lease renewed through the other server in ${(leaseRenewedAfterMs / 1000).toFixed(1)} s, node tunnel reopened in ${(tunnelAfterMs / 1000).toFixed(1)} s\n`);
    expect(host.agent!.output()).toContain('moved to the next');
    expect((await client.get<Lease>(LEASES, `node-tunnel.${host.name}`, { namespace: 'kube-system' })).spec?.holderIdentity).toMatch(new RegExp(`:${second.port}$`));

    // A new pod on the node starts, through the other server.
    await client.create(PODS, sleeper('after', host.name), { namespace: 'default' });
    await eventually('pod after to run', async () => (await client.get<Pod>(PODS, 'after', { namespace: 'default' })).status?.phase === 'Running', 60_000);

    // exec and logs reach the node through the second server's own tunnel.
    expect(await kubectl.ok(['logs', 'before'])).toBe('hello from before\n');
    expect(await kubectl.ok(['exec', 'after', '--', 'sh', '-c', 'echo exec in $HOSTNAME'])).toBe('exec in after\n');

    watching = false;
    await watcher;
    expect(readiness.length).toBeGreaterThan(0);
    expect(readiness.filter((r) => r !== 'True')).toEqual([]);

    // An agent started while the first server it is given is down starts through the next.
    await host.agent!.stop();
    const tunnelsOpened = () => second.output().split('\n').filter((l) => l.includes(`"node":"${host.name}"`) && l.includes('node tunnel open')).length;
    const before = tunnelsOpened();
    cluster.startAgent(host);
    await eventually('the restarted agent to open its tunnel on the second server', () => tunnelsOpened() > before, 60_000);
    expect(await kubectl.ok(['exec', 'before', '--', 'echo', 'again'])).toBe('again\n');
  }, 240_000);
});
