/**
 * The pod network and Services on two hosts (network namespaces, each with an agent, its pod network,
 * nftables service rules and DNS server):
 * - new connections per second and latency percentiles of HTTP GETs from host 1 to a busybox httpd pod on
 *   host 2, straight to the pod's IP and through the Service's ClusterIP (the ratio is the Service's cost);
 * - how long an endpoint change takes to reach the rules of every node, from the Endpoints write the
 *   control plane makes (and from the readiness failure that causes it).
 */
import { resourceForKind, type Deployment, type Endpoints, type Pod, type Service } from '@berth/api';
import { kubectlFor, waitFor } from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { startHostsCluster, type HostsCluster } from '../support/hosts-cluster';
import { percentile } from './stats';

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICES = resourceForKind('v1', 'Service')!;
const ENDPOINTS = resourceForKind('v1', 'Endpoints')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const NS = 'default';
const LOAD_SECONDS = 5;
const CONCURRENCY = 8;
const ROUNDS = 5;
const HTTPD = 'mkdir -p /www && echo ok > /www/index.html && touch /www/ready && exec httpd -f -p 80 -h /www';

/**
 * The load generator, run by node inside host 1's network namespace: CONCURRENCY loops of GETs, each on a
 * new connection, for the given seconds; prints {count, errors, latencies (ms, sorted)} as JSON.
 */
const LOAD_SCRIPT = `
const http = require('node:http');
const [url, seconds, concurrency] = process.argv.slice(1);
const until = Date.now() + Number(seconds) * 1000;
const latencies = []; let errors = 0;
const once = () => new Promise((resolve) => {
  const started = process.hrtime.bigint();
  const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - started) / 1e6); else errors++; resolve(); });
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => { errors++; resolve(); });
});
const loop = async () => { while (Date.now() < until) await once(); };
Promise.all(Array.from({ length: Number(concurrency) }, loop)).then(() => {
  latencies.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ count: latencies.length, errors, latencies }));
});
`;

interface Load {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

function loadFrom(cluster: HostsCluster, url: string): Load {
  const host = cluster.hosts[0].sim;
  const out = execFileSync('nsenter', [`--net=${host.netnsPath}`, process.execPath, '-e', LOAD_SCRIPT, url, String(LOAD_SECONDS), String(CONCURRENCY)], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const { count, errors, latencies } = JSON.parse(out) as { count: number; errors: number; latencies: number[] };
  return { perSecond: count / LOAD_SECONDS, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

function echoDeployment(): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'echo', namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'echo' } },
      template: {
        metadata: { labels: { app: 'echo' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          nodeSelector: { 'kubernetes.io/hostname': 'host-2' },
          containers: [
            {
              name: 'httpd',
              image: 'busybox:latest',
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', HTTPD],
              readinessProbe: { httpGet: { path: '/ready', port: 80 }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
        },
      },
    },
  };
}

/** Whether each node's service rules name the address (as a whole address: 10.88.1.2 is not 10.88.1.23). */
const rulesMention = (cluster: HostsCluster, ip: string) => {
  const address = new RegExp(`(^|[^\\d.])${ip.replace(/\./g, '\\.')}(?![\\d])`);
  return cluster.hosts.map((h) => {
    try {
      return address.test(h.sim.exec('nft', ['list', 'table', 'ip', 'berth']));
    } catch {
      return false;
    }
  });
};

/**
 * Reads the Endpoints of `name` now; the answer resolves with performance.now() once `ip` is (or is no
 * longer) one of its ready addresses. The watch starts from what was read (the API replays what came
 * after), so a change caused before the watch is connected is still seen.
 */
async function endpointsChangeAfterNow(cluster: HostsCluster, name: string, ip: string, ready: boolean): Promise<() => Promise<number>> {
  const { client } = cluster;
  const current = await client.get<Endpoints>(ENDPOINTS, name, { namespace: NS });
  return async () => {
    const watch = await client.watch<Endpoints>(ENDPOINTS, { namespace: NS, fieldSelector: `metadata.name=${name}`, resourceVersion: current.metadata.resourceVersion });
    try {
      for await (const event of watch) {
        const addresses = (event.object.subsets ?? []).flatMap((s) => s.addresses ?? []).map((a) => a.ip);
        if (addresses.includes(ip) === ready) return performance.now();
      }
      throw new Error('the Endpoints watch ended');
    } finally {
      watch.close();
    }
  };
}

/** Polls every node's rules until each does (or does not) mention `ip`; resolves with performance.now() then. */
async function rulesEverywhere(cluster: HostsCluster, ip: string, present: boolean): Promise<number> {
  await waitFor(() => rulesMention(cluster, ip).every((m) => m === present), 30_000, `every node's rules to ${present ? 'include' : 'drop'} ${ip}`);
  return performance.now();
}

export async function benchNetwork(): Promise<void> {
  const cluster = await startHostsCluster(2);
  const kubectl = kubectlFor(cluster.server);
  const lines: string[] = [];
  try {
    const { client } = cluster;
    await client.create(DEPLOYMENTS, echoDeployment());
    await client.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: NS }, spec: { selector: { app: 'echo' }, ports: [{ port: 80 }] } } as Service);
    const [pod] = await cluster.eventually('the echo pod ready', async () => {
      const pods = (await client.list<Pod>(PODS, { namespace: NS, labelSelector: 'app=echo' })).items;
      return pods[0]?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pods : undefined;
    }, 120_000);
    const podIP = pod.status!.podIP!;
    const clusterIP = (await client.get<Service>(SERVICES, 'echo', { namespace: NS })).spec!.clusterIP!;
    await cluster.eventually('the ClusterIP rules on every node', () => rulesMention(cluster, podIP).every(Boolean), 30_000);

    loadFrom(cluster, `http://${podIP}/`); // warm-up
    const direct = loadFrom(cluster, `http://${podIP}/`);
    const viaService = loadFrom(cluster, `http://${clusterIP}/`);
    const row = (what: string, l: Load) =>
      `  ${what.padEnd(26)} ${l.perSecond.toFixed(0).padStart(8)} ${l.p50.toFixed(2).padStart(8)} ${l.p99.toFixed(2).padStart(8)} ${String(l.errors).padStart(7)}`;
    lines.push(`pod network, host 1 → busybox httpd on host 2 (${CONCURRENCY} clients, a new connection per GET, ${LOAD_SECONDS} s each):`);
    lines.push(`  ${'target'.padEnd(26)} ${'conn/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`);
    lines.push(row(`pod IP ${podIP}`, direct));
    lines.push(row(`ClusterIP ${clusterIP}`, viaService));
    lines.push(`  ClusterIP/pod IP: ${(viaService.perSecond / direct.perSecond).toFixed(2)}x conn/s, ${(viaService.p99 / direct.p99).toFixed(2)}x p99`);

    const fromEndpoints: number[] = [];
    const fromProbe: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const ready of [false, true]) {
        const watching = await endpointsChangeAfterNow(cluster, 'echo', podIP, ready);
        const changed = watching();
        changed.catch(() => undefined); // awaited below, after the change is caused
        const caused = performance.now();
        const exec = await kubectl.run(['exec', pod.metadata.name!, '--', ready ? 'touch' : 'rm', '/www/ready']);
        if (exec.code !== 0) throw new Error(`kubectl exec failed: ${exec.stderr}`);
        const endpointsAt = await changed;
        const rulesAt = await rulesEverywhere(cluster, podIP, ready);
        fromEndpoints.push(rulesAt - endpointsAt);
        fromProbe.push(rulesAt - caused);
      }
    }
    fromEndpoints.sort((a, b) => a - b);
    fromProbe.sort((a, b) => a - b);
    lines.push(`endpoint change → rules on both nodes (${ROUNDS * 2} changes: readiness failing and passing again, probe period 1 s):`);
    lines.push(`  from the Endpoints write:   p50 ${percentile(fromEndpoints, 50).toFixed(0)} ms, max ${fromEndpoints[fromEndpoints.length - 1].toFixed(0)} ms (every node's rules polled about every 70 ms)`);
    lines.push(`  from the readiness change:  p50 ${percentile(fromProbe, 50).toFixed(0)} ms, max ${fromProbe[fromProbe.length - 1].toFixed(0)} ms (includes up to one probe period)`);
  } finally {
    kubectl.cleanup();
    await cluster.client.delete(DEPLOYMENTS, 'echo', { namespace: NS }).catch(() => undefined);
    await cluster.cleanup();
  }
  for (const line of lines) console.log(line);
}
