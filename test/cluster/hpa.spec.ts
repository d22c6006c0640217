/**
 * `kubectl autoscale` on a real single-node cluster: a Deployment whose pod burns CPU is scaled up by the
 * HorizontalPodAutoscaler controller from the metrics API's readings, and back down once the load stops
 * (a file each pod's loop checks, touched with kubectl exec), after the short scale-down stabilisation
 * window patched into the autoscaler's behavior.
 */
import type { Deployment, HorizontalPodAutoscaler, Pod } from '@berth/api';
import { resourceForKind } from '@berth/api';
import { kubectlFor, waitFor, type Kubectl } from '@berth/testing';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'autoscaling';
const HPAS = resourceForKind('autoscaling/v2', 'HorizontalPodAutoscaler')!;
// Busy until /tmp/idle exists; the limit keeps each pod to a fifth of a core on a shared machine.
const MANIFEST = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: burner
  namespace: ${NS}
spec:
  replicas: 1
  selector:
    matchLabels: {app: burner}
  template:
    metadata:
      labels: {app: burner}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do if [ -e /tmp/idle ]; then sleep 1; fi; done"]
        resources:
          requests: {cpu: 50m}
          limits: {cpu: 200m}
`;

jest.setTimeout(600_000);

describe('kubectl autoscale on real containers', () => {
  let cluster: NodeCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startNodeCluster(['--horizontal-pod-autoscaler-sync-period', '5s']);
    kubectl = kubectlFor(cluster.server);
    await createNamespace(cluster.client, NS);
  }, 120_000);

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  }, 120_000);

  function ok(args: string[], input?: string): Promise<string> {
    return kubectl.ok(['-n', NS, ...args], { input, timeoutMs: 60_000 });
  }
  const replicas = async () => (await cluster.client.get<Deployment>(types.deployments, 'burner', { namespace: NS })).spec?.replicas;
  const runningPods = async () =>
    (await cluster.client.list<Pod>(types.pods, { namespace: NS, labelSelector: 'app=burner' })).items.filter(
      (p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp,
    );
  const autoscaler = () => cluster.client.get<HorizontalPodAutoscaler>(HPAS, 'burner', { namespace: NS });

  it('scales a busy Deployment up to --max and back down to --min when the load stops', async () => {
    expect(await ok(['apply', '-f', '-'], MANIFEST)).toBe('deployment.apps/burner created\n');
    await waitFor(async () => (await runningPods()).length === 1, 120_000, 'the first pod to run');

    // kubectl 1.32 sends an autoscaling/v1 HorizontalPodAutoscaler, as protobuf.
    expect(await ok(['autoscale', 'deploy/burner', '--min', '1', '--max', '3', '--cpu-percent', '50'])).toBe('horizontalpodautoscaler.autoscaling/burner autoscaled\n');
    expect(await ok(['patch', 'hpa', 'burner', '--type', 'merge', '-p', '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":15}}}}'])).toBe(
      'horizontalpodautoscaler.autoscaling/burner patched\n',
    );
    const v1 = JSON.parse(await ok(['get', 'horizontalpodautoscalers.v1.autoscaling', 'burner', '-o', 'json']));
    expect(v1.spec).toMatchObject({ minReplicas: 1, maxReplicas: 3 });

    await waitFor(async () => (await replicas()) === 3, 240_000, 'the autoscaler to scale the busy deployment to 3');
    const up = await waitFor(async () => {
      const hpa = await autoscaler();
      return hpa.status?.currentReplicas === 3 ? hpa : undefined;
    }, 120_000, 'the autoscaler to report 3 replicas');
    expect(up.status?.currentMetrics?.[0]?.resource?.current.averageUtilization).toBeGreaterThan(50);
    expect(await ok(['get', 'hpa', 'burner'])).toMatch(/^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\nburner\s+Deployment\/burner\s+cpu: \d+%\/50%\s+1\s+3\s+3\s+/);

    // The load stops: every pod's loop finds its file and sleeps.
    const pods = await waitFor(async () => {
      const running = await runningPods();
      return running.length === 3 ? running : undefined;
    }, 120_000, 'three pods to run');
    for (const pod of pods) await ok(['exec', pod.metadata.name!, '--', 'touch', '/tmp/idle']);

    await waitFor(async () => (await replicas()) === 1, 300_000, 'the autoscaler to scale the idle deployment back to 1');
    const events = await ok(['get', 'events', '--field-selector', 'involvedObject.name=burner', '-o', 'jsonpath={.items[*].message}']);
    expect(events).toContain('New size: 3;');
    expect(events).toContain('New size: 1; reason: All metrics below target');
  });
});
