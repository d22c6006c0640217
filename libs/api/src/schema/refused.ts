/**
 * Pod fields berth accepts in the Kubernetes schema but does not carry out. Each is refused with 422
 * (Forbidden, naming the field) rather than stored and then ignored, or failed on the node: a pod means
 * what it says. Pod templates of Deployments and ReplicaSets get the same checks. An entry goes when
 * berth honours the field.
 */
import { field } from '@berth/errors';
import type { Check } from './fields';
import { problem } from './fields';

const NOT_SUPPORTED = 'not supported by berth';

/** Refuses the field whenever it is set. */
export function refused(why: string): Check<unknown> {
  return () => problem(field.forbidden('', `${NOT_SUPPORTED}: ${why}`));
}

/** Refuses the field when its value asks for what berth does not do (`hostPID: true`, not `false`). */
export function refusedWhen<T>(asksTooMuch: (value: T) => boolean, why: string): Check<T> {
  return (value) => (asksTooMuch(value) ? problem(field.forbidden('', `${NOT_SUPPORTED}: ${why}`)) : undefined);
}

const isTrue = (value: boolean) => value === true;
const notEmpty = (value: string | unknown[] | Record<string, unknown>) =>
  typeof value === 'string' ? value !== '' : Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0;

export const why = {
  hostPID: refusedWhen(isTrue, "a pod's containers never share the node's PID namespace"),
  hostIPC: refusedWhen(isTrue, "a pod's containers never share the node's IPC namespace"),
  shareProcessNamespace: refusedWhen(isTrue, "each container of a pod has a PID namespace of its own"),
  hostUsers: refusedWhen((value: boolean) => value === false, 'containers run without user namespaces'),
  runtimeClassName: refusedWhen(notEmpty, 'there are no RuntimeClasses: every container runs with runc'),
  overhead: refusedWhen(notEmpty, 'pod overhead comes from a RuntimeClass, and there are none'),
  priorityClassName: refusedWhen(notEmpty, 'there are no PriorityClasses: pods are neither ordered nor preempted by priority'),
  priority: refusedWhen((value: number) => value !== 0, 'there are no PriorityClasses: pods are neither ordered nor preempted by priority'),
  windows: refusedWhen((value: string) => value === 'windows', 'every node runs Linux'),
  clusterTrustBundle: refused('there are no ClusterTrustBundles'),
  procMount: refusedWhen((value: string) => value === 'Unmasked', "/proc is always masked as Docker masks it (Unmasked needs user namespaces)"),
  appArmorProfile: refusedWhen((value: { type?: string }) => value.type !== 'Unconfined', 'nodes enforce no AppArmor profiles (seccomp and capabilities confine containers)'),
  seLinuxOptions: refusedWhen((value: Record<string, unknown>) => Object.values(value).some((v) => v !== undefined && v !== ''), 'nodes do not label containers for SELinux'),
  windowsOptions: refusedWhen(notEmpty, 'every node runs Linux'),
  supplementalGroupsPolicy: refusedWhen((value: string) => value === 'Strict', "the groups the image's /etc/group gives the user are always added (Merge)"),
  mountPropagation: refusedWhen((value: string) => value !== 'None', 'mounts do not propagate between host and container (only None)'),
};
