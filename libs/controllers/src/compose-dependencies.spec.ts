import type { DaemonSet, Deployment, Job, KubeObject, Pod, StatefulSet } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { DEPENDS_ON_ANNOTATION, DEPENDS_ON_GATE, PROJECT_LABEL, SERVICE_LABEL } from '@berth/compose';
import { ComposeDependenciesController, decide, dependencyState, type ServiceView } from './compose-dependencies';
import { drain, memoryHarness, waitUntil } from './spec-harness';

const probe = { exec: { command: ['true'] } };
const template = (healthcheck: boolean) => ({ spec: { containers: [{ name: 'c', image: 'busybox', ...(healthcheck ? { readinessProbe: probe } : {}) }] } });

function pod(phase: string, deleting = false): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...(deleting ? { deletionTimestamp: '2026-12-07T10:00:00Z' } : {}) }, spec: { containers: [] }, status: { phase } } as Pod;
}
function deployment(replicas: number, ready: number, healthcheck = true): Deployment {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'db' }, spec: { replicas, selector: {}, template: template(healthcheck) }, status: { readyReplicas: ready } } as Deployment;
}
function daemonSet(desired: number, ready: number): DaemonSet {
  return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'db' }, spec: { selector: {}, template: template(true) }, status: { desiredNumberScheduled: desired, numberReady: ready } } as unknown as DaemonSet;
}
function statefulSet(replicas: number, ready: number): StatefulSet {
  return { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas, selector: {}, template: template(true) }, status: { readyReplicas: ready } } as unknown as StatefulSet;
}
function job(condition?: 'Complete' | 'Failed', message?: string): Job {
  const conditions = condition ? [{ type: condition, status: 'True', ...(message ? { message } : {}) }] : [];
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate' }, spec: { template: template(false) }, status: { conditions } } as unknown as Job;
}
const view = (parts: Partial<ServiceView> = {}): ServiceView => ({ pods: [], ...parts });

describe('service_started', () => {
  it('is met once a pod of the service runs, or ran to completion', () => {
    expect(dependencyState('db', 'service_started', view({ pods: [pod('Running')] }))).toEqual({ state: 'met' });
    expect(dependencyState('db', 'service_started', view({ pods: [pod('Pending'), pod('Succeeded')] }))).toEqual({ state: 'met' });
  });

  it('waits while no pod runs (pending, failed, or being deleted)', () => {
    for (const pods of [[], [pod('Pending')], [pod('Failed')], [pod('Running', true)]]) {
      expect(dependencyState('db', 'service_started', view({ pods }))).toEqual({ state: 'waiting', reason: 'db to be started' });
    }
  });
});

describe('service_healthy', () => {
  it('needs every desired replica Ready, and at least one', () => {
    expect(dependencyState('db', 'service_healthy', view({ deployment: deployment(2, 2) }))).toEqual({ state: 'met' });
    expect(dependencyState('db', 'service_healthy', view({ deployment: deployment(2, 1) }))).toEqual({ state: 'waiting', reason: 'db to be healthy (1/2 ready)' });
    expect(dependencyState('db', 'service_healthy', view({ deployment: deployment(0, 0) }))).toEqual({ state: 'waiting', reason: 'db to be healthy (0/0 ready)' });
    expect(dependencyState('db', 'service_healthy', view({ statefulSet: statefulSet(1, 1) }))).toEqual({ state: 'met' });
    expect(dependencyState('db', 'service_healthy', view({ statefulSet: statefulSet(3, 2) })).state).toBe('waiting');
    expect(dependencyState('db', 'service_healthy', view({ daemonSet: daemonSet(3, 3) }))).toEqual({ state: 'met' });
    expect(dependencyState('db', 'service_healthy', view({ daemonSet: daemonSet(3, 2) })).state).toBe('waiting');
    expect(dependencyState('db', 'service_healthy', view({ daemonSet: daemonSet(0, 0) })).state).toBe('waiting');
  });

  it('refuses, as compose does, a service without a healthcheck (readiness probe)', () => {
    expect(dependencyState('db', 'service_healthy', view({ deployment: deployment(1, 1, false) }))).toEqual({
      state: 'failed',
      reason: 'dependency failed to start: service db has no healthcheck configured',
    });
  });

  it('waits for a service whose workload is not made yet, and refuses a job', () => {
    expect(dependencyState('db', 'service_healthy', view())).toEqual({ state: 'waiting', reason: 'db to be healthy (it has no workload yet)' });
    expect(dependencyState('db', 'service_healthy', view({ job: job('Complete') })).state).toBe('failed');
  });
});

describe('service_completed_successfully', () => {
  it('is met by a Complete job, never by a Failed one', () => {
    expect(dependencyState('migrate', 'service_completed_successfully', view({ job: job('Complete') }))).toEqual({ state: 'met' });
    expect(dependencyState('migrate', 'service_completed_successfully', view({ job: job() }))).toEqual({ state: 'waiting', reason: 'migrate to complete' });
    expect(dependencyState('migrate', 'service_completed_successfully', view({ job: job('Failed', 'Job has reached the specified backoff limit') }))).toEqual({
      state: 'failed',
      reason: "service migrate didn't complete successfully: Job has reached the specified backoff limit",
    });
  });

  it('waits for a job not made yet, and refuses a service that runs until stopped', () => {
    expect(dependencyState('migrate', 'service_completed_successfully', view())).toEqual({ state: 'waiting', reason: 'migrate to complete (it has no job yet)' });
    expect(dependencyState('migrate', 'service_completed_successfully', view({ deployment: deployment(1, 1) })).state).toBe('failed');
  });
});

describe('the decision for a gated pod', () => {
  const views: Record<string, ServiceView> = {
    db: view({ deployment: deployment(1, 1) }),
    cache: view({ pods: [pod('Pending')] }),
    migrate: view({ job: job('Failed') }),
  };
  const viewOf = (service: string) => views[service] ?? view();

  it('releases once every dependency is met', () => {
    expect(decide(new Map([['db', 'service_healthy']]), viewOf)).toEqual({ action: 'release' });
  });

  it('waits, naming every dependency not met yet', () => {
    expect(decide(new Map([['db', 'service_healthy'], ['cache', 'service_started'], ['queue', 'service_started']]), viewOf)).toEqual({
      action: 'wait',
      waitingFor: ['cache to be started', 'queue to be started'],
    });
  });

  it('fails when a dependency cannot get there, whatever else waits', () => {
    expect(decide(new Map([['cache', 'service_started'], ['migrate', 'service_completed_successfully']]), viewOf)).toEqual({
      action: 'fail',
      message: "service migrate didn't complete successfully: its job failed",
    });
  });
});

describe('the compose-dependencies controller', () => {
  const patches: Array<{ name: string; patch: unknown }> = [];
  const client = {
    patch: async (_type: unknown, name: string, patch: unknown) => {
      patches.push({ name, patch });
      return { metadata: { name } };
    },
  } as unknown as KubeClient;
  const { informers, events, ctx, put } = memoryHarness(client);
  const controller = new ComposeDependenciesController(ctx);

  const composeLabels = (project: string, service: string) => ({ [PROJECT_LABEL]: project, [SERVICE_LABEL]: service });
  function gatedPod(project: string, name: string, dependsOn: string, gates = [DEPENDS_ON_GATE]): Pod {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: project, labels: composeLabels(project, name.split('-')[0]), annotations: { [DEPENDS_ON_ANNOTATION]: dependsOn } },
      spec: { schedulingGates: gates.map((g) => ({ name: g })), containers: [{ name: 'c', image: 'busybox' }] },
    };
  }
  const healthy = (project: string, name: string): Deployment => ({ ...deployment(1, 1), metadata: { name, namespace: project, labels: composeLabels(project, name) } });
  const drained = () => drain(controller.queue);
  afterAll(async () => {
    controller.queue.shutDown();
    await informers.stop();
  });

  it('wakes only the pods waiting on the service whose pods or workload changed, never a scan', async () => {
    for (let i = 0; i < 20; i++) await put('pods', gatedPod('a', `web-${i}`, '{"db":"service_healthy"}'));
    await put('pods', gatedPod('b', 'web-0', '{"cache":"service_started"}'));
    informers.start();
    await informers.waitForSync(10_000);
    expect(await drained()).toHaveLength(21);

    // cache's pod in project b starts: only b's web pod is woken; db of a is not touched.
    await put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cache-0', namespace: 'b', labels: composeLabels('b', 'cache') }, spec: { containers: [] }, status: { phase: 'Running' } } as Pod);
    await waitUntil(() => controller.queue.length > 0);
    expect(await drained()).toEqual(['b/web-0']);
    // A service of the same name in another project wakes nobody there.
    await put('deployments', healthy('b', 'db'));
    await put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cache-1', namespace: 'b', labels: composeLabels('b', 'cache') }, spec: { containers: [] } } as Pod);
    await waitUntil(() => controller.queue.length > 0);
    expect(await drained()).toEqual(['b/web-0']);
    await put('deployments', healthy('a', 'db'));
    await waitUntil(() => controller.queue.length > 0);
    expect((await drained())).toHaveLength(20);
  });

  it('removes its own gate (keeping the others) with a patch that tests the resourceVersion decided on, and says so once', async () => {
    await put('pods', gatedPod('a', 'api-0', '{"db":"service_healthy"}', ['example.com/quota', DEPENDS_ON_GATE]));
    await waitUntil(() => controller.queue.length > 0);
    await drained();
    await controller.reconcile('a/api-0');
    expect(patches).toEqual([
      {
        name: 'api-0',
        patch: [
          { op: 'test', path: '/metadata/resourceVersion', value: expect.any(String) },
          { op: 'replace', path: '/spec/schedulingGates', value: [{ name: 'example.com/quota' }] },
        ],
      },
    ]);
    expect(events).toEqual(['Normal DependenciesMet: dependencies met: db']);
  });

  it('keeps the gate of a pod whose annotation is hostile, with one warning however often it is looked at', async () => {
    patches.length = 0;
    events.length = 0;
    await put('pods', gatedPod('a', 'evil-0', '{"__proto__":{"polluted":true}}'));
    await waitUntil(() => controller.queue.length > 0);
    await drained();
    await controller.reconcile('a/evil-0');
    await controller.reconcile('a/evil-0');
    expect(patches).toEqual([]);
    expect(events).toEqual(['Warning FailedDependencies: "__proto__" is not a service name']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
