/**
 * Issue 5's pod network on one node, with real containers: the agent hands the Node's podCIDR to
 * runtimed, pods get their own addresses from it and reach each other, a hostNetwork pod has the node's
 * address, a hostPort answers on the node, pods resolve through the cluster DNS address, and deleting
 * the pods leaves no veth and no address reservation on the node. The node is a simulated host (a network
 * namespace of its own), where all of this happens.
 */
import type { Node, Pod, PodSpec } from '@berth/api';
import { Ipv4Cidr } from '@berth/ipv4';
import { kubectlFor, waitFor, type Kubectl, type SimulatedHost } from '@berth/testing';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'podnet';
const DOWNWARD_ENV = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
];
/** Serves `<pod name> <$POD_IP>` on port 80. */
const WEB_SCRIPT = 'mkdir -p /www && echo "$POD_NAME $POD_IP" > /www/index.html && exec httpd -f -p 80 -h /www';

function pod(name: string, spec: Partial<PodSpec> = {}, script = WEB_SCRIPT): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], env: DOWNWARD_ENV }],
      ...spec,
    },
  };
}

describe('the pod network of a single node', () => {
  let cluster: NodeCluster;
  let kubectl: Kubectl;
  let host: SimulatedHost;
  let podCIDR: Ipv4Cidr;

  beforeAll(async () => {
    cluster = await startNodeCluster();
    kubectl = kubectlFor(cluster.server);
    host = cluster.server.host!;
    await createNamespace(cluster.client, NS);
    const node = await waitFor(async () => (await cluster.client.list<Node>(types.nodes)).items.find((n) => n.spec?.podCIDR), 30_000, 'the node to get a pod CIDR');
    podCIDR = Ipv4Cidr.parse(node.spec!.podCIDR!);
  }, 120_000);

  afterAll(async () => {
    kubectl?.cleanup();
    if (cluster) expect(await cluster.cleanup()).toEqual([]);
  }, 60_000);

  const getPod = (name: string) => cluster.client.get<Pod>(types.pods, name, { namespace: NS });
  const running = (name: string) =>
    waitFor(async () => {
      const p = await getPod(name);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    }, 60_000, `pod ${name} to run`);

  async function exec(name: string, command: string[]): Promise<string> {
    const result = await kubectl.run(['exec', '-n', NS, name, '--', ...command]);
    if (result.code !== 0) throw new Error(`kubectl exec ${name} -- ${command.join(' ')}: exit ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** The pods' veths on the node (the host's own eth0 is a veth too: its end of the simulated LAN). */
  const podVeths = () =>
    host
      .exec('ip', ['-o', 'link', 'show', 'type', 'veth'])
      .split('\n')
      .filter((line) => line.trim() && !/^\d+: eth0@/.test(line));
  /** Addresses host-local holds for sandboxes in the node's runtimed. */
  const reservations = () => {
    const ipam = join(cluster.server.dataDir, 'runtime', 'network', 'ipam');
    return existsSync(ipam) ? readdirSync(ipam).flatMap((network) => readdirSync(join(ipam, network)).filter((file) => /^\d+\.\d+\.\d+\.\d+$/.test(file))) : [];
  };

  /** An HTTP GET from inside a pod, retried until it answers (the server may still be starting). */
  const fetchFrom = (name: string, url: string) =>
    waitFor(async () => exec(name, ['timeout', '5', 'wget', '-qO-', url]).catch(() => undefined), 30_000, `${name} to fetch ${url}`);

  it('gives each pod its own address of the node podCIDR, and pods reach each other by it', async () => {
    await cluster.client.create<Pod>(types.pods, pod('web-a'));
    await cluster.client.create<Pod>(types.pods, pod('web-b'));
    const [a, b] = [await running('web-a'), await running('web-b')];
    const [ipA, ipB] = [a.status!.podIP!, b.status!.podIP!];
    expect(ipA).not.toBe(ipB);
    for (const p of [a, b]) {
      expect(podCIDR.offsetOf(p.status!.podIP!)).toEqual(expect.any(Number));
      expect(p.status).toMatchObject({ podIPs: [{ ip: p.status!.podIP }], hostIP: host.ip });
    }

    const wide = await kubectl.run(['get', 'pods', '-n', NS, '-o', 'wide', '--no-headers']);
    expect(wide.code).toBe(0);
    const ipColumn = new Map(wide.stdout.trim().split('\n').map((line) => line.split(/\s+/)).map((cols) => [cols[0], cols[5]]));
    expect(Object.fromEntries(ipColumn)).toEqual({ 'web-a': ipA, 'web-b': ipB });
    expect(reservations().sort()).toEqual([ipA, ipB].sort());
    expect(podVeths()).toHaveLength(2);

    // Pod B's page carries its downward-API POD_IP, which must be its status.podIP.
    expect((await fetchFrom('web-a', `http://${ipB}/`)).trim()).toBe(`web-b ${ipB}`);
    expect((await fetchFrom('web-b', `http://${ipA}/`)).trim()).toBe(`web-a ${ipA}`);
  });

  it('points pods at the cluster DNS with the namespace search path, and lists their own address in /etc/hosts', async () => {
    const { podIP } = (await running('web-a')).status!;
    const resolvConf = await exec('web-a', ['cat', '/etc/resolv.conf']);
    expect(resolvConf).toMatch(/^nameserver 169\.254\.20\.10$/m);
    expect(resolvConf).toMatch(new RegExp(`^search ${NS}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local\\b`, 'm'));
    expect(resolvConf).toMatch(/^options ndots:5$/m);
    const hosts = await exec('web-a', ['cat', '/etc/hosts']);
    expect(hosts).toMatch(new RegExp(`^${podIP!.replace(/\./g, '\\.')}\\s.*\\bweb-a\\b`, 'm'));
  });

  it("runs a hostNetwork pod at the node's address, resolving as the node does", async () => {
    await cluster.client.create<Pod>(types.pods, pod('on-host', { hostNetwork: true }, 'echo "$POD_IP" > /tmp/ip; exec sleep 3600'));
    const onHost = await running('on-host');
    expect(onHost.status).toMatchObject({ podIP: host.ip, hostIP: host.ip, podIPs: [{ ip: host.ip }] });
    expect((await exec('on-host', ['cat', '/tmp/ip'])).trim()).toBe(host.ip);
    // The node's own interfaces: the simulated host's eth0 and its address.
    expect(await exec('on-host', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(`${host.ip}/`);
    expect(await exec('on-host', ['cat', '/etc/resolv.conf'])).not.toContain('169.254.20.10');
  });

  it("publishes a hostPort on the node's address, and on its 127.0.0.1 for its own processes (as Docker's -p), beside the service proxy's rules", async () => {
    const published = pod('published');
    published.spec!.containers[0]!.ports = [{ containerPort: 80, hostPort: 8080 }];
    await cluster.client.create<Pod>(types.pods, published);
    const { podIP } = (await running('published')).status!;
    for (const address of [host.ip, '127.0.0.1']) {
      const page = await waitFor(
        () => {
          try {
            return host.exec('timeout', ['5', 'busybox', 'wget', '-qO-', `http://${address}:8080/`]);
          } catch {
            return undefined;
          }
        },
        30_000,
        `the node to answer on ${address}:8080`,
      );
      expect(page.trim()).toBe(`published ${podIP}`);
    }
  });

  it('leaves no veth and no address reservation on the node once the pods are deleted', async () => {
    const pods = (await cluster.client.list<Pod>(types.pods, { namespace: NS })).items;
    expect(pods.length).toBeGreaterThan(0);
    await cluster.observe(NS);
    for (const p of pods) await cluster.client.delete(types.pods, p.metadata.name!, { namespace: NS });
    await waitFor(async () => (await cluster.client.list<Pod>(types.pods, { namespace: NS })).items.length === 0, 60_000, 'the pods to be deleted');
    await waitFor(async () => (await cluster.leftovers(NS)).length === 0, 30_000, 'the pods to leave nothing in runtimed');
    expect(podVeths()).toEqual([]);
    expect(reservations()).toEqual([]);
    expect(await cluster.leftovers(NS)).toEqual([]);
  });
});
