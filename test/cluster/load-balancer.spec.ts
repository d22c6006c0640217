/**
 * LoadBalancer Services, k3s ServiceLB style, on two hosts (network namespaces, each with an agent and its
 * service proxy): a Deployment of busybox httpd pods behind `kubectl expose --type LoadBalancer`; the
 * service-lb controller gives the Service the hosts' addresses (kubectl's EXTERNAL-IP) and every host answers
 * at <its address>:<service port>, as it does at its NodePort; a type change takes the addresses away.
 */
import { resourceForKind, type Deployment, type Pod, type Service } from '@berth/api';
import { kubectlFor, type Kubectl } from '@berth/testing';
import { fetchText, HTTPD_SERVING_HOSTNAME } from '../support/http-backend';
import { startHostsCluster, type HostsCluster } from '../support/hosts-cluster';

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICES = resourceForKind('v1', 'Service')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const NS = 'default';
const SERVICE_PORT = 8080;

const webDeployment: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: NS },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'httpd',
            image: 'busybox:latest',
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', HTTPD_SERVING_HOSTNAME],
            ports: [{ containerPort: 80 }],
            readinessProbe: { httpGet: { path: '/ready', port: 80 }, periodSeconds: 1 },
          },
        ],
      },
    },
  },
};

describe('a LoadBalancer Service on two hosts', () => {
  let cluster: HostsCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startHostsCluster(2);
    kubectl = kubectlFor(cluster.server);
  }, 180_000);

  afterAll(async () => {
    kubectl?.cleanup();
    if (!cluster) return;
    await cluster.removeWorkloads(NS, { deployments: ['web'] });
    expect(await cluster.cleanup()).toEqual([]);
  }, 120_000);

  async function kubectlOk(args: string[]): Promise<string> {
    const result = await kubectl.run(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }
  const externalIP = async () => (await kubectlOk(['get', 'service', 'web', '-n', NS, '--no-headers'])).trim().split(/\s+/)[3];
  const webPodNames = async () =>
    (await cluster.client.list<Pod>(PODS, { namespace: NS, labelSelector: 'app=web' })).items
      .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => p.metadata.name!);

  it('shows the hosts\' addresses as EXTERNAL-IP', async () => {
    await cluster.client.create(DEPLOYMENTS, webDeployment);
    await kubectlOk(['expose', 'deployment', 'web', '--type', 'LoadBalancer', '--port', String(SERVICE_PORT), '--target-port', '80', '-n', NS]);
    const hostIPs = cluster.hosts.map((h) => h.sim.ip).sort().join(',');
    await cluster.eventually(`EXTERNAL-IP ${hostIPs}`, async () => (await externalIP()) === hostIPs, 30_000);
    await cluster.eventually('2 ready web pods', async () => (await webPodNames()).length === 2, 120_000);
  });

  it('answers at every host\'s address on the service port, and on its NodePort', async () => {
    const names = await webPodNames();
    const service = await cluster.client.get<Service>(SERVICES, 'web', { namespace: NS });
    const nodePort = service.spec!.ports![0].nodePort!;
    for (const host of cluster.hosts) {
      for (const port of [SERVICE_PORT, nodePort]) {
        const body = await cluster.eventually(`${host.sim.ip}:${port} to answer`, () => fetchText(host.sim.ip, port), 30_000);
        expect([host.name, port, names.includes(body)]).toEqual([host.name, port, true]);
      }
    }
  });

  it('stops answering on the hosts\' addresses when the Service is no LoadBalancer any more', async () => {
    await kubectlOk(['patch', 'service', 'web', '-n', NS, '--type=merge', '-p', '{"spec":{"type":"NodePort"}}']);
    await cluster.eventually('EXTERNAL-IP <none>', async () => (await externalIP()) === '<none>', 30_000);
    for (const host of cluster.hosts) {
      await cluster.eventually(`${host.sim.ip}:${SERVICE_PORT} to stop answering`, async () => (await fetchText(host.sim.ip, SERVICE_PORT)) === undefined, 30_000);
    }
  });
});
