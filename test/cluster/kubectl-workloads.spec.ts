/**
 * The real kubectl against a single-node cluster running real containers: apply, get -o wide, describe,
 * scale, rollout status and delete behave as they do against Kubernetes.
 */
import { LABELS } from '@berth/agent';
import type { Deployment, Node, Pod } from '@berth/api';
import { kubectlFor, kubectlTable, waitFor, type Kubectl } from '@berth/testing';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'kubectl-workloads';
const MANIFEST = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: ${NS}
spec:
  replicas: 2
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`;

describe('kubectl against a real single-node cluster', () => {
  let cluster: NodeCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startNodeCluster();
    kubectl = kubectlFor(cluster.server);
    await createNamespace(cluster.client, NS);
  }, 120_000);

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  }, 60_000);

  function ok(args: string[], timeoutMs = 30_000): Promise<string> {
    return kubectl.ok(['-n', NS, ...args], { timeoutMs });
  }
  const listPods = async () => (await cluster.client.list<Pod>(types.pods, { namespace: NS, labelSelector: 'app=hello' })).items;
  const getDeployment = () => cluster.client.get<Deployment>(types.deployments, 'hello', { namespace: NS });

  it('applies a Deployment and `rollout status` returns once its pods are running', async () => {
    const kubectlApply = await kubectl.run(['apply', '-f', '-'], { input: MANIFEST });
    expect(kubectlApply).toMatchObject({ code: 0, stdout: 'deployment.apps/hello created\n' });
    expect(await ok(['rollout', 'status', 'deployment/hello', '--timeout=120s'], 130_000)).toContain('"hello" successfully rolled out');
    expect((await getDeployment()).status).toMatchObject({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
    const pods = await listPods();
    expect(pods.map((p) => p.status?.phase)).toEqual(['Running', 'Running']);
  });

  it('`get pods -o wide` shows each pod with its IP and node', async () => {
    const [node] = (await cluster.client.list<Node>(types.nodes)).items;
    const rows = kubectlTable(await ok(['get', 'pods', '-o', 'wide']));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ READY: '1/1', STATUS: 'Running', RESTARTS: '0', NODE: node.metadata.name });
      expect(row.IP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
  });

  it("`describe pod` shows the scheduler's and the agent's events", async () => {
    const [pod] = await listPods();
    const output = await waitFor(async () => {
      const text = await ok(['describe', 'pod', pod.metadata.name!]);
      return ['Scheduled', 'Pulled', 'Created', 'Started'].every((reason) => new RegExp(`Normal\\s+${reason}\\s`).test(text)) ? text : undefined;
    }, 30_000, 'the pod events in kubectl describe');
    expect(output).toContain(`Successfully assigned ${NS}/${pod.metadata.name} to`);
    expect(output).toMatch(/Status:\s+Running/);
    expect(output).toContain('Container image "busybox:latest" already present on machine');
  });

  it('`scale` adds pods, and `rollout status` waits for them', async () => {
    expect(await ok(['scale', 'deployment/hello', '--replicas=3'])).toContain('deployment.apps/hello scaled');
    expect(await ok(['rollout', 'status', 'deployment/hello', '--timeout=120s'], 130_000)).toContain('successfully rolled out');
    expect((await getDeployment()).status).toMatchObject({ replicas: 3, availableReplicas: 3 });
    expect((await listPods()).filter((p) => p.status?.phase === 'Running')).toHaveLength(3);
  });

  it('`delete pod` returns once the pod is gone, and its ReplicaSet replaces it', async () => {
    const [victim] = await listPods();
    expect(await ok(['delete', 'pod', victim.metadata.name!], 60_000)).toBe(`pod "${victim.metadata.name}" deleted\n`);
    const names = (await listPods()).map((p) => p.metadata.name);
    expect(names).not.toContain(victim.metadata.name);
    expect(await cluster.runtime.listContainers({ all: true, labels: { [LABELS.podUid]: victim.metadata.uid! } })).toEqual([]);
    expect(await ok(['rollout', 'status', 'deployment/hello', '--timeout=120s'], 130_000)).toContain('successfully rolled out');
  });

  it('`delete pod --force --grace-period=0` removes the pod at once, and the agent kills its containers', async () => {
    const [victim] = await listPods();
    const result = await kubectl.run(['-n', NS, 'delete', 'pod', victim.metadata.name!, '--force', '--grace-period=0']);
    expect(result).toMatchObject({ code: 0, stdout: `pod "${victim.metadata.name}" force deleted\n` });
    expect((await listPods()).map((p) => p.metadata.name)).not.toContain(victim.metadata.name);
    await waitFor(async () => (await cluster.runtime.listContainers({ all: true, labels: { [LABELS.podUid]: victim.metadata.uid! } })).length === 0, 30_000, 'its containers to go');
    expect(await ok(['rollout', 'status', 'deployment/hello', '--timeout=120s'], 130_000)).toContain('successfully rolled out');
  });

  it('`delete deployment --cascade=foreground` returns once every pod is gone, leaving nothing on the node', async () => {
    await cluster.observe(NS);
    expect(await ok(['delete', 'deployment', 'hello', '--cascade=foreground'], 90_000)).toBe('deployment.apps "hello" deleted\n');
    expect(await listPods()).toEqual([]);
    expect(await cluster.leftovers(NS)).toEqual([]);
  });
});
