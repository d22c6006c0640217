import { resourceForKind, type Deployment, type HorizontalPodAutoscaler, type HorizontalPodAutoscalerBehavior, type HorizontalPodAutoscalerStatus, type Pod } from '@berth/api';
import type { PodMetricsSource, PodUsage } from '@berth/controllers';
import { kubectlFor, type Kubectl, waitFor } from '@berth/testing';
import { eventsAbout, listOf, startCluster, type TestCluster, types } from './cluster';
import { NS } from './fixtures';

const HPAS = resourceForKind('autoscaling/v2', 'HorizontalPodAutoscaler')!;

/** The metrics API as the controller sees it: each pod of an app at the CPU (cores) the test sets. */
class FakeMetrics implements PodMetricsSource {
  readonly cpu = new Map<string, number>();
  constructor(private readonly pods: () => Promise<Pod[]>) {}

  async podUsage(namespace: string, labelSelector: string): Promise<PodUsage[]> {
    const app = /^app=(.+)$/.exec(labelSelector)?.[1] ?? '';
    const pods = (await this.pods()).filter((p) => p.metadata.namespace === namespace && p.metadata.labels?.app === app && p.status?.phase === 'Running');
    return pods.map((p) => ({ name: p.metadata.name!, timestamp: Date.now(), windowMs: 0, containers: [{ name: 'main', cpu: this.cpu.get(app) ?? 0, memory: 1 << 20 }] }));
  }
}

function deployment(name: string, request = true): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'busybox:1', ...(request ? { resources: { requests: { cpu: '100m' } } } : {}) }] },
      },
    },
  };
}

function autoscaler(name: string, behavior?: HorizontalPodAutoscalerBehavior): HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: NS },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
      ...(behavior ? { behavior } : {}),
    },
  };
}

jest.setTimeout(180_000);

describe('the HorizontalPodAutoscaler controller against a real apiserver (fake metrics)', () => {
  let cluster: TestCluster;
  let kubectl: Kubectl;
  let metrics: FakeMetrics;

  beforeAll(async () => {
    metrics = new FakeMetrics(() => listOf<Pod>(cluster.client, types.pods, NS));
    cluster = await startCluster({ nodes: ['node-a'], hpaMetrics: metrics, hpaSyncPeriodMs: 300 });
    kubectl = kubectlFor(cluster.server);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  });

  const replicasOf = async (name: string) => (await cluster.client.get<Deployment>(types.deployments, name, { namespace: NS })).spec?.replicas;
  const statusOf = async (name: string) => (await cluster.client.get<HorizontalPodAutoscaler>(HPAS, name, { namespace: NS })).status;
  /** The autoscaler's status once check holds for it. */
  const statusWhere = (name: string, check: (status: HorizontalPodAutoscalerStatus) => boolean | undefined, what: string) =>
    waitFor(async () => {
      const status = await statusOf(name);
      return status && check(status) ? status : undefined;
    }, 30_000, what);
  const conditionOf = (status: HorizontalPodAutoscalerStatus, type: string) => status.conditions?.find((c) => c.type === type);

  it('scales a busy Deployment up through its scale subresource, and back down after the stabilisation window', async () => {
    await cluster.client.create(types.deployments, deployment('busy'));
    metrics.cpu.set('busy', 0.2);
    await cluster.client.create(HPAS, autoscaler('busy', { scaleDown: { stabilizationWindowSeconds: 2 } }));
    // 200% of the request against 50%: ceil(1 × 4) = 4, within the +4 pods scale-up rate and maxReplicas.
    await waitFor(async () => (await replicasOf('busy')) === 4, 30_000, 'the deployment to be scaled up to 4');
    const up = await statusWhere('busy', (status) => status.currentReplicas === 4, 'the autoscaler to report 4 replicas');
    expect(up.desiredReplicas).toBe(4);
    expect(up.currentMetrics?.[0]?.resource?.name).toBe('cpu');
    expect(up.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(expect.arrayContaining(['AbleToScale=True', 'ScalingActive=True']));
    await eventsAbout(cluster.client, NS, 'busy', (events) => events.some((e) => e.reason === 'SuccessfulRescale' && e.message === 'New size: 4; reason: cpu resource utilization (percentage of request) above target'));

    metrics.cpu.set('busy', 0.001);
    await waitFor(async () => (await replicasOf('busy')) === 1, 60_000, 'the deployment to be scaled back down to 1');
    const down = await statusWhere('busy', (status) => status.currentReplicas === 1, 'the autoscaler to report 1 replica');
    expect(down.desiredReplicas).toBe(1);
    await eventsAbout(cluster.client, NS, 'busy', (events) => events.some((e) => e.reason === 'SuccessfulRescale' && e.message === 'New size: 1; reason: All metrics below target'));
    const described = await kubectl.run(['describe', 'hpa', 'busy', '-n', NS]);
    expect(described.stdout).toMatch(/resource cpu on pods\s+\(as a percentage of request\):\s+1% \(1m\) \/ 50%/);
    expect(described.stdout).toMatch(/ScalingActive\s+True\s+ValidMetricFound\s+the HPA was able to successfully calculate a replica count from cpu resource utilization \(percentage of request\)/);
    expect(described.stdout).toMatch(/Normal\s+SuccessfulRescale\s+.*New size: 4; reason: cpu resource utilization \(percentage of request\) above target/);
    const table = await kubectl.run(['get', 'hpa', 'busy', '-n', NS]);
    expect(table.stdout).toMatch(/^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\nbusy\s+Deployment\/busy\s+cpu: 1%\/50%\s+1\s+4\s+1\s+/);
  });

  it('reports a target whose pods request no CPU as not scalable, and leaves its replicas alone', async () => {
    await cluster.client.create(types.deployments, deployment('unrequested', false));
    metrics.cpu.set('unrequested', 0.5);
    await cluster.client.create(HPAS, autoscaler('unrequested'));
    const status = await statusWhere('unrequested', (now) => conditionOf(now, 'ScalingActive')?.message?.includes('missing request'), 'the autoscaler to report that it cannot scale');
    expect(conditionOf(status, 'ScalingActive')).toMatchObject({ status: 'False', reason: 'FailedGetResourceMetric' });
    expect(conditionOf(status, 'ScalingActive')?.message).toContain('missing request for cpu in container main');
    // The target's scale was read: that part holds, and is reported.
    expect(conditionOf(status, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededGetScale' });
    expect(status.currentReplicas).toBe(1);
    expect(await replicasOf('unrequested')).toBe(1);
  });

  it('reports a target that does not exist', async () => {
    const missing = autoscaler('nowhere');
    await cluster.client.create(HPAS, missing);
    const status = await statusWhere('nowhere', (now) => conditionOf(now, 'AbleToScale')?.status === 'False', 'the autoscaler to report the missing target');
    expect(conditionOf(status, 'AbleToScale')).toMatchObject({ reason: 'FailedGetScale' });
    expect(conditionOf(status, 'AbleToScale')?.message).toContain('Deployment/nowhere not found');
  });
});
