import { type Event, type Node, type NodeAddress, resourceForKind, type Service } from '@berth/api';
import { connectionFromFile, KubeClient } from '@berth/client';
import { type ControllerManager, startControllerManager } from '@berth/controllers';
import { kubectlFor, type Kubectl, runBerth, startBerthServer, type TestServer, waitFor } from '@berth/testing';
import pino from 'pino';
import { types } from './cluster';

const SERVICES = resourceForKind('v1', 'Service')!;
const NS = 'default';

/**
 * The ServiceLB controller alone in a controller-manager against a real apiserver. The test plays the
 * nodes' agents (their Ready condition and addresses), and reads what users see with the real kubectl.
 */
describe('LoadBalancer Services get the addresses of the nodes', () => {
  let server: TestServer;
  let client: KubeClient;
  let kubectl: Kubectl;
  let manager: ControllerManager;

  beforeAll(async () => {
    server = await startBerthServer();
    client = new KubeClient(connectionFromFile(server.kubeconfigPath));
    kubectl = kubectlFor(server);
    manager = startControllerManager({ client, logger: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }), controllers: ['service-lb'] });
    await manager.waitForSync(30_000);
  });

  afterAll(async () => {
    await manager?.stop();
    client?.close();
    kubectl?.cleanup();
    await server?.cleanup();
  });

  async function kubectlOk(args: string[], input?: string): Promise<string> {
    const result = await kubectl.run(args, { input });
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  /** The node as its agent reports it: Ready or not, with these addresses. */
  async function setNode(name: string, ready: boolean, addresses: NodeAddress[]): Promise<void> {
    const node = await client.get<Node>(types.nodes, name).catch(() => client.create<Node>(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} }));
    const now = new Date().toISOString();
    const condition = { type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'KubeletReady' : 'KubeletNotReady', lastHeartbeatTime: now, lastTransitionTime: now } as const;
    await client.updateStatus<Node>(types.nodes, { ...node, status: { ...node.status, conditions: [condition], addresses } });
  }
  const internal = (address: string): NodeAddress => ({ type: 'InternalIP', address });

  /** EXTERNAL-IP as `kubectl get svc` prints it. */
  const externalIP = async (name: string) => (await kubectlOk(['get', 'service', name, '-n', NS, '--no-headers'])).trim().split(/\s+/)[3];
  const showsExternalIP = (name: string, expected: string) =>
    waitFor(async () => ((await externalIP(name)) === expected ? true : undefined), 15_000, `${name} to show EXTERNAL-IP ${expected}`).catch(async (err: Error) => {
      throw new Error(`${err.message}; it shows ${await externalIP(name)}`);
    });
  const eventsAbout = async (name: string, reason: string) =>
    (await client.list<Event>(types.events, { namespace: NS })).items.filter((e) => e.involvedObject.name === name && e.reason === reason);

  it('publishes on Ready nodes, follows their readiness, addresses and deletion, leaves other classes alone, and clears on a type change', async () => {
    await kubectlOk(['create', 'deployment', 'web', '--image', 'busybox:latest', '--port', '80', '-n', NS]);
    await kubectlOk(['expose', 'deployment', 'web', '--type', 'LoadBalancer', '--port', '8080', '-n', NS]);
    // Another implementation's load balancer: never this controller's to fill.
    await kubectlOk(['apply', '-n', NS, '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'metal' }, spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/metal', selector: { app: 'web' }, ports: [{ port: 80 }] },
    }));
    expect(await externalIP('web')).toBe('<pending>');

    await setNode('node-a', true, [internal('192.0.2.11'), { type: 'Hostname', address: 'node-a' }]);
    await setNode('node-b', true, [internal('192.0.2.12')]);
    await setNode('node-c', false, [internal('192.0.2.13')]);
    await showsExternalIP('web', '192.0.2.11,192.0.2.12');
    const web = await client.get<Service>(SERVICES, 'web', { namespace: NS });
    expect(web.status?.loadBalancer?.ingress).toEqual([{ ip: '192.0.2.11' }, { ip: '192.0.2.12' }]);
    expect(web.spec?.ports?.[0].nodePort).toBeGreaterThanOrEqual(30000);
    await waitFor(async () => (await eventsAbout('web', 'UpdatedLoadBalancer')).length > 0, 15_000, 'an UpdatedLoadBalancer event');

    // `berth expose` makes the same kind of Service.
    const berth = await runBerth(['expose', 'deploy/web', '--type', 'LoadBalancer', '--port', '8081', '--name', 'web-berth'], { env: { ...process.env, KUBECONFIG: server.kubeconfigPath } });
    expect(berth).toMatchObject({ code: 0, stdout: 'service/web-berth exposed\n' });
    await showsExternalIP('web-berth', '192.0.2.11,192.0.2.12');

    await setNode('node-b', false, [internal('192.0.2.12')]);
    await setNode('node-c', true, [internal('192.0.2.13')]);
    await showsExternalIP('web', '192.0.2.11,192.0.2.13');
    await setNode('node-a', true, [internal('192.0.2.21')]);
    await showsExternalIP('web', '192.0.2.13,192.0.2.21');
    await client.delete(types.nodes, 'node-a');
    await showsExternalIP('web', '192.0.2.13');
    // A node with an ExternalIP: external clients use that.
    await setNode('node-c', true, [internal('192.0.2.13'), { type: 'ExternalIP', address: '203.0.113.13' }]);
    await showsExternalIP('web', '203.0.113.13');

    await setNode('node-c', false, [internal('192.0.2.13')]);
    await showsExternalIP('web', '<pending>');
    await waitFor(async () => (await eventsAbout('web', 'UnAvailableLoadBalancer')).length > 0, 15_000, 'an UnAvailableLoadBalancer event');
    await setNode('node-c', true, [internal('192.0.2.13')]);
    await showsExternalIP('web', '192.0.2.13');

    await kubectlOk(['patch', 'service', 'web', '-n', NS, '--type=merge', '-p', '{"spec":{"type":"ClusterIP"}}']);
    await showsExternalIP('web', '<none>');
    expect((await client.get<Service>(SERVICES, 'web', { namespace: NS })).status?.loadBalancer).toEqual({});
    // By now the controller has handled every change above; the classed Service is still untouched.
    expect(await externalIP('metal')).toBe('<pending>');
    expect((await client.get<Service>(SERVICES, 'metal', { namespace: NS })).status?.loadBalancer?.ingress).toBeUndefined();
  });
});
