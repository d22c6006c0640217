import type { DaemonSet, Deployment, Job, Pod, StatefulSet } from '@berth/api';
import { decide, dependencyState, type ServiceView } from './compose-dependencies';

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
