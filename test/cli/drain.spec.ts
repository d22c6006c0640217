import { resourceForKind, type Pod } from '@berth/api';
import { kubectlFor, type Kubectl, waitFor } from '@berth/testing';
import { listOf, startCluster, type TestCluster, types } from '../controllers/cluster';
import { deployment, NS } from '../controllers/fixtures';
import { runBerth } from './run-berth';

jest.setTimeout(180_000);

const BUDGETS = resourceForKind('policy/v1', 'PodDisruptionBudget')!;

/**
 * `berth drain` beside the real kubectl's, on a cluster of fake kubelets (pods bound and Running at once,
 * deleted when their node's agent would): the same lines where the pods are the same, evictions through
 * the server's pods/eviction and its PodDisruptionBudgets.
 */
describe('berth drain', () => {
  let cluster: TestCluster;
  let kubectl: Kubectl;
  const berth = (args: string[]) => runBerth(cluster.server.kubeconfigPath, args);
  const podsOn = async (node: string, app: string) =>
    (await listOf<Pod>(cluster.client, types.pods, NS, `app=${app}`)).filter((p) => p.spec?.nodeName === node && !p.metadata.deletionTimestamp);
  const running = (app: string, count: number) =>
    waitFor(async () => (await listOf<Pod>(cluster.client, types.pods, NS, `app=${app}`)).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).length === count, 20_000, `${app} to run`);

  beforeAll(async () => {
    cluster = await startCluster({ nodes: ['node-a', 'node-b'] });
    kubectl = kubectlFor(cluster.server);
    await cluster.client.create(types.daemonSets, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: NS },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'main', image: 'busybox:1' }] } } },
    });
    await running('agent', 2);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  });

  /**
   * kubectl groups the pods it cannot drain by reason in a Go map, so with two reasons their order differs
   * from run to run (in its `[...]` list and in the lines after it): compared with the reasons sorted.
   */
  function errorsInOrder(stderr: string): string {
    const sortedList = stderr.replace(/due to error: \[(.*)\], continuing/, (_, list: string) => `due to error: [${list.split(/, (?=cannot delete )/).sort().join(', ')}], continuing`);
    const lines = sortedList.split('\n');
    const reasons = lines.filter((line) => line.startsWith('cannot delete ')).sort();
    return lines.map((line) => (line.startsWith('cannot delete ') ? reasons.shift()! : line)).join('\n');
  }

  /** Runs `drain` by berth, uncordons, runs it by kubectl, uncordons: both outputs. */
  async function both(args: string[]) {
    const ours = await berth(args);
    await cluster.client.patch(types.nodes, 'node-a', { spec: { unschedulable: null } }, { type: 'merge' });
    const theirs = await kubectl.run(args, { timeoutMs: 60_000 });
    await cluster.client.patch(types.nodes, 'node-a', { spec: { unschedulable: null } }, { type: 'merge' });
    return { ours, theirs };
  }

  it('prints kubectl\'s lines: refusals, warnings, dry runs, a budget that holds until the timeout', async () => {
    await cluster.client.create(types.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: NS, labels: { app: 'bare' } }, spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'busybox:1' }] } });
    await cluster.client.create(types.deployments, deployment('held', 2));
    await running('held', 2);
    await cluster.client.create(BUDGETS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'held', namespace: NS }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'held' } } } });
    await waitFor(async () => (await cluster.client.get<Pod & { status?: { expectedPods?: number } }>(BUDGETS, 'held', { namespace: NS })).status?.expectedPods === 2, 20_000, 'the budget to count');
    expect(await podsOn('node-a', 'held')).toHaveLength(1);
    for (const args of [
      ['drain', 'node-a'],
      ['drain', 'node-a', '--pod-selector=app=agent'],
      ['drain', 'node-a', '--ignore-daemonsets', '--dry-run=client'],
      ['drain', 'node-a', '--ignore-daemonsets', '--pod-selector=app=none'],
      ['drain', 'node-a', '--ignore-daemonsets', '--pod-selector=app=bare'],
      ['drain', 'node-a', '--ignore-daemonsets', '--pod-selector=app=bare', '--force', '--dry-run=server'],
      ['drain', 'node-a', '--ignore-daemonsets', '--pod-selector=app=held', '--timeout=6s'],
    ]) {
      const { ours, theirs } = await both(args);
      expect({ args, ...ours, stderr: errorsInOrder(ours.stderr) }).toEqual({ args, ...theirs, stderr: errorsInOrder(theirs.stderr) });
    }
    expect(await podsOn('node-a', 'held')).toHaveLength(1);
    expect(await podsOn('node-a', 'bare')).toHaveLength(1);
  });

  it('evicts once the budget allows it, deletes with --disable-eviction, and leaves DaemonSet pods', async () => {
    await cluster.client.patch(BUDGETS, 'held', { spec: { minAvailable: 1 } }, { namespace: NS, type: 'merge' });
    await waitFor(async () => (await cluster.client.get<Pod & { status?: { disruptionsAllowed?: number } }>(BUDGETS, 'held', { namespace: NS })).status?.disruptionsAllowed === 1, 20_000, 'the budget to allow one');
    const [held] = await podsOn('node-a', 'held');
    const evicted = await berth(['drain', 'node-a', '--ignore-daemonsets', '--pod-selector=app=held', '--timeout=60s']);
    expect(evicted).toMatchObject({ code: 0, stderr: '' });
    expect(evicted.stdout).toBe(`node/node-a cordoned\nevicting pod default/${held.metadata.name}\npod/${held.metadata.name} evicted\nnode/node-a drained\n`);
    expect((await podsOn('node-a', 'held')).map((p) => p.metadata.name)).not.toContain(held.metadata.name);
    await running('held', 2);

    const deleted = await berth(['drain', 'node-a', '--ignore-daemonsets', '--pod-selector=app=bare', '--force', '--disable-eviction', '--grace-period=0']);
    expect(deleted).toMatchObject({ code: 0, stderr: 'Warning: deleting Pods that declare no controller: default/bare\n' });
    expect(deleted.stdout).toBe('node/node-a already cordoned\ndeleting pod default/bare\npod/bare deleted\nnode/node-a drained\n');
    expect(await podsOn('node-a', 'bare')).toEqual([]);
    expect(await podsOn('node-a', 'agent')).toHaveLength(1);
    expect((await kubectl.run(['get', 'node', 'node-a', '-o', 'jsonpath={.spec.unschedulable}'])).stdout).toBe('true');
  });

  it('refuses what is not a node, in one line', async () => {
    expect(await berth(['drain', 'daemonset/agent'])).toMatchObject({ code: 1, stdout: '', stderr: 'error: unable to act on daemonset "agent": only nodes\n' });
  });
});
