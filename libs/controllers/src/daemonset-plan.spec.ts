import type { DaemonSet, Node, Pod, Taint } from '@berth/api';
import {
  daemonPodSpec,
  daemonSetFenceposts,
  daemonSetStatus,
  newDaemonPod,
  nodeShouldRunDaemonPod,
  type NodeState,
  planNodes,
  planRollingUpdate,
  targetNodeName,
} from './daemonset-plan';
import { CONTROLLER_REVISION_HASH_LABEL } from './history';

const NOW = Date.parse('2026-12-07T07:00:00Z');

function node(name: string, opts: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } }, spec: { taints: opts.taints } };
}

function ds(spec: Partial<NonNullable<DaemonSet['spec']>> = {}, podSpec: Record<string, unknown> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', uid: 'ds-uid', generation: 2 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], ...podSpec } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      ...spec,
    },
  };
}

let serial = 0;
/** A daemon pod of revision hash on nodeName; ready unless told otherwise. */
function pod(nodeName: string, hash: string, opts: { ready?: boolean; phase?: 'Running' | 'Failed' | 'Succeeded'; deleting?: boolean; createdSecondsAgo?: number } = {}): Pod {
  serial++;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `agent-${serial}`,
      namespace: 'default',
      labels: { app: 'agent', [CONTROLLER_REVISION_HASH_LABEL]: hash },
      creationTimestamp: new Date(NOW - (opts.createdSecondsAgo ?? 60) * 1000).toISOString(),
      ...(opts.deleting ? { deletionTimestamp: new Date(NOW).toISOString() } : {}),
    },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.36' }] },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: new Date(NOW - 30_000).toISOString() }],
    },
  };
}

function states(set: DaemonSet, nodes: Node[], pods: Pod[]): Map<string, NodeState> {
  const map = new Map<string, NodeState>();
  for (const n of nodes) map.set(n.metadata.name!, { node: n, placement: nodeShouldRunDaemonPod(n, set), pods: [] });
  for (const p of pods) {
    const name = targetNodeName(p)!;
    if (!map.has(name)) map.set(name, { placement: { shouldRun: false, shouldContinueRunning: false }, pods: [] });
    map.get(name)!.pods.push(p);
  }
  return map;
}

const names = (pods: Pod[]) => pods.map((p) => p.metadata.name).sort();

describe('which nodes run a daemon pod', () => {
  it('every node by default, cordoned, not-ready and under pressure included', () => {
    for (const taint of ['node.kubernetes.io/unschedulable', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/pid-pressure']) {
      expect(nodeShouldRunDaemonPod(node('a', { taints: [{ key: taint, effect: 'NoSchedule' }] }), ds())).toEqual({ shouldRun: true, shouldContinueRunning: true });
    }
    expect(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }), ds())).toEqual({ shouldRun: true, shouldContinueRunning: true });
  });

  it('not where the nodeSelector, required affinity or nodeName miss', () => {
    const never = { shouldRun: false, shouldContinueRunning: false };
    expect(nodeShouldRunDaemonPod(node('a'), ds({}, { nodeSelector: { disk: 'ssd' } }))).toEqual(never);
    expect(nodeShouldRunDaemonPod(node('a', { labels: { disk: 'ssd' } }), ds({}, { nodeSelector: { disk: 'ssd' } })).shouldRun).toBe(true);
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }] } } };
    expect(nodeShouldRunDaemonPod(node('a', { labels: { zone: 'z2' } }), ds({}, { affinity }))).toEqual(never);
    expect(nodeShouldRunDaemonPod(node('a', { labels: { zone: 'z1' } }), ds({}, { affinity })).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(node('a'), ds({}, { nodeName: 'b' }))).toEqual(never);
  });

  it('an untolerated NoSchedule taint stops new pods only, a NoExecute one removes the running pod too', () => {
    expect(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }), ds())).toEqual({ shouldRun: false, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }), ds())).toEqual({ shouldRun: false, shouldContinueRunning: false });
    const tolerant = ds({}, { tolerations: [{ key: 'dedicated', operator: 'Exists' }] });
    expect(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }), tolerant).shouldRun).toBe(true);
    // A node going not-ready gets a NoSchedule taint too: no new pod there, the running one stays.
    expect(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }), ds())).toEqual({
      shouldRun: false,
      shouldContinueRunning: true,
    });
  });
});

describe('daemon pods', () => {
  it('are pinned to their node by affinity, carry the daemon tolerations and the revision hash', () => {
    const created = newDaemonPod(ds({}, { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }, { key: 'x', operator: 'Exists' }] }), 'node-b', 'h1', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      name: 'agent',
      uid: 'ds-uid',
      controller: true,
    });
    expect(created.metadata).toMatchObject({ generateName: 'agent-', namespace: 'default', labels: { app: 'agent', [CONTROLLER_REVISION_HASH_LABEL]: 'h1', 'pod-template-generation': '2' } });
    expect(created.spec!.nodeName).toBeUndefined();
    expect(created.spec!.affinity).toEqual({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-b'] }] }] } } });
    expect(targetNodeName(created)).toBe('node-b');
    expect(created.spec!.tolerations!.map((t) => `${t.key}:${t.effect ?? ''}`)).toEqual([
      'x:',
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/pid-pressure:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
    expect(daemonPodSpec({ containers: [], hostNetwork: true }, 'a').tolerations!.map((t) => t.key)).toContain('node.kubernetes.io/network-unavailable');
  });
});

describe('the per-node plan', () => {
  const always = () => true;

  it('creates on nodes without a pod, deletes where the pod may not stay and on nodes that are gone', () => {
    const set = ds({}, { nodeSelector: { run: 'yes' } });
    const gonePod = pod('gone', 'h1');
    const offPod = pod('b', 'h1');
    const plan = planNodes(states(set, [node('a', { labels: { run: 'yes' } }), node('b')], [offPod, gonePod]), 'h1', false, 0, NOW, always);
    expect(plan.create).toEqual(['a']);
    expect(names(plan.delete)).toEqual([offPod.metadata.name]);
    expect(names(plan.orphaned)).toEqual([gonePod.metadata.name]);
  });

  it('keeps the oldest of several pods, waits for a terminating one, replaces failed pods after their back-off', () => {
    const oldest = pod('a', 'h1', { createdSecondsAgo: 100 });
    const younger = pod('a', 'h1', { createdSecondsAgo: 10 });
    const terminating = pod('b', 'h1', { deleting: true });
    const failed = pod('c', 'h1', { phase: 'Failed' });
    const set = ds();
    const plan = planNodes(states(set, [node('a'), node('b'), node('c')], [oldest, younger, terminating, failed]), 'h1', false, 0, NOW, always);
    expect(plan.create).toEqual([]);
    expect(names(plan.delete)).toEqual(names([younger, failed]));
    expect(names(plan.failed)).toEqual([failed.metadata.name]);
    const waiting = planNodes(states(set, [node('c')], [failed]), 'h1', false, 0, NOW, () => false);
    expect(waiting.delete).toEqual([]);
  });

  it('with surge keeps an old pod beside its new one until the new one is available', () => {
    const old = pod('a', 'h1', { createdSecondsAgo: 100 });
    const fresh = pod('a', 'h2', { ready: false, createdSecondsAgo: 5 });
    const set = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
    expect(planNodes(states(set, [node('a')], [old, fresh]), 'h2', true, 0, NOW, always).delete).toEqual([]);
    const ready = pod('a', 'h2', { createdSecondsAgo: 5 });
    expect(names(planNodes(states(set, [node('a')], [old, ready]), 'h2', true, 0, NOW, always).delete)).toEqual([old.metadata.name]);
  });
});

describe('rolling updates', () => {
  const nodes = ['a', 'b', 'c', 'd'].map((n) => node(n));

  it('scale the fenceposts on the nodes that should run the pod, rounding up', () => {
    expect(daemonSetFenceposts(ds(), 4)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(daemonSetFenceposts(ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '30%', maxSurge: 0 } } }), 4)).toEqual({ maxSurge: 0, maxUnavailable: 2 });
    expect(daemonSetFenceposts(ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } } }), 4)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('without surge delete old pods while at most maxUnavailable nodes lack an available pod', () => {
    const olds = nodes.map((n) => pod(n.metadata.name!, 'h1'));
    const set = ds();
    expect(planRollingUpdate(set, states(set, nodes, olds), 'h2', 4, NOW).delete).toHaveLength(1);
    // One node is already unavailable (its new pod is not ready yet): nothing more goes.
    const pods = [pod('a', 'h2', { ready: false }), ...olds.slice(1)];
    expect(planRollingUpdate(set, states(set, nodes, pods), 'h2', 4, NOW).delete).toEqual([]);
    // An old pod that is not available anyway goes at once.
    const broken = pod('b', 'h1', { ready: false });
    const step = planRollingUpdate(set, states(set, nodes, [pod('a', 'h2', { ready: false }), broken, olds[2], olds[3]]), 'h2', 4, NOW);
    expect(names(step.delete)).toEqual([broken.metadata.name]);
  });

  it('with surge start new pods beside old ones on maxSurge nodes, and delete each old one once replaced', () => {
    const set = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 2 } } });
    const olds = nodes.map((n) => pod(n.metadata.name!, 'h1'));
    const first = planRollingUpdate(set, states(set, nodes, olds), 'h2', 4, NOW);
    expect(first).toEqual({ delete: [], create: ['a', 'b'] });
    const replaced = pod('a', 'h2');
    const next = planRollingUpdate(set, states(set, nodes, [...olds, replaced, pod('b', 'h2', { ready: false })]), 'h2', 4, NOW);
    expect(names(next.delete)).toEqual([olds[0].metadata.name]);
    expect(next.create).toEqual(['c']);
  });
});

describe('status', () => {
  it('counts desired, current, ready, available, up-to-date and misscheduled pods per node', () => {
    const set = ds({}, { nodeSelector: { run: 'yes' } });
    const yes = { labels: { run: 'yes' } };
    const nodes = [node('a', yes), node('b', yes), node('c', yes), node('d')];
    const pods = [pod('a', 'h2'), pod('b', 'h1'), pod('d', 'h1', { ready: false })];
    expect(daemonSetStatus(set, states(set, nodes, pods), 'h2', NOW, undefined)).toEqual({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 2,
      numberMisscheduled: 1,
      numberReady: 2,
      numberAvailable: 2,
      numberUnavailable: 1,
      updatedNumberScheduled: 1,
      observedGeneration: 2,
    });
  });
});
