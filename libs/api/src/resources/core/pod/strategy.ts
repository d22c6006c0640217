/** How the object service treats pods (Kubernetes' registry/core/pod/strategy.go). */
import { errors, field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import { timestamp } from '../../../timestamp';
import { isAbsent, isPlainObject } from '../../../schema/fields';
import type { KubeObject } from '../../../types';
import type { DeletionPlan, ResourceStrategy } from '../../definition';
import { sameJson, specOf } from '../../immutable';
import { podRuntimeOptionErrors } from './runtime-options';

export const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
  '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),' +
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Copies the images of `from`'s containers onto `onto`'s, so that only the other fields get compared. */
function withImagesOf(onto: unknown, from: unknown): unknown {
  if (!Array.isArray(onto) || !Array.isArray(from) || onto.length !== from.length) return onto;
  return onto.map((container, i) =>
    isPlainObject(container) && isPlainObject(from[i]) ? { ...container, image: from[i].image } : container,
  );
}

/** Tolerations may only grow: the old ones must all still be there. */
function onlyAddedTolerations(tolerations: unknown, before: unknown): boolean {
  const old = Array.isArray(before) ? before : [];
  const now = Array.isArray(tolerations) ? tolerations : isAbsent(tolerations) ? [] : undefined;
  return now !== undefined && old.every((t) => now.some((n) => sameJson(n, t)));
}

/** The names of a pod spec's scheduling gates (whatever shape a client sent). */
function gateNames(spec: Record<string, unknown>): string[] {
  const gates = spec.schedulingGates;
  if (!Array.isArray(gates)) return [];
  return gates.map((gate) => (isPlainObject(gate) && typeof gate.name === 'string' ? gate.name : ''));
}

/** Whether the pod still waits for a scheduling gate to be removed before the scheduler may place it. */
function isGated(spec: Record<string, unknown>): boolean {
  return Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0;
}

const isUnbound = (spec: Record<string, unknown>) => isAbsent(spec.nodeName) || spec.nodeName === '';

const gatedNodeName = (): FieldCause => field.forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared');

/**
 * Kubernetes' validateOnlyDeletedSchedulingGates: gates are set at creation and may then only be removed
 * (whoever holds a pod back removes its own gate; nobody may hold back a pod already released).
 */
function onlyDeletedGates(spec: Record<string, unknown>, before: Record<string, unknown>): FieldCause[] {
  const old = new Set(gateNames(before));
  return gateNames(spec).flatMap((name, i) =>
    old.has(name) ? [] : [field.forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${name}'`)],
  );
}

function podSpecUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const gates = onlyDeletedGates(spec, before);
  if (gates.length) return gates;
  // Binding writes nodeName through an update too: not while a gate holds the pod back.
  if (isGated(spec) && isUnbound(before) && !isUnbound(spec)) return [gatedNodeName()];
  const newGrace = spec.terminationGracePeriodSeconds;
  const oldGrace = before.terminationGracePeriodSeconds;
  const comparable = {
    ...spec,
    containers: withImagesOf(spec.containers, before.containers),
    initContainers: withImagesOf(spec.initContainers, before.initContainers),
    activeDeadlineSeconds: before.activeDeadlineSeconds,
    tolerations: onlyAddedTolerations(spec.tolerations, before.tolerations) ? before.tolerations : spec.tolerations,
    terminationGracePeriodSeconds: typeof oldGrace === 'number' && oldGrace < 0 && newGrace === 1 ? oldGrace : newGrace,
    // The pods/binding subresource assigns a node through an update; once assigned it stays.
    nodeName: isUnbound(before) ? before.nodeName : spec.nodeName,
    // Checked above: what is left are some of the gates the pod had.
    schedulingGates: before.schedulingGates,
  };
  return sameJson(comparable, before) ? [] : [field.forbidden('spec', POD_UPDATE_FORBIDDEN)];
}

/** Kubernetes' default spec.terminationGracePeriodSeconds. */
const DEFAULT_POD_GRACE_SECONDS = 30;
/** The latest time a Date holds (year 275760): a grace period longer than that (valid, if absurd) ends there. */
const LATEST_TIME_MS = 8.64e15;

function graceEnd(fromMs: number, seconds: number): string {
  return timestamp(new Date(Math.min(fromMs + seconds * 1000, LATEST_TIME_MS)));
}

/** A pod is deleted gracefully while a node runs its containers: the node stops them, then removes it. */
function podDeletion(obj: KubeObject, requested: number | undefined, now: Date): DeletionPlan {
  const requestedSeconds = requested !== undefined && requested < 0 ? 1 : requested;
  const { deletionTimestamp, deletionGracePeriodSeconds: current } = obj.metadata;
  if (deletionTimestamp) {
    // Deleted without grace before (or only waiting for finalizers): nothing runs to wait for.
    if (!current) return { kind: 'now' };
    // A later request may only shorten the grace period, counted from the first request.
    if (requestedSeconds === undefined || requestedSeconds >= current) return { kind: 'pending' };
    const requestedAt = Date.parse(deletionTimestamp) - current * 1000;
    return { kind: 'graceful', deletionTimestamp: graceEnd(requestedAt, requestedSeconds), graceSeconds: requestedSeconds };
  }
  const spec = (obj.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  // No node runs an unbound or finished pod's containers: nobody would finish a graceful deletion.
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return { kind: 'now' };
  const graceSeconds = Math.max(requestedSeconds ?? spec.terminationGracePeriodSeconds ?? DEFAULT_POD_GRACE_SECONDS, 0);
  return { kind: 'graceful', deletionTimestamp: graceEnd(now.getTime(), graceSeconds), graceSeconds };
}

/** pods/{name}/binding: assigns a pod to a node, once. */
function bind(pod: KubeObject, body: unknown): KubeObject {
  const name = pod.metadata.name ?? '';
  const target = isPlainObject(body) && isPlainObject(body.target) ? body.target.name : undefined;
  if (typeof target !== 'string' || !target) throw errors.invalid('Binding', name, [field.required('target.name')]);
  const spec = specOf(pod);
  if (pod.metadata.deletionTimestamp) throw errors.conflict('pods', name, 'pod is being deleted, cannot be assigned to a host');
  if (spec.nodeName) throw errors.conflict('pods', name, `pod ${name} is already assigned to node "${String(spec.nodeName)}"`);
  if (isGated(spec)) throw errors.conflict('pods', name, `pod ${name} has non-empty .spec.schedulingGates`);
  return { ...pod, spec: { ...spec, nodeName: target } };
}

/** Kubernetes' condition on a pod created with scheduling gates (its pod strategy's applySchedulingGatedCondition). */
export const SCHEDULING_GATED_CONDITION = {
  type: 'PodScheduled',
  status: 'False',
  reason: 'SchedulingGated',
  message: 'Scheduling is blocked due to non-empty scheduling gates',
} as const;

/** Kubernetes' ValidatePodCreate: a pod is bound once nothing holds it back, so it cannot come bound and gated. */
function podCreate(pod: KubeObject): FieldCause[] {
  const spec = specOf(pod);
  return [...(isGated(spec) && !isUnbound(spec) ? [gatedNodeName()] : []), ...podRuntimeOptionErrors(pod)];
}

export const podStrategy: ResourceStrategy = {
  // The node that runs the pod reports its status; a new pod is Pending whatever the client sent, and
  // says it is gated when it is (kubectl shows SchedulingGated from that condition).
  prepareForCreate: (pod) => {
    const gated = isPlainObject(pod.spec) && isGated(pod.spec);
    pod.status = gated ? { phase: 'Pending', conditions: [{ ...SCHEDULING_GATED_CONDITION, lastTransitionTime: timestamp(new Date()) }] } : { phase: 'Pending' };
  },
  validateCreate: podCreate,
  // The annotations may change with the spec's containers fixed: they are checked again.
  validateUpdate: (pod, old) => [...podSpecUpdate(pod, old), ...podRuntimeOptionErrors(pod)],
  deletion: podDeletion,
  subresourceWrites: { binding: bind },
};
