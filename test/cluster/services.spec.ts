/**
 * Services across hosts (issue 5's done-means): three hosts as network namespaces, each running an agent
 * with its pod network, service rules and DNS server. A Deployment of busybox httpd pods (each serving its
 * own name) on hosts 1 and 2 behind a NodePort Service `web`; a client pod on host 3 fetches http://web/
 * by name and reaches every backend (the Service made with `berth expose`); the NodePort answers on every host; scaling and a failing readiness
 * probe change the backends; deleting the Service removes its rules; `berth run -p` publishes a port.
 */
import { resourceForKind, type Deployment, type Endpoints, type Node, type Pod, type Service } from '@berth/api';
import { kubectlFor, runBerth, type Kubectl } from '@berth/testing';
import { fetchText, HTTPD_SERVING_HOSTNAME as HTTPD } from '../support/http-backend';
import { startHostsCluster, type HostsCluster } from '../support/hosts-cluster';

const PODS = resourceForKind('v1', 'Pod')!;
const NODES = resourceForKind('v1', 'Node')!;
const SERVICES = resourceForKind('v1', 'Service')!;
const ENDPOINTS = resourceForKind('v1', 'Endpoints')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const NS = 'default';
/** Requests per sample: with three backends picked at random, missing one in 40 tries happens once in ~10^7. */
const REQUESTS = 40;

function webDeployment(replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['host-1', 'host-2'] }] }],
              },
            },
          },
          containers: [
            {
              name: 'httpd',
              image: 'busybox:latest',
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', HTTPD],
              ports: [{ containerPort: 80, name: 'http' }],
              readinessProbe: { httpGet: { path: '/ready', port: 80 }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
        },
      },
    },
  };
}

const headlessService: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web-pods', namespace: NS },
  spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] },
};

describe('Services across three hosts', () => {
  let cluster: HostsCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startHostsCluster(3);
    kubectl = kubectlFor(cluster.server);
  }, 180_000);

  afterAll(async () => {
    kubectl?.cleanup();
    if (!cluster) return;
    await cluster.removeWorkloads(NS, { deployments: ['web', 'pub'], pods: ['client'] });
    expect(await cluster.cleanup()).toEqual([]);
  }, 120_000);

  const berthEnv = () => ({ ...process.env, KUBECONFIG: cluster.server.kubeconfigPath });
  const webPods = async () => (await cluster.client.list<Pod>(PODS, { namespace: NS, labelSelector: 'app=web' })).items.filter((p) => !p.metadata.deletionTimestamp);
  const readyAddresses = async (name: string) => {
    const endpoints = await cluster.client.get<Endpoints>(ENDPOINTS, name, { namespace: NS }).catch(() => undefined);
    return (endpoints?.subsets ?? []).flatMap((s) => s.addresses ?? []).map((a) => a.ip).sort();
  };
  const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

  /** Runs a shell command in the client pod (on host 3) and answers its stdout. */
  async function inClient(script: string): Promise<string> {
    const result = await kubectl.run(['exec', 'client', '--', 'sh', '-c', script], { timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`exec in client failed (${result.code}): ${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  /**
   * The backends (pod names) that REQUESTS fetches of URL from the client pod reached. Each fetch has 3 s
   * (busybox's own wget -T crashes) and three failures end the loop, so a broken path shows as FAILED
   * among the backends, not as a hung exec.
   */
  async function backendsFromClient(url: string): Promise<string[]> {
    const out = await inClient(`failed=0; for i in $(seq ${REQUESTS}); do timeout 3 wget -qO- ${url} || { echo FAILED; failed=$((failed+1)); [ $failed -lt 3 ] || break; }; done`);
    return [...new Set(out.split('\n').map((l) => l.trim()).filter(Boolean))].sort();
  }

  it('runs the web pods on hosts 1 and 2 with addresses from their nodes\' pod CIDRs, and a client on host 3', async () => {
    const { client, eventually } = cluster;
    await client.create(DEPLOYMENTS, webDeployment(3));
    const exposed = await runBerth(['expose', 'deploy/web', '--port', '80', '--target-port', 'http', '--type', 'NodePort'], { env: berthEnv() });
    expect([exposed.stdout, exposed.stderr]).toEqual(['service/web exposed\n', '']);
    await client.create(SERVICES, headlessService);
    await client.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client', namespace: NS },
      spec: { nodeName: 'host-3', terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
    } as Pod);
    const pods = await eventually('3 ready web pods', async () => {
      const all = await webPods();
      return all.length === 3 && all.every(isReady) ? all : undefined;
    }, 120_000);
    await eventually('the client pod running', async () => (await client.get<Pod>(PODS, 'client', { namespace: NS })).status?.phase === 'Running', 60_000);
    const ips = pods.map((p) => p.status?.podIP);
    expect(new Set(ips).size).toBe(3);
    for (const pod of pods) {
      const node = await client.get<Node>(NODES, pod.spec!.nodeName!);
      const prefix = node.spec!.podCIDR!.split('.').slice(0, 3).join('.');
      expect([pod.metadata.name, pod.status?.podIP?.startsWith(`${prefix}.`)]).toEqual([pod.metadata.name, true]);
      expect(['host-1', 'host-2']).toContain(pod.spec?.nodeName);
    }
    await eventually('the Endpoints of web to list the 3 pods', async () => (await readyAddresses('web')).length === 3, 30_000);
  });

  it('reaches every backend from another host by name (web, web.default, web.default.svc.cluster.local)', async () => {
    const names = (await webPods()).map((p) => p.metadata.name!).sort();
    for (const url of ['http://web/', 'http://web.default/', 'http://web.default.svc.cluster.local/']) {
      expect([url, await backendsFromClient(url)]).toEqual([url, names]);
    }
    const service = await cluster.client.get<Service>(SERVICES, 'web', { namespace: NS });
    expect(await backendsFromClient(`http://${service.spec!.clusterIP}/`)).toEqual(names);
  });

  it('answers the headless Service\'s name with the pods\' own addresses', async () => {
    const ips = (await webPods()).map((p) => p.status!.podIP!).sort();
    // busybox nslookup also tries the other search domains, which have no such name, and then exits 1.
    const answer = await inClient('nslookup -type=a web-pods || true');
    const found = [...answer.matchAll(/Address(?: \d+)?:\s*(10\.\d+\.\d+\.\d+)/g)].map((m) => m[1]).filter((ip) => ips.includes(ip));
    expect([...new Set(found)].sort()).toEqual(ips);
  });

  it('answers the NodePort on every host, also on the host with no backend', async () => {
    const service = await cluster.client.get<Service>(SERVICES, 'web', { namespace: NS });
    const nodePort = service.spec!.ports![0].nodePort!;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    const names = (await webPods()).map((p) => p.metadata.name!);
    for (const host of cluster.hosts) {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const body = await fetchText(host.sim.ip, nodePort);
        expect([host.name, body !== undefined && names.includes(body)]).toEqual([host.name, true]);
        seen.add(body!);
      }
    }
  });

  it('takes a pod whose readiness probe fails out of the backends, and back when it passes', async () => {
    const [victim] = await webPods();
    await kubectl.run(['exec', victim.metadata.name!, '--', 'rm', '/www/ready']);
    await cluster.eventually('the failing pod to leave the Endpoints', async () => !(await readyAddresses('web')).includes(victim.status!.podIP!), 30_000);
    await cluster.eventually('requests to stop reaching the failing pod', async () => {
      const seen = await backendsFromClient('http://web/');
      return seen.length === 2 && !seen.includes(victim.metadata.name!);
    }, 30_000);
    await kubectl.run(['exec', victim.metadata.name!, '--', 'touch', '/www/ready']);
    await cluster.eventually('requests to reach it again', async () => (await backendsFromClient('http://web/')).includes(victim.metadata.name!), 30_000);
  });

  it('follows the Deployment when it is scaled down and up', async () => {
    await kubectl.run(['scale', 'deployment/web', '--replicas=1']);
    const [survivor] = await cluster.eventually('one web pod', async () => {
      const pods = await webPods();
      return pods.length === 1 && (await readyAddresses('web')).length === 1 ? pods : undefined;
    }, 60_000);
    await cluster.eventually('every request to reach the one pod left', async () => {
      const seen = await backendsFromClient('http://web/');
      return seen.length === 1 && seen[0] === survivor.metadata.name;
    }, 30_000);
    await kubectl.run(['scale', 'deployment/web', '--replicas=2']);
    await cluster.eventually('requests to reach both pods', async () => (await backendsFromClient('http://web/')).length === 2, 60_000);
  });

  it('publishes a port on the pod\'s host with berth run -p', async () => {
    const run = await runBerth(['run', 'pub', '--image', 'busybox:1.36', '-p', '8080:80', '--', 'sh', '-c', HTTPD], { env: berthEnv() });
    expect(run.stderr).toBe('');
    const pod = await cluster.eventually('the pub pod running', async () => {
      const [p] = (await cluster.client.list<Pod>(PODS, { namespace: NS, labelSelector: 'app=pub' })).items;
      return p?.status?.phase === 'Running' && isReady(p) ? p : undefined;
    }, 60_000);
    const host = cluster.hosts.find((h) => h.name === pod.spec?.nodeName)!;
    expect(await cluster.eventually('port 8080 on the pod\'s host', () => fetchText(host.sim.ip, 8080), 30_000)).toBe(pod.metadata.name);
  });

  it('removes the Service\'s rules from every host when it is deleted', async () => {
    const service = await cluster.client.get<Service>(SERVICES, 'web', { namespace: NS });
    const clusterIP = service.spec!.clusterIP!;
    const nodePort = String(service.spec!.ports![0].nodePort);
    const rulesOf = (i: number) => cluster.hosts[i].sim.exec('nft', ['list', 'table', 'ip', 'berth']);
    for (let i = 0; i < cluster.hosts.length; i++) expect(rulesOf(i)).toContain(clusterIP);
    await cluster.client.delete(SERVICES, 'web', { namespace: NS });
    await cluster.eventually('the rules of web to be gone from every host', () => cluster.hosts.every((_, i) => !rulesOf(i).includes(clusterIP) && !rulesOf(i).includes(nodePort)), 30_000);
    expect(await fetchText(cluster.hosts[0].sim.ip, Number(nodePort))).toBeUndefined();
  });
});
