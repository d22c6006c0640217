import type { Pod } from '@berth/api';
import type { Container as RuntimeContainer } from '@berth/runtime-client';
import { computePodStatus, qosClass, stableJson, type ObservedContainer } from './pod-status';

function run(id: string, state: RuntimeContainer['state'], exitCode?: number): RuntimeContainer {
  return {
    id,
    name: id,
    image: 'busybox',
    imageId: 'sha256:img',
    imageDigest: 'sha256:digest',
    sandboxId: 'sb',
    state,
    args: [],
    pid: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: state === 'created' ? '' : '2026-01-01T00:00:01.123Z',
    exit: exitCode === undefined ? null : { exitCode, exitedAt: '2026-01-01T00:00:02.5Z', reason: exitCode === 0 ? 'Completed' : 'Error' },
  } as unknown as RuntimeContainer;
}

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always', init = false): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u' },
    spec: {
      restartPolicy,
      containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }],
      ...(init ? { initContainers: [{ name: 'i', image: 'busybox' }] } : {}),
    },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  };
}

const now = new Date('2026-01-01T00:01:00Z');

function status(p: Pod, app: Record<string, ObservedContainer>, init: Record<string, ObservedContainer> = {}) {
  return computePodStatus({ pod: p, app: new Map(Object.entries(app)), init: new Map(Object.entries(init)), hostIP: '192.0.2.1', podIP: '192.0.2.1', sandboxReady: true, now });
}

const obs = (current?: RuntimeContainer, extra: Partial<ObservedContainer> = {}): ObservedContainer => ({ current, restartCount: 0, ...extra });
const conditionsOf = (s: ReturnType<typeof status>) => Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c.status]));

describe('computePodStatus', () => {
  it('is Pending with ContainerCreating while containers are missing', () => {
    const s = status(pod(), { a: obs(run('1', 'running')) });
    expect(s.phase).toBe('Pending');
    expect(s.containerStatuses?.[1]).toMatchObject({ name: 'b', ready: false, state: { waiting: { reason: 'ContainerCreating' } } });
    expect(conditionsOf(s)).toEqual({ Initialized: 'True', Ready: 'False', ContainersReady: 'False', PodScheduled: 'True' });
    expect(s.conditions?.find((c) => c.type === 'Ready')?.message).toBe('containers with unready status: [b]');
  });

  it('is Running and Ready when every container runs, with Kubernetes-shaped container statuses', () => {
    const s = status(pod(), { a: obs(run('1', 'running')), b: obs(run('2', 'running')) });
    expect(s.phase).toBe('Running');
    expect(conditionsOf(s)).toEqual({ Initialized: 'True', Ready: 'True', ContainersReady: 'True', PodScheduled: 'True' });
    expect(s.containerStatuses?.[0]).toEqual({
      name: 'a',
      state: { running: { startedAt: '2026-01-01T00:00:01Z' } },
      lastState: {},
      ready: true,
      started: true,
      restartCount: 0,
      image: 'busybox',
      imageID: 'docker.io/library/busybox@sha256:digest',
      containerID: 'berth://1',
    });
    expect(s).toMatchObject({ hostIP: '192.0.2.1', podIP: '192.0.2.1', podIPs: [{ ip: '192.0.2.1' }], startTime: '2026-01-01T00:01:00Z', qosClass: 'BestEffort' });
    // The scheduler's condition keeps its time; new ones take now.
    expect(s.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(s.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:01:00Z');
  });

  it('follows the restart policy once containers exited', () => {
    const exited = { a: obs(run('1', 'exited', 0)), b: obs(run('2', 'exited', 3)) };
    expect(status(pod('Never'), exited).phase).toBe('Failed');
    expect(status(pod('OnFailure'), exited).phase).toBe('Running');
    expect(status(pod('Always'), exited).phase).toBe('Running');
    const allOk = { a: obs(run('1', 'exited', 0)), b: obs(run('2', 'exited', 0)) };
    expect(status(pod('Never'), allOk).phase).toBe('Succeeded');
    expect(status(pod('OnFailure'), allOk).phase).toBe('Succeeded');
    const failed = status(pod('Never'), exited);
    expect(failed.containerStatuses?.[1]?.state).toEqual({ terminated: { exitCode: 3, reason: 'Error', startedAt: '2026-01-01T00:00:01Z', finishedAt: '2026-01-01T00:00:02Z', containerID: 'berth://2' } });
    expect(failed.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });

  it('shows a crash loop as waiting, with the run that ended as lastState', () => {
    const s = status(pod(), {
      a: obs(run('1', 'running')),
      b: obs(run('3', 'exited', 3), { previous: run('2', 'exited', 3), restartCount: 2, waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } }),
    });
    expect(s.phase).toBe('Running');
    expect(s.containerStatuses?.[1]).toMatchObject({ restartCount: 2, ready: false, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } }, lastState: { terminated: { exitCode: 3, containerID: 'berth://3' } } });
  });

  it('holds the pod in Pending until init containers succeed, and fails it on an init failure under Never', () => {
    const pending = status(pod('Always', true), {}, { i: obs(run('0', 'running')) });
    expect(pending.phase).toBe('Pending');
    expect(pending.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'PodInitializing' } });
    expect(conditionsOf(pending).Initialized).toBe('False');
    expect(status(pod('Never', true), {}, { i: obs(run('0', 'exited', 1)) }).phase).toBe('Failed');
    expect(status(pod('OnFailure', true), {}, { i: obs(run('0', 'exited', 1)) }).phase).toBe('Pending');
    const initialized = status(pod('Always', true), { a: obs(run('1', 'running')), b: obs(run('2', 'running')) }, { i: obs(run('0', 'exited', 0)) });
    expect(initialized.phase).toBe('Running');
    expect(initialized.initContainerStatuses?.[0]).toMatchObject({ ready: true, state: { terminated: { reason: 'Completed' } } });
  });

  it('is Ready only once every readiness gate condition, set by someone else, is True; and keeps those conditions', () => {
    const gated = (conditions: Array<{ type: string; status: 'True' | 'False' }>): Pod => {
      const p = pod();
      p.spec!.readinessGates = [{ conditionType: 'example.com/lb-ready' }];
      p.status!.conditions!.push(...conditions.map((c) => ({ ...c, lastTransitionTime: '2026-01-01T00:00:30Z' })));
      return p;
    };
    const running = { a: obs(run('1', 'running')), b: obs(run('2', 'running')) };
    const missing = status(gated([]), running);
    expect(conditionsOf(missing)).toEqual({ Initialized: 'True', Ready: 'False', ContainersReady: 'True', PodScheduled: 'True' });
    expect(missing.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'ReadinessGatesNotReady', message: 'corresponding condition of pod readiness gate "example.com/lb-ready" does not exist.' });
    const unmet = status(gated([{ type: 'example.com/lb-ready', status: 'False' }]), running);
    expect(conditionsOf(unmet)).toMatchObject({ Ready: 'False', 'example.com/lb-ready': 'False' });
    const met = status(gated([{ type: 'example.com/lb-ready', status: 'True' }]), running);
    expect(conditionsOf(met)).toEqual({ Initialized: 'True', Ready: 'True', ContainersReady: 'True', PodScheduled: 'True', 'example.com/lb-ready': 'True' });
  });

  it('shows a container that has not passed its startup probe as running but neither started nor ready', () => {
    const s = status(pod(), { a: obs(run('1', 'running'), { started: false, ready: false }), b: obs(run('2', 'running')) });
    expect(s.containerStatuses?.[0]).toMatchObject({ started: false, ready: false, state: { running: {} } });
    expect(s.containerStatuses?.[1]).toMatchObject({ started: true, ready: true });
  });

  it('fails a pod past its deadline whatever its containers do', () => {
    const s = computePodStatus({ pod: pod(), app: new Map([['a', obs(run('1', 'running'))]]), init: new Map(), hostIP: '192.0.2.1', podIP: '192.0.2.1', sandboxReady: true, deadlineExceeded: true, now });
    expect(s).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
  });

  it('computes the same status again from the same observation, so nothing is rewritten', () => {
    const p = pod();
    const first = status(p, { a: obs(run('1', 'running')), b: obs(run('2', 'running')) });
    const again = status({ ...p, status: first }, { a: obs(run('1', 'running')), b: obs(run('2', 'running')) });
    expect(stableJson(again)).toBe(stableJson(first));
  });
});

describe('qosClass', () => {
  it('classifies as Kubernetes does', () => {
    const withResources = (resources: object) => ({ ...pod(), spec: { containers: [{ name: 'a', resources }] } }) as Pod;
    expect(qosClass(pod())).toBe('BestEffort');
    expect(qosClass(withResources({ limits: { cpu: '1', memory: '1Gi' } }))).toBe('Guaranteed');
    expect(qosClass(withResources({ requests: { cpu: '1' } }))).toBe('Burstable');
  });
});
