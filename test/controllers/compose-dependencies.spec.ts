import type { Event, Pod } from '@berth/api';
import { DEPENDS_ON_ANNOTATION, DEPENDS_ON_GATE, PROJECT_LABEL, SERVICE_LABEL } from '@berth/compose';
import { type Kubectl, kubectlFor, runBerth, waitFor } from '@berth/testing';
import { eventsAbout, listOf, startCluster, type TestCluster, types, UNREADY_IMAGE } from './cluster';

const NS = 'shop';

/** Labels of a compose service of project `shop`, as the translation sets them (YAML flow mapping). */
const labels = (service: string) => `{${PROJECT_LABEL}: ${NS}, ${SERVICE_LABEL}: ${service}}`;

/** The pod template's metadata and gate for a service waiting on `dependsOn` (the annotation's JSON). */
const gated = (service: string, dependsOn: string) => `
    metadata:
      labels: ${labels(service)}
      annotations: {${DEPENDS_ON_ANNOTATION}: '${dependsOn}'}
    spec:
      schedulingGates: [{name: ${DEPENDS_ON_GATE}}]`;

const DB = (image: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: ${NS}, labels: ${labels('db')}}
spec:
  replicas: 1
  selector: {matchLabels: ${labels('db')}}
  template:
    metadata: {labels: ${labels('db')}}
    spec:
      containers:
      - name: main
        image: ${image}
        readinessProbe: {exec: {command: [pg_isready]}}
`;

const WEB = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}, labels: ${labels('web')}}
spec:
  replicas: 2
  selector: {matchLabels: ${labels('web')}}
  template:${gated('web', '{"db":"service_healthy"}')}
      containers: [{name: main, image: 'busybox:1'}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${NS}, labels: ${labels('agent')}}
spec:
  selector: {matchLabels: ${labels('agent')}}
  template:${gated('agent', '{"db":"service_started"}')}
      containers: [{name: main, image: 'busybox:1'}]
`;

const MIGRATE = `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: ${NS}, labels: ${labels('migrate')}}
spec:
  backoffLimit: 0
  template:
    metadata: {labels: ${labels('migrate')}}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: 'busybox:1'}]
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: ${NS}
  labels: ${labels('app')}
  annotations: {${DEPENDS_ON_ANNOTATION}: '{"migrate":"service_completed_successfully"}'}
spec:
  schedulingGates: [{name: ${DEPENDS_ON_GATE}}, {name: example.com/quota}]
  containers: [{name: main, image: 'busybox:1'}]
`;

describe('compose depends_on, honoured by the cluster: scheduling gates and the compose-dependencies controller', () => {
  let cluster: TestCluster;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: ['node-a', 'node-b'], scheduler: true });
    kubectl = kubectlFor(cluster.server);
    await kubectl.ok(['create', 'namespace', NS]);
  });

  afterAll(async () => {
    kubectl?.cleanup();
    await cluster?.cleanup();
  });

  const podsOf = async (service: string) => (await listOf<Pod>(cluster.client, types.pods, NS, `${SERVICE_LABEL}=${service}`)).filter((p) => !p.metadata.deletionTimestamp);
  const podEvents = async (name: string) => (await listOf<Event>(cluster.client, types.events, NS)).filter((e) => e.involvedObject.name === name);

  /** kubectl get pods' NAME and STATUS columns for a service's pods. */
  async function statuses(service: string): Promise<string[]> {
    const out = await kubectl.ok(['get', 'pods', '-n', NS, '-l', `${SERVICE_LABEL}=${service}`, '--no-headers']);
    return out.trim().split('\n').filter(Boolean).map((line) => line.split(/\s+/)[2]);
  }

  it('holds web (service_healthy) and agent (service_started) SchedulingGated until db is ready, then the scheduler binds them and they run', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: DB(UNREADY_IMAGE) });
    await kubectl.ok(['apply', '-f', '-'], { input: WEB });
    // Two web pods, and an agent pod per node, all made by their controllers with the template's gate.
    const waiting = await waitFor(async () => {
      const pods = [...(await podsOf('web')), ...(await podsOf('agent'))];
      return pods.length === 4 ? pods : undefined;
    }, 30_000, 'the gated pods of web and agent');
    for (const pod of waiting) {
      expect(pod.spec?.schedulingGates).toEqual([{ name: DEPENDS_ON_GATE }]);
      expect(pod.status?.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }));
    }
    // db is bound (by the scheduler) but never starts: every gated pod said what it waits for, once.
    await waitFor(async () => (await podsOf('db')).some((p) => p.spec?.nodeName), 30_000, 'db bound');
    for (const pod of waiting) {
      const events = await eventsAbout(cluster.client, NS, pod.metadata.name!, (es) => es.some((e) => e.reason === 'WaitingForDependencies'));
      const service = pod.metadata.labels![SERVICE_LABEL];
      // What db lacked when the pod was first looked at (its Deployment may not have been seen yet).
      expect(events.filter((e) => e.reason === 'WaitingForDependencies').map((e) => e.message)).toEqual([
        service === 'web' ? expect.stringMatching(/^waiting for db to be healthy \((0\/1 ready|it has no workload yet)\)$/) : 'waiting for db to be started',
      ]);
    }
    expect(await statuses('web')).toEqual(['SchedulingGated', 'SchedulingGated']);
    const berth = await runBerth(['get', 'pods', '-n', NS, '-l', `${SERVICE_LABEL}=web`], { env: { ...process.env, KUBECONFIG: cluster.server.kubeconfigPath } });
    expect(berth.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[2])).toEqual(['SchedulingGated', 'SchedulingGated']);
    for (const pod of await podsOf('web')) {
      expect(pod.spec?.nodeName).toBeUndefined();
      // The scheduler left them alone: not one attempt.
      expect((await podEvents(pod.metadata.name!)).filter((e) => e.reason === 'FailedScheduling' || e.reason === 'Scheduled')).toEqual([]);
    }

    // db becomes ready: web and agent are released, bound by the scheduler and run.
    await kubectl.ok(['set', 'image', '-n', NS, 'deployment/db', 'main=busybox:1']);
    const running = await waitFor(async () => {
      const pods = [...(await podsOf('web')), ...(await podsOf('agent'))];
      return pods.length === 4 && pods.every((p) => p.status?.phase === 'Running') ? pods : undefined;
    }, 30_000, 'web and agent running once db is ready');
    for (const pod of running) {
      expect(pod.spec?.schedulingGates).toBeUndefined();
      expect(pod.spec?.nodeName).toMatch(/^node-[ab]$/);
      const events = await eventsAbout(cluster.client, NS, pod.metadata.name!, (es) => es.some((e) => e.reason === 'Scheduled'));
      expect(events.filter((e) => e.reason === 'DependenciesMet').map((e) => e.message)).toEqual(['dependencies met: db']);
    }
    // Each agent pod went to the node its DaemonSet pinned it to.
    expect(new Set((await podsOf('agent')).map((p) => p.spec?.nodeName))).toEqual(new Set(['node-a', 'node-b']));
    expect(await statuses('web')).toEqual(['Running', 'Running']);
  });

  it('releases a pod waiting on service_completed_successfully once the Job is Complete, keeping its other gates', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: MIGRATE });
    const [job] = await waitFor(async () => {
      const pods = await podsOf('migrate');
      return pods.length === 1 && pods[0].status?.phase === 'Running' ? pods : undefined;
    }, 30_000, 'the migrate job running');
    await eventsAbout(cluster.client, NS, 'app', (es) => es.some((e) => e.reason === 'WaitingForDependencies' && e.message === 'waiting for migrate to complete'));
    expect((await cluster.client.get<Pod>(types.pods, 'app', { namespace: NS })).spec?.schedulingGates).toHaveLength(2);

    // The job's container exits 0, as its node's agent would report it.
    const finishedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const terminated = { exitCode: 0, reason: 'Completed', startedAt: finishedAt, finishedAt };
    await cluster.client.patch<Pod>(types.pods, job.metadata.name!, {
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'main', image: 'busybox:1', imageID: '', ready: false, restartCount: 0, state: { terminated } }] },
    }, { namespace: NS, type: 'merge', subresource: 'status' });
    const app = await waitFor(async () => {
      const pod = await cluster.client.get<Pod>(types.pods, 'app', { namespace: NS });
      return pod.spec?.schedulingGates?.length === 1 ? pod : undefined;
    }, 30_000, 'the depends-on gate of app removed');
    expect(app.spec?.schedulingGates).toEqual([{ name: 'example.com/quota' }]);
    expect(app.spec?.nodeName).toBeUndefined();
    expect(await statuses('app')).toEqual(['SchedulingGated']);

    // Its last gate removed by whoever set it, the scheduler binds it.
    await kubectl.ok(['patch', 'pod', 'app', '-n', NS, '--type=json', '-p', '[{"op":"remove","path":"/spec/schedulingGates"}]']);
    const bound = await waitFor(async () => {
      const pod = await cluster.client.get<Pod>(types.pods, 'app', { namespace: NS });
      return pod.status?.phase === 'Running' ? pod : undefined;
    }, 30_000, 'app running');
    expect(bound.status?.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
  });

  it('refuses with 422 a gate added after creation, and a gated pod created bound', async () => {
    const added = await kubectl.run(['patch', 'pod', 'app', '-n', NS, '--type=json', '-p', '[{"op":"add","path":"/spec/schedulingGates","value":[{"name":"example.com/late"}]}]']);
    expect(added.code).toBe(1);
    expect(added.stderr).toContain(`The Pod "app" is invalid: spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/late'`);
    const web = (await podsOf('web'))[0].metadata.name!;
    const merged = await kubectl.run(['patch', 'pod', web, '-n', NS, '--type=merge', '-p', `{"spec":{"schedulingGates":[{"name":"${DEPENDS_ON_GATE}"}]}}`]);
    expect(merged.stderr).toContain(`spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate '${DEPENDS_ON_GATE}'`);

    const bound = await kubectl.run(['apply', '-f', '-'], {
      input: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pinned","namespace":"${NS}"},"spec":{"nodeName":"node-a","schedulingGates":[{"name":"example.com/x"}],"containers":[{"name":"main","image":"busybox:1"}]}}`,
    });
    expect(bound.code).toBe(1);
    expect(bound.stderr).toContain('The Pod "pinned" is invalid: spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared');
  });

  it('keeps the gate, with a FailedDependencies warning, when the annotation is unreadable or a dependency cannot get there', async () => {
    const pod = (name: string, dependsOn: string) =>
      `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}","namespace":"${NS}","labels":{"${PROJECT_LABEL}":"${NS}","${SERVICE_LABEL}":"${name}"},` +
      `"annotations":{"${DEPENDS_ON_ANNOTATION}":${JSON.stringify(dependsOn)}}},"spec":{"schedulingGates":[{"name":"${DEPENDS_ON_GATE}"}],"containers":[{"name":"main","image":"busybox:1"}]}}`;
    await kubectl.ok(['apply', '-f', '-'], { input: pod('garbled', '{"db": service_healthy') });
    await kubectl.ok(['apply', '-f', '-'], { input: pod('impatient', '{"web":"service_healthy"}') });
    const garbled = await eventsAbout(cluster.client, NS, 'garbled', (es) => es.some((e) => e.reason === 'FailedDependencies'));
    expect(garbled.map((e) => [e.type, e.message])).toEqual([['Warning', `the annotation ${DEPENDS_ON_ANNOTATION} is not JSON`]]);
    const impatient = await eventsAbout(cluster.client, NS, 'impatient', (es) => es.some((e) => e.reason === 'FailedDependencies'));
    expect(impatient.map((e) => [e.type, e.message])).toEqual([['Warning', 'dependency failed to start: service web has no healthcheck configured']]);
    for (const name of ['garbled', 'impatient']) {
      const live = await cluster.client.get<Pod>(types.pods, name, { namespace: NS });
      expect(live.spec?.schedulingGates).toEqual([{ name: DEPENDS_ON_GATE }]);
      expect(live.spec?.nodeName).toBeUndefined();
    }
  });
});
