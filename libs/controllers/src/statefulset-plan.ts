import type { ControllerRevision, OwnerReference, PersistentVolumeClaim, Pod, PodTemplateSpec, StatefulSet, StatefulSetStatus } from '@berth/api';
import { controllerReference } from './claim';
import { CONTROLLER_REVISION_HASH_LABEL, templateOfRevision } from './history';
import { isPodAvailable, isPodReady } from './pods';
import { clone } from './types';

/**
 * What the StatefulSet controller decides, as pure functions of the set, its pods and its revisions
 * (Kubernetes' pkg/controller/statefulset: stateful_set_utils.go and the decisions of
 * stateful_set_control.go), so that they are tested without an API server.
 */

/** On each pod: its name and its ordinal (Kubernetes 1.32 sets both). */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function desiredReplicas(set: StatefulSet): number {
  return set.spec?.replicas ?? 1;
}

export function podNameOf(set: StatefulSet, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

/** The ordinal in a member pod's name (`<set>-<n>`); undefined for a pod not named as the set's. */
export function ordinalOf(set: StatefulSet, pod: Pod): number | undefined {
  const name = pod.metadata.name ?? '';
  const prefix = `${set.metadata.name}-`;
  if (!name.startsWith(prefix)) return undefined;
  const digits = name.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,9})$/.test(digits)) return undefined;
  return Number(digits);
}

export function inOrdinalRange(set: StatefulSet, ordinal: number): boolean {
  const start = startOrdinal(set);
  return ordinal >= start && ordinal < start + desiredReplicas(set);
}

/** Claim `<template>-<set>-<ordinal>` (Kubernetes' getPersistentVolumeClaimName). */
export function claimNameOf(set: StatefulSet, templateName: string, ordinal: number): string {
  return `${templateName}-${set.metadata.name}-${ordinal}`;
}

/** The revision a pod runs: the name of the ControllerRevision in its controller-revision-hash label. */
export function podRevision(pod: Pod): string | undefined {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
}

const isTerminating = (pod: Pod) => !!pod.metadata.deletionTimestamp;
const isTerminal = (pod: Pod) => pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
/** Kubernetes' isCreated: the pod has been seen by a node or the API server gave it a phase. */
const isCreated = (pod: Pod) => !!pod.status?.phase;
export const isRunningAndReady = (pod: Pod) => pod.status?.phase === 'Running' && isPodReady(pod);
export const isHealthy = (pod: Pod, minReadySeconds: number, now: number) =>
  isRunningAndReady(pod) && !isTerminating(pod) && isPodAvailable(pod, minReadySeconds, now);

/** Pod `<set>-<ordinal>` of template, revision in its label, its claims as volumes, hostname and subdomain for its DNS name. */
export function newStatefulSetPod(set: StatefulSet, template: PodTemplateSpec | undefined, revisionName: string, ordinal: number): Pod {
  const name = podNameOf(set, ordinal);
  const meta = clone(template?.metadata ?? {});
  const spec = clone(template?.spec ?? { containers: [] });
  const claimVolumes = (set.spec?.volumeClaimTemplates ?? []).map((t) => ({
    name: t.metadata.name!,
    persistentVolumeClaim: { claimName: claimNameOf(set, t.metadata.name!, ordinal) },
  }));
  const claimed = new Set(claimVolumes.map((v) => v.name));
  spec.volumes = [...(spec.volumes ?? []).filter((v) => !claimed.has(v.name)), ...claimVolumes];
  if (spec.volumes.length === 0) delete spec.volumes;
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta,
      name,
      namespace: set.metadata.namespace,
      labels: { ...(meta.labels ?? {}), [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [CONTROLLER_REVISION_HASH_LABEL]: revisionName },
      ownerReferences: [controllerReference(set)],
    },
    spec,
  };
}

/** The claims a pod of ordinal needs, from the set's claim templates, owned as the retention policy says. */
export function newClaims(set: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const selectorLabels = set.spec?.selector?.matchLabels ?? {};
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => {
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        ...clone(t.metadata),
        name: claimNameOf(set, t.metadata.name!, ordinal),
        namespace: set.metadata.namespace,
        labels: { ...(t.metadata.labels ?? {}), ...selectorLabels },
      },
      spec: clone(t.spec),
    };
    delete claim.metadata.ownerReferences;
    const owners = claimOwners(claim, set, undefined, ordinal);
    if (owners) claim.metadata.ownerReferences = owners;
    return claim;
  });
}

function ownerRef(owner: { apiVersion: string; kind: string; metadata: { name?: string; uid?: string } }): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid! };
}

/**
 * The owner references a claim should have under the set's persistentVolumeClaimRetentionPolicy
 * (Kubernetes' updateClaimOwnerRefForSetAndPod): whenDeleted=Delete makes the set an owner, so the garbage
 * collector removes the claim with the set; whenScaled=Delete makes the pod of a scaled-down ordinal the
 * owner, so the claim goes with that pod. Undefined when the claim already has them.
 */
export function claimOwners(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod | undefined, ordinal: number): OwnerReference[] | undefined {
  const policy = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  const deleteWithSet = policy.whenDeleted === 'Delete';
  const deleteWhenScaled = policy.whenScaled === 'Delete';
  const scaledDown = !inOrdinalRange(set, ordinal);
  let refs = [...(claim.metadata.ownerReferences ?? [])];
  const before = JSON.stringify(refs);
  const setOwner = (owner: Parameters<typeof ownerRef>[0] | undefined, wanted: boolean) => {
    if (!owner?.metadata.uid) return;
    const has = refs.some((r) => r.uid === owner.metadata.uid);
    if (wanted && !has) refs.push(ownerRef(owner));
    if (!wanted && has) refs = refs.filter((r) => r.uid !== owner.metadata.uid);
  };
  if (deleteWhenScaled && deleteWithSet && scaledDown) {
    setOwner(set, false);
    setOwner(pod, true);
  } else {
    setOwner(set, deleteWithSet);
    setOwner(pod, deleteWhenScaled && scaledDown);
  }
  return JSON.stringify(refs) === before ? undefined : refs;
}

export interface Revisions {
  current: ControllerRevision;
  update: ControllerRevision;
}

/**
 * The revision a new pod of ordinal gets (Kubernetes' newVersionedStatefulSetPod): under RollingUpdate the
 * ordinals below the partition (or, without a rollingUpdate, below the current replicas) keep the current
 * revision; everything else, and every pod under OnDelete, gets the update revision.
 */
export function revisionForOrdinal(set: StatefulSet, ordinal: number, revisions: Revisions): ControllerRevision {
  const strategy = set.spec?.updateStrategy;
  if ((strategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const below = strategy?.rollingUpdate ? (strategy.rollingUpdate.partition ?? 0) : (set.status?.currentReplicas ?? 0);
    if (ordinal < startOrdinal(set) + below) return revisions.current;
  }
  return revisions.update;
}

export function podForOrdinal(set: StatefulSet, ordinal: number, revisions: Revisions): Pod {
  const revision = revisionForOrdinal(set, ordinal, revisions);
  const template = revision === revisions.update ? set.spec?.template : templateOfRevision(revision);
  return newStatefulSetPod(set, template ?? set.spec?.template, revision.metadata.name!, ordinal);
}

export type Step =
  | { action: 'create'; ordinal: number }
  /** `scaled`: the pod's ordinal is no longer wanted (its claims follow whenScaled first). */
  | { action: 'delete'; pod: Pod; scaled: boolean };

/** The most creates and deletes one pass plans (Kubernetes' burstReplicas); the pods' events bring the next pass. */
export const BURST = 250;

export interface Plan {
  steps: Step[];
  /** OrderedReady stopped at a pod that is not (yet) Running and Ready, or is going. */
  blocked: boolean;
}

/**
 * One pass of Kubernetes' updateStatefulSet, as steps: missing pods created in ordinal order and failed or
 * succeeded ones deleted to be made again; pods of ordinals beyond the replicas deleted highest first; then
 * under RollingUpdate the highest pod at or above the partition that does not run the update revision is
 * deleted (it comes back at the update revision), one at a time, each after the ones above are healthy.
 * OrderedReady (monotonic) stops at the first step or at the first pod that is not Running and Ready and
 * available; Parallel does every create and delete at once.
 */
export function planStatefulSet(set: StatefulSet, pods: Pod[], updateRevision: string, now: number): Plan {
  const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
  const minReadySeconds = set.spec?.minReadySeconds ?? 0;
  const start = startOrdinal(set);
  const end = start + desiredReplicas(set);
  const replicas = new Map<number, Pod>();
  const condemned: { ordinal: number; pod: Pod }[] = [];
  for (const pod of pods) {
    const ordinal = ordinalOf(set, pod);
    if (ordinal === undefined) continue;
    if (ordinal >= start && ordinal < end) replicas.set(ordinal, pod);
    else condemned.push({ ordinal, pod });
  }
  condemned.sort((a, b) => b.ordinal - a.ordinal);
  const steps: Step[] = [];
  const done = (blocked: boolean): Plan => ({ steps, blocked });
  const full = () => steps.length >= BURST;

  for (let ordinal = start; ordinal < end; ordinal++) {
    const pod = replicas.get(ordinal);
    if (!pod) {
      steps.push({ action: 'create', ordinal });
      if (monotonic || full()) return done(true);
      continue;
    }
    if (isTerminal(pod) && !isTerminating(pod)) {
      steps.push({ action: 'delete', pod, scaled: false });
      if (monotonic || full()) return done(true);
      continue;
    }
    if (monotonic && !isHealthy(pod, minReadySeconds, now)) return done(true);
  }

  for (const { pod } of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return done(true);
      continue;
    }
    steps.push({ action: 'delete', pod, scaled: true });
    if (monotonic || full()) return done(true);
  }

  const strategy = set.spec?.updateStrategy;
  if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return done(false);
  const updateMin = start + Math.max(0, strategy?.rollingUpdate?.partition ?? 0);
  for (let ordinal = end - 1; ordinal >= updateMin; ordinal--) {
    const pod = replicas.get(ordinal);
    if (!pod) continue;
    if (podRevision(pod) !== updateRevision && !isTerminating(pod)) {
      steps.push({ action: 'delete', pod, scaled: false });
      return done(false);
    }
    if (!isHealthy(pod, minReadySeconds, now)) return done(true);
  }
  return done(false);
}

/**
 * Status as Kubernetes counts it (computeReplicaStatus and completeRollingUpdate): pods that exist,
 * ready, available, on the current and on the update revision; the update revision becomes the current
 * one once every pod runs it and is ready.
 */
export function statefulSetStatus(set: StatefulSet, pods: Pod[], revisions: Revisions, collisionCount: number, now: number): StatefulSetStatus {
  const minReadySeconds = set.spec?.minReadySeconds ?? 0;
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision: revisions.current.metadata.name,
    updateRevision: revisions.update.metadata.name,
    collisionCount,
  };
  for (const pod of pods) {
    if (ordinalOf(set, pod) === undefined) continue;
    if (isCreated(pod)) status.replicas++;
    if (isRunningAndReady(pod)) {
      status.readyReplicas!++;
      if (isPodAvailable(pod, minReadySeconds, now)) status.availableReplicas!++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      if (podRevision(pod) === status.currentRevision) status.currentReplicas!++;
      if (podRevision(pod) === status.updateRevision) status.updatedReplicas!++;
    }
  }
  const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  if (rolling && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
  if (set.status?.conditions) status.conditions = set.status.conditions;
  return status;
}
