import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from '@berth/api';
import { CONTROLLER_REVISION_HASH_LABEL, newControllerRevision, templatePatch } from './history';
import {
  BURST,
  claimOwners,
  newClaims,
  newStatefulSetPod,
  ordinalOf,
  planStatefulSet,
  podForOrdinal,
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  type Revisions,
  statefulSetStatus,
} from './statefulset-plan';

const NOW = Date.parse('2026-12-07T12:00:00Z');

function sts(spec: Partial<NonNullable<StatefulSet['spec']>> = {}, image = 'busybox:1.36'): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'sts-uid', generation: 3 },
    spec: {
      replicas: 3,
      serviceName: 'web',
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }], volumes: [{ name: 'data', emptyDir: {} }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data', labels: { tier: 'db' } }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...spec,
    },
  };
}

function revision(set: StatefulSet, number: number): ControllerRevision {
  const r = newControllerRevision(set, templatePatch(set.spec?.template), number, {});
  r.metadata.uid = `rev-${number}`;
  return r;
}

/** The set's revisions: current of the old image, update of the set's own template. */
function revisionsOf(set: StatefulSet, oldImage = 'busybox:1.35'): Revisions {
  const old = sts({}, oldImage);
  return { current: revision(old, 1), update: revision(set, 2) };
}

type PodState = { ready?: boolean; phase?: 'Pending' | 'Running' | 'Failed' | 'Succeeded'; deleting?: boolean; readyFor?: number };

function pod(set: StatefulSet, ordinal: number, rev: string, state: PodState = {}): Pod {
  const p = newStatefulSetPod(set, set.spec?.template, rev, ordinal);
  p.metadata.uid = `pod-${ordinal}`;
  if (state.deleting) p.metadata.deletionTimestamp = new Date(NOW).toISOString();
  p.status = {
    phase: state.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: state.ready === false ? 'False' : 'True', lastTransitionTime: new Date(NOW - (state.readyFor ?? 60) * 1000).toISOString() }],
  };
  return p;
}

const steps = (set: StatefulSet, pods: Pod[], update: string) =>
  planStatefulSet(set, pods, update, NOW).steps.map((s) => (s.action === 'create' ? `create ${s.ordinal}` : `delete ${s.pod.metadata.name}${s.scaled ? ' (scaled)' : ''}`));

describe('StatefulSet pods', () => {
  it('are named <set>-<ordinal> with hostname, subdomain, identity labels, revision and their claims as volumes', () => {
    const set = sts();
    const p = newStatefulSetPod(set, set.spec!.template, 'web-abc', 2);
    expect(p.metadata.name).toBe('web-2');
    expect(p.metadata.labels).toEqual({ app: 'web', [POD_NAME_LABEL]: 'web-2', [POD_INDEX_LABEL]: '2', [CONTROLLER_REVISION_HASH_LABEL]: 'web-abc' });
    expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'sts-uid', controller: true, blockOwnerDeletion: true }]);
    expect(p.spec?.hostname).toBe('web-2');
    expect(p.spec?.subdomain).toBe('web');
    // The claim template's volume replaces the template's own volume of that name.
    expect(p.spec?.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } }]);
  });

  it('take their ordinal only from a name of the set', () => {
    const set = sts();
    const named = (name: string) => ({ metadata: { name } }) as Pod;
    expect(ordinalOf(set, named('web-0'))).toBe(0);
    expect(ordinalOf(set, named('web-12'))).toBe(12);
    expect(ordinalOf(set, named('web-01'))).toBeUndefined();
    expect(ordinalOf(set, named('web-x'))).toBeUndefined();
    expect(ordinalOf(set, named('webby-1'))).toBeUndefined();
  });

  it('below the partition are made at the current revision, the others at the update revision', () => {
    const set = sts({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, 'busybox:1.36');
    const revisions = revisionsOf(set);
    expect(podForOrdinal(set, 1, revisions).spec?.containers[0].image).toBe('busybox:1.35');
    expect(podForOrdinal(set, 1, revisions).metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]).toBe(revisions.current.metadata.name);
    expect(podForOrdinal(set, 2, revisions).spec?.containers[0].image).toBe('busybox:1.36');
    const onDelete = sts({ updateStrategy: { type: 'OnDelete' } });
    expect(podForOrdinal(onDelete, 0, revisionsOf(onDelete)).spec?.containers[0].image).toBe('busybox:1.36');
  });
});

describe('StatefulSet claims', () => {
  it('are <template>-<set>-<ordinal> with the template and selector labels, owned by nobody by default', () => {
    const [claim] = newClaims(sts(), 1);
    expect(claim.metadata).toEqual({ name: 'data-web-1', namespace: 'default', labels: { tier: 'db', app: 'web' } });
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
  });

  it('are owned by the set when whenDeleted is Delete', () => {
    const [claim] = newClaims(sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } }), 0);
    expect(claim.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'sts-uid' }]);
  });

  it('of a scaled-down ordinal are owned by its pod when whenScaled is Delete, and given back to the set when it scales up again', () => {
    const set = sts({ replicas: 2, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } });
    const p = pod(set, 2, 'r');
    const claim: PersistentVolumeClaim = newClaims({ ...set, spec: { ...set.spec!, replicas: 3 } }, 2)[0];
    expect(claim.metadata.ownerReferences?.map((r) => r.uid)).toEqual(['sts-uid']);
    const owners = claimOwners(claim, set, p, 2);
    expect(owners).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'web-2', uid: 'pod-2' }]);
    claim.metadata.ownerReferences = owners;
    expect(claimOwners(claim, { ...set, spec: { ...set.spec!, replicas: 3 } }, p, 2)?.map((r) => r.uid)).toEqual(['sts-uid']);
    // In range, with whenScaled Delete only: nobody owns it; Retain/Retain takes every owner away.
    expect(claimOwners(claim, sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } }), p, 2)).toEqual([]);
    expect(claimOwners(claim, sts({}), p, 2)).toEqual([]);
    expect(claimOwners({ ...claim, metadata: { ...claim.metadata, ownerReferences: [] } }, sts({}), p, 2)).toBeUndefined();
  });
});

describe('planning a StatefulSet', () => {
  it('OrderedReady creates one pod at a time, each after the one before is Running and Ready', () => {
    const set = sts();
    const { update } = revisionsOf(set);
    const u = update.metadata.name!;
    expect(steps(set, [], u)).toEqual(['create 0']);
    expect(steps(set, [pod(set, 0, u, { phase: 'Pending', ready: false })], u)).toEqual([]);
    expect(planStatefulSet(set, [pod(set, 0, u, { ready: false })], u, NOW).blocked).toBe(true);
    expect(steps(set, [pod(set, 0, u)], u)).toEqual(['create 1']);
    expect(steps(set, [pod(set, 0, u), pod(set, 1, u)], u)).toEqual(['create 2']);
    expect(steps(set, [pod(set, 0, u), pod(set, 1, u), pod(set, 2, u)], u)).toEqual([]);
  });

  it('OrderedReady waits for minReadySeconds before the next pod', () => {
    const set = sts({ minReadySeconds: 30 });
    const u = revisionsOf(set).update.metadata.name!;
    expect(steps(set, [pod(set, 0, u, { readyFor: 10 })], u)).toEqual([]);
    expect(steps(set, [pod(set, 0, u, { readyFor: 40 })], u)).toEqual(['create 1']);
  });

  it('OrderedReady removes pods beyond the replicas highest first, one at a time', () => {
    const set = sts({ replicas: 1 });
    const u = revisionsOf(set).update.metadata.name!;
    const pods = [0, 1, 2].map((i) => pod(set, i, u));
    expect(steps(set, pods, u)).toEqual(['delete web-2 (scaled)']);
    expect(steps(set, [pods[0], pods[1], pod(set, 2, u, { deleting: true })], u)).toEqual([]);
    expect(steps(set, [pods[0], pods[1]], u)).toEqual(['delete web-1 (scaled)']);
    // Nothing is removed while a wanted pod is unhealthy.
    expect(steps(set, [pod(set, 0, u, { ready: false }), pods[1]], u)).toEqual([]);
  });

  it('Parallel creates and removes every pod at once', () => {
    const set = sts({ podManagementPolicy: 'Parallel' });
    const u = revisionsOf(set).update.metadata.name!;
    expect(steps(set, [pod(set, 1, u, { ready: false })], u)).toEqual(['create 0', 'create 2']);
    const down = sts({ podManagementPolicy: 'Parallel', replicas: 1 });
    expect(steps(down, [0, 1, 2].map((i) => pod(down, i, u, { ready: false })), u)).toEqual(['delete web-2 (scaled)', 'delete web-1 (scaled)']);
  });

  it('plans at most BURST creates in one pass, whatever the replicas', () => {
    const set = sts({ podManagementPolicy: 'Parallel', replicas: 2_000_000_000 });
    const plan = planStatefulSet(set, [], 'r', NOW);
    expect(plan.steps).toHaveLength(BURST);
    expect(plan.steps[BURST - 1]).toEqual({ action: 'create', ordinal: BURST - 1 });
  });

  it('deletes a failed pod to make it again', () => {
    const set = sts();
    const u = revisionsOf(set).update.metadata.name!;
    expect(steps(set, [pod(set, 0, u, { phase: 'Failed', ready: false })], u)).toEqual(['delete web-0']);
  });

  it('rolls out from the highest ordinal down, one pod at a time, each after the ones above are healthy', () => {
    const set = sts();
    const { current, update } = revisionsOf(set);
    const [c, u] = [current.metadata.name!, update.metadata.name!];
    expect(steps(set, [0, 1, 2].map((i) => pod(set, i, c)), u)).toEqual(['delete web-2']);
    expect(steps(set, [pod(set, 0, c), pod(set, 1, c), pod(set, 2, u, { ready: false })], u)).toEqual([]);
    expect(steps(set, [pod(set, 0, c), pod(set, 1, c), pod(set, 2, u)], u)).toEqual(['delete web-1']);
    expect(steps(set, [0, 1, 2].map((i) => pod(set, i, u)), u)).toEqual([]);
  });

  it('rolls out only down to the partition', () => {
    const set = sts({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    const { current, update } = revisionsOf(set);
    const [c, u] = [current.metadata.name!, update.metadata.name!];
    expect(steps(set, [0, 1, 2].map((i) => pod(set, i, c)), u)).toEqual(['delete web-2']);
    expect(steps(set, [pod(set, 0, c), pod(set, 1, c), pod(set, 2, u)], u)).toEqual([]);
  });

  it('leaves old pods alone under OnDelete', () => {
    const set = sts({ updateStrategy: { type: 'OnDelete' } });
    const { current, update } = revisionsOf(set);
    expect(steps(set, [0, 1, 2].map((i) => pod(set, i, current.metadata.name!)), update.metadata.name!)).toEqual([]);
  });
});

describe('StatefulSet status', () => {
  it('counts ready, available, current and updated pods, and keeps the current revision while a partition holds pods back', () => {
    const set = sts({ minReadySeconds: 30, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } });
    const revisions = revisionsOf(set);
    const [c, u] = [revisions.current.metadata.name!, revisions.update.metadata.name!];
    const status = statefulSetStatus(set, [pod(set, 0, c), pod(set, 1, u, { readyFor: 5 }), pod(set, 2, u, { ready: false })], revisions, 0, NOW);
    expect(status).toEqual({
      observedGeneration: 3,
      replicas: 3,
      readyReplicas: 2,
      availableReplicas: 1,
      currentReplicas: 1,
      updatedReplicas: 2,
      currentRevision: c,
      updateRevision: u,
      collisionCount: 0,
    });
  });

  it('makes the update revision current once every pod runs it and is ready', () => {
    const set = sts();
    const revisions = revisionsOf(set);
    const u = revisions.update.metadata.name!;
    const status = statefulSetStatus(set, [0, 1, 2].map((i) => pod(set, i, u)), revisions, 0, NOW);
    expect(status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: u, updateRevision: u });
  });

  it('does not count a terminating pod as current or updated', () => {
    const set = sts();
    const revisions = revisionsOf(set);
    const u = revisions.update.metadata.name!;
    const status = statefulSetStatus(set, [pod(set, 0, u, { deleting: true, ready: false })], revisions, 0, NOW);
    expect(status).toMatchObject({ replicas: 1, updatedReplicas: 0, currentRevision: revisions.current.metadata.name });
  });
});
