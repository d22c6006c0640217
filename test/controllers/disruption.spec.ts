import { resourceForKind, type Pod, type PodDisruptionBudget, type ServiceAccount } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { kubectlFor, type Kubectl, waitFor } from '@berth/testing';
import { listOf, startCluster, type TestCluster, types } from './cluster';
import { deployment, NS } from './fixtures';

const BUDGETS = resourceForKind('policy/v1', 'PodDisruptionBudget')!;
const SERVICE_ACCOUNTS = resourceForKind('v1', 'ServiceAccount')!;
const NAMESPACES = resourceForKind('v1', 'Namespace')!;

function budget(name: string, spec: PodDisruptionBudget['spec']): PodDisruptionBudget {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: NS }, spec: { selector: { matchLabels: { app: name } }, ...spec } };
}

jest.setTimeout(180_000);

describe('service accounts, disruption budgets and eviction against a real apiserver', () => {
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

  const podsOf = (name: string) => listOf<Pod>(cluster.client, types.pods, NS, `app=${name}`);
  const running = async (name: string, replicas: number) =>
    waitFor(async () => (await podsOf(name)).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).length === replicas, 20_000, `${name} to run`);
  const statusOf = async (name: string) => (await cluster.client.get<PodDisruptionBudget>(BUDGETS, name, { namespace: NS })).status;
  const account = (namespace: string) =>
    cluster.client.get<ServiceAccount>(SERVICE_ACCOUNTS, 'default', { namespace }).catch((err) => (isBerthError(err, 'NotFound') ? undefined : Promise.reject(err)));

  it('gives every namespace a default service account, and gives it back when it is deleted', async () => {
    await waitFor(() => account('default'), 20_000, 'the default namespace to get its account');
    await cluster.client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    const first = await waitFor(() => account('team'), 20_000, 'a new namespace to get its account');
    expect((await kubectl.run(['delete', 'serviceaccount', 'default', '-n', 'team'])).code).toBe(0);
    const again = await waitFor(async () => {
      const now = await account('team');
      return now && now.metadata.uid !== first.metadata.uid ? now : undefined;
    }, 20_000, 'the account to come back');
    expect(again.metadata.name).toBe('default');
    const table = await kubectl.run(['get', 'sa', '-n', 'team']);
    expect(table.stdout).toMatch(/^NAME\s+SECRETS\s+AGE\ndefault\s+0\s+/);
  });

  it('keeps a budget\'s status true to the pods it covers and to their Deployment\'s scale', async () => {
    await cluster.client.create(types.deployments, deployment('counted', 3));
    await running('counted', 3);
    await cluster.client.create(BUDGETS, budget('counted', { minAvailable: 2 }));
    await waitFor(async () => (await statusOf('counted'))?.disruptionsAllowed === 1, 20_000, 'the budget to allow one disruption');
    expect(await statusOf('counted')).toMatchObject({ expectedPods: 3, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1, observedGeneration: 1 });

    // maxUnavailable counts against the Deployment's desired scale: 50% of 3, rounded up, may go.
    await cluster.client.patch(BUDGETS, 'counted', { spec: { minAvailable: null, maxUnavailable: '50%' } }, { namespace: NS, type: 'merge' });
    await waitFor(async () => (await statusOf('counted'))?.observedGeneration === 2, 20_000, 'the budget change to be seen');
    expect(await statusOf('counted')).toMatchObject({ expectedPods: 3, currentHealthy: 3, desiredHealthy: 1, disruptionsAllowed: 2 });
    expect((await statusOf('counted'))?.conditions).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' })]);

    const table = await kubectl.run(['get', 'pdb', 'counted', '-n', NS]);
    expect(table.stdout).toMatch(/^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\ncounted\s+N\/A\s+50%\s+2\s+/);
  });

  it('kubectl drain evicts through the budget: blocked (429) while it allows nothing, through once it does', async () => {
    await cluster.client.create(types.deployments, deployment('drained', 2));
    await running('drained', 2);
    await cluster.client.create(BUDGETS, budget('drained', { minAvailable: 2 }));
    await waitFor(async () => (await statusOf('drained'))?.expectedPods === 2, 20_000, 'the budget to count the pods');
    const onA = async () => (await podsOf('drained')).filter((p) => p.spec?.nodeName === 'node-a' && !p.metadata.deletionTimestamp);
    expect((await onA()).length).toBeGreaterThan(0);

    const blocked = await kubectl.run(['drain', 'node-a', '--ignore-daemonsets', '--timeout=8s', '--pod-selector=app=drained'], { timeoutMs: 60_000 });
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
    expect((await onA()).length).toBeGreaterThan(0);

    await cluster.client.patch(BUDGETS, 'drained', { spec: { minAvailable: 1 } }, { namespace: NS, type: 'merge' });
    const drained = await kubectl.run(['drain', 'node-a', '--ignore-daemonsets', '--timeout=60s', '--pod-selector=app=drained'], { timeoutMs: 90_000 });
    expect(drained.stderr).toBe('');
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(/evicting pod default\/drained-/);
    expect(drained.stdout).toContain('node/node-a drained');
    expect(await onA()).toEqual([]);
    // The Deployment's replacements go to the node left; the budget sees them healthy again.
    await running('drained', 2);
    await waitFor(async () => (await statusOf('drained'))?.currentHealthy === 2, 20_000, 'the budget to see both pods again');
    expect((await kubectl.run(['uncordon', 'node-a'])).code).toBe(0);
  });

  it('kubectl create token issues a token the API server accepts as the service account', async () => {
    await waitFor(() => account('default'), 20_000, 'the default account');
    const created = await kubectl.run(['create', 'token', 'default', '--duration=15m']);
    expect(created.stderr).toBe('');
    const token = created.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const discovery = await kubectl.run(['--token', token, 'get', '--raw', '/api']);
    expect(discovery.code).toBe(0);
    expect(JSON.parse(discovery.stdout)).toMatchObject({ kind: 'APIVersions' });
    const denied = await kubectl.run(['--token', token, 'get', 'pods']);
    expect(denied.stderr).toContain('User "system:serviceaccount:default:default" cannot list resource "pods"');
    const wrong = await kubectl.run(['--token', `${token.slice(0, -2)}xx`, 'get', '--raw', '/api']);
    expect(wrong.stderr).toMatch(/Unauthorized|must be logged in/);
  });
});
