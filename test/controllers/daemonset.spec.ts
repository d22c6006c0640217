import type { ControllerRevision, DaemonSet, Node, Pod } from '@berth/api';
import { CONTROLLER_REVISION_HASH_LABEL, targetNodeName } from '@berth/controllers';
import { type Kubectl, kubectlFor, waitFor } from '@berth/testing';
import { listOf, startCluster, type TestCluster, types } from './cluster';
import { NS } from './fixtures';

const MANIFEST = (image: string) => `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: ${NS}
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: main
        image: ${image}
`;

describe('DaemonSet controller against a real apiserver, driven by kubectl', () => {
  let cluster: TestCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: ['node-a', 'node-b'] });
    kubectl = kubectlFor(cluster.server);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  });

  function ok(...args: string[]): Promise<string> {
    return kubectl.ok(args, { timeoutMs: 60_000 });
  }

  const livePods = async () => (await listOf<Pod>(cluster.client, types.pods, NS, 'app=agent')).filter((p) => !p.metadata.deletionTimestamp);

  /** The running pods by node, once they are exactly one per wanted node with the wanted image. */
  async function runningOn(nodes: string[], image: string): Promise<Map<string, Pod>> {
    return waitFor(
      async () => {
        const pods = await livePods();
        const byNode = new Map(pods.map((p) => [targetNodeName(p)!, p]));
        const settled =
          pods.length === nodes.length &&
          nodes.every((n) => byNode.get(n)?.spec?.nodeName === n && byNode.get(n)?.status?.phase === 'Running' && byNode.get(n)?.spec?.containers[0].image === image);
        const ds = await cluster.client.get<DaemonSet>(types.daemonSets, 'agent', { namespace: NS });
        const s = ds.status;
        const counted = s?.desiredNumberScheduled === nodes.length && s.numberAvailable === nodes.length && s.updatedNumberScheduled === nodes.length && (s.observedGeneration ?? 0) >= (ds.metadata.generation ?? 0);
        return settled && counted ? byNode : undefined;
      },
      30_000,
      `one running ${image} pod on each of ${nodes.join(', ')}`,
    );
  }

  it('runs one pod per node, reported as kubectl prints it', async () => {
    const applied = await kubectl.run(['apply', '-f', '-'], { input: MANIFEST('busybox:1') });
    expect(applied).toMatchObject({ code: 0, stdout: 'daemonset.apps/agent created\n' });
    const pods = await runningOn(['node-a', 'node-b'], 'busybox:1');
    for (const pod of pods.values()) {
      expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'DaemonSet', name: 'agent', controller: true })]);
      expect(pod.spec?.tolerations).toEqual(expect.arrayContaining([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]));
    }
    expect(await ok('rollout', 'status', 'ds/agent')).toBe('daemon set "agent" successfully rolled out\n');
    const table = (await ok('get', 'ds', 'agent')).split('\n');
    expect(table[0].split(/\s{2,}/)).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE']);
    expect(table[1].split(/\s+/).slice(0, 7)).toEqual(['agent', '2', '2', '2', '2', '2', '<none>']);
  });

  it('gives a node that joins its pod, and takes the pod of a node that leaves away', async () => {
    await cluster.kubelets.addNode('node-c');
    await runningOn(['node-a', 'node-b', 'node-c'], 'busybox:1');
    cluster.kubelets.stopNode('node-b');
    await cluster.client.delete(types.nodes, 'node-b');
    await runningOn(['node-a', 'node-c'], 'busybox:1');
  });

  it('leaves a pod where an untolerated NoSchedule taint came later, and removes it for NoExecute', async () => {
    const taint = (effect: string) => ok('taint', 'node', 'node-c', `dedicated=db:${effect}`);
    const pods = await runningOn(['node-a', 'node-c'], 'busybox:1');
    await taint('NoSchedule');
    // No longer a node that should run it, so counted misscheduled, but not evicted.
    const ds = await waitFor(
      async () => {
        const current = await cluster.client.get<DaemonSet>(types.daemonSets, 'agent', { namespace: NS });
        return current.status?.numberMisscheduled === 1 ? current : undefined;
      },
      10_000,
      'node-c counted misscheduled',
    );
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 1 });
    expect((await livePods()).map((p) => p.metadata.name).sort()).toEqual([...pods.values()].map((p) => p.metadata.name).sort());
    await taint('NoExecute');
    await waitFor(async () => ((await livePods()).every((p) => targetNodeName(p) !== 'node-c') ? true : undefined), 20_000, 'the pod on node-c gone');
    await ok('taint', 'node', 'node-c', 'dedicated-');
    await runningOn(['node-a', 'node-c'], 'busybox:1');
  });

  it('rolls a new template out node by node, and kubectl rollout history and undo read its revisions', async () => {
    const before = await runningOn(['node-a', 'node-c'], 'busybox:1');
    await ok('set', 'image', 'ds/agent', 'main=busybox:2');
    expect(await ok('rollout', 'status', 'ds/agent', '--timeout=60s')).toContain('daemon set "agent" successfully rolled out');
    const after = await runningOn(['node-a', 'node-c'], 'busybox:2');
    for (const node of ['node-a', 'node-c']) expect(after.get(node)!.metadata.name).not.toBe(before.get(node)!.metadata.name);

    const revisions = await listOf<ControllerRevision>(cluster.client, types.controllerRevisions, NS);
    expect(revisions.map((r) => r.revision).sort()).toEqual([1, 2]);
    const current = revisions.find((r) => r.revision === 2)!;
    const hash = current.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
    expect(current.metadata.name).toBe(`agent-${hash}`);
    for (const pod of after.values()) expect(pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]).toBe(hash);

    const history = await ok('rollout', 'history', 'ds/agent');
    expect(history.trim().split('\n').map((l) => l.trim().split(/\s+/))).toEqual([['daemonset.apps/agent'], ['REVISION', 'CHANGE-CAUSE'], ['1', '<none>'], ['2', '<none>']]);
    expect(await ok('rollout', 'history', 'ds/agent', '--revision=1')).toContain('busybox:1');
    const revisionTable = (await ok('get', 'controllerrevisions')).split('\n');
    expect(revisionTable[0].split(/\s{2,}/)).toEqual(['NAME', 'CONTROLLER', 'REVISION', 'AGE']);
    expect(revisionTable.find((l) => l.startsWith(current.metadata.name!))!.split(/\s+/).slice(0, 3)).toEqual([current.metadata.name, 'daemonset.apps/agent', '2']);

    expect(await ok('rollout', 'undo', 'ds/agent')).toBe('daemonset.apps/agent rolled back\n');
    await runningOn(['node-a', 'node-c'], 'busybox:1');
    const renumbered = await listOf<ControllerRevision>(cluster.client, types.controllerRevisions, NS);
    expect(renumbered.map((r) => [r.revision, r.metadata.name]).sort()).toEqual(
      [
        [2, current.metadata.name],
        [3, revisions.find((r) => r.revision === 1)!.metadata.name],
      ].sort(),
    );
  });

  it('surges a new pod beside the old one when maxSurge is set', async () => {
    await ok('patch', 'ds/agent', '--type=merge', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"maxUnavailable":0,"maxSurge":1}}}}');
    await ok('set', 'image', 'ds/agent', 'main=busybox:3');
    expect(await ok('rollout', 'status', 'ds/agent', '--timeout=60s')).toContain('successfully rolled out');
    await runningOn(['node-a', 'node-c'], 'busybox:3');
  });

  it('leaves OnDelete pods alone until they are deleted', async () => {
    await ok('patch', 'ds/agent', '--type=merge', '-p', '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}');
    await ok('set', 'image', 'ds/agent', 'main=busybox:4');
    const ds = await waitFor(async () => {
      const current = await cluster.client.get<DaemonSet>(types.daemonSets, 'agent', { namespace: NS });
      return (current.status?.observedGeneration ?? 0) >= (current.metadata.generation ?? 0) ? current : undefined;
    }, 10_000, 'the new generation observed');
    expect(ds.status?.updatedNumberScheduled).toBe(0);
    const rollout = await kubectl.run(['rollout', 'status', 'ds/agent']);
    expect(rollout.stderr).toContain('rollout status is only available for RollingUpdate strategy type');
    const [first] = await livePods();
    await ok('delete', 'pod', first.metadata.name!);
    await waitFor(
      async () => ((await livePods()).filter((p) => p.spec?.containers[0].image === 'busybox:4' && p.status?.phase === 'Running').length === 1 ? true : undefined),
      20_000,
      'one pod replaced with the new template',
    );
  });

  it('is deleted with its pods and revisions by the garbage collector', async () => {
    await ok('delete', 'ds', 'agent');
    await waitFor(async () => ((await livePods()).length === 0 && (await listOf(cluster.client, types.controllerRevisions, NS)).length === 0 ? true : undefined), 20_000, 'pods and revisions gone');
    const nodes = await listOf<Node>(cluster.client, types.nodes, '');
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['node-a', 'node-c']);
  });
});
