/**
 * compose's depends_on on a real single-node cluster (`berth server` with its own scheduler, controllers,
 * agent and runtimed): a gated `web` waits SchedulingGated while `db`'s container runs but its healthcheck
 * (readiness probe) fails, and starts once the probe passes.
 */
import type { Pod } from '@berth/api';
import { DEPENDS_ON_ANNOTATION, DEPENDS_ON_GATE, PROJECT_LABEL, SERVICE_LABEL } from '@berth/compose';
import { kubectlFor, kubectlTable, waitFor, type Kubectl } from '@berth/testing';
import { createNamespace, startNodeCluster, types, type NodeCluster } from '../support/node-cluster';

const NS = 'depends-on-e2e';
const labels = (service: string) => `{${PROJECT_LABEL}: ${NS}, ${SERVICE_LABEL}: ${service}}`;

const MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: ${NS}, labels: ${labels('db')}}
spec:
  replicas: 1
  selector: {matchLabels: ${labels('db')}}
  template:
    metadata: {labels: ${labels('db')}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:1.36
        command: [sleep, '3600']
        readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}, labels: ${labels('web')}}
spec:
  replicas: 1
  selector: {matchLabels: ${labels('web')}}
  template:
    metadata:
      labels: ${labels('web')}
      annotations: {${DEPENDS_ON_ANNOTATION}: '{"db":"service_healthy"}'}
    spec:
      schedulingGates: [{name: ${DEPENDS_ON_GATE}}]
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:1.36
        command: [sleep, '3600']
`;

describe('depends_on on real containers', () => {
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

  const ok = (args: string[], input?: string) => kubectl.ok(['-n', NS, ...args], { timeoutMs: 60_000, input });
  const podOf = async (service: string) =>
    waitFor(async () => (await cluster.client.list<Pod>(types.pods, { namespace: NS, labelSelector: `${SERVICE_LABEL}=${service}` })).items[0], 30_000, `a pod of ${service}`);

  it('starts web only once db is healthy, and leaves nothing on the host once both are deleted', async () => {
    await ok(['apply', '-f', '-'], MANIFESTS);
    const db = await waitFor(async () => {
      const pod = await podOf('db');
      return pod.status?.containerStatuses?.[0]?.state?.running ? pod : undefined;
    }, 60_000, 'db running (not ready)');
    await waitFor(async () => {
      const events = (await ok(['get', 'events', '--field-selector', 'reason=WaitingForDependencies', '-o', 'name'])).trim();
      return events || undefined;
    }, 30_000, 'web said what it waits for');
    const [waiting] = kubectlTable(await ok(['get', 'pods', '-l', `${SERVICE_LABEL}=web`]));
    expect(waiting.STATUS).toBe('SchedulingGated');
    expect((await podOf('web')).spec?.nodeName).toBeUndefined();

    // db's healthcheck passes: db becomes Ready, web is released, bound and started.
    await ok(['exec', db.metadata.name!, '--', 'touch', '/tmp/ready']);
    expect(await ok(['wait', '--for=condition=Ready', 'pod', '-l', `${SERVICE_LABEL}=web`, '--timeout=90s'])).toMatch(/condition met\n$/);
    const web = await podOf('web');
    expect(web.spec?.schedulingGates).toBeUndefined();
    expect(web.spec?.nodeName).toBeTruthy();
    const [running] = kubectlTable(await ok(['get', 'pods', '-l', `${SERVICE_LABEL}=web`]));
    expect(running.STATUS).toBe('Running');

    await cluster.observe(NS);
    await ok(['delete', 'deployment', 'web', 'db']);
    await waitFor(async () => ((await cluster.client.list<Pod>(types.pods, { namespace: NS })).items.length === 0 ? true : undefined), 60_000, 'the pods gone');
    await waitFor(async () => ((await cluster.leftovers(NS)).length === 0 ? true : undefined), 60_000, 'nothing left on the host');
  }, 240_000);
});
