/**
 * securityContext rules: Kubernetes' own, and what a berth node can't honour, refused here with 422
 * rather than accepted and then failed on the node (capability names, the kubelet's safe sysctls).
 */
import { field } from '@berth/errors';
import { ALL_CAPABILITIES, capabilityName, dottedSysctl, SYSCTL_NAME, SYSCTL_NAME_PATTERN } from '@berth/oci';
import type { Check, Problem } from '../../../schema/fields';
import { isPlainObject, problem } from '../../../schema/fields';
import { between } from '../../../schema/checks';
import { localDescendingPathErrors, syntax } from '../../../schema/syntax';

const MAX_ID = 2147483647;

/** Kubernetes' range for uids and gids (a non-negative int32). */
export const userOrGroupId = between(0, MAX_ID);

export const userOrGroupIds: Check<number[]> = (ids) =>
  ids.flatMap((id, i) => (id >= 0 && id <= MAX_ID ? [] : [problem(field.invalid('', id, `must be between 0 and ${MAX_ID}, inclusive`), `[${i}]`)]));

/** Names as containerd takes them: with or without CAP_, any case, or ALL. */
export const capabilityNames: Check<string[]> = (names) =>
  names.flatMap((name, i) => {
    const full = capabilityName(name);
    return full === 'ALL' || ALL_CAPABILITIES.includes(full) ? [] : [problem(field.invalid('', name, 'must be a Linux capability such as NET_ADMIN or CAP_NET_ADMIN, or ALL'), `[${i}]`)];
  });

/** localhostProfile goes with type Localhost, and only there. */
export const localhostProfileFitsType: Check<string> = (profile, owner) =>
  owner.type === 'Localhost' ? undefined : problem(field.invalid('', profile, 'can only be set when seccomp type is Localhost'));

/** A path below the node's seccomp directory (kubelet's validateLocalDescendingPath), without the NUL no file name holds. */
export const localhostProfilePath: Check<string> = syntax((path) => [...localDescendingPathErrors(path), ...(path.includes('\0') ? ['must not contain a NUL character'] : [])]);

export const localhostNeedsProfile = (owner: Record<string, unknown>): boolean => owner.type === 'Localhost';

/** Kubernetes refuses a container that is denied privilege escalation yet privileged or CAP_SYS_ADMIN. */
export const escalationConsistent: Check<Record<string, unknown>> = (context) => {
  if (context.allowPrivilegeEscalation !== false) return undefined;
  const problems: Problem[] = [];
  if (context.privileged === true) problems.push(problem(field.invalid('', false, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'), '.allowPrivilegeEscalation'));
  const add = isPlainObject(context.capabilities) && Array.isArray(context.capabilities.add) ? context.capabilities.add : [];
  if (add.some((c) => typeof c === 'string' && capabilityName(c) === 'CAP_SYS_ADMIN')) {
    problems.push(problem(field.invalid('', false, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'), '.allowPrivilegeEscalation'));
  }
  return problems;
};

/**
 * The sysctls the kubelet allows without --allowed-unsafe-sysctls: namespaced, and unable to hurt the node
 * or other pods. berth's nodes allow exactly these.
 */
export const SAFE_SYSCTLS: readonly string[] = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];

const SYSCTL_MAX = 253;

/** Each name well-formed, once, and one of the safe ones. */
export const sysctlNames: Check<Array<Record<string, unknown>>> = (sysctls) => {
  const seen = new Set<string>();
  return sysctls.flatMap((sysctl, i) => {
    const name = isPlainObject(sysctl) ? sysctl.name : undefined;
    if (typeof name !== 'string' || name === '') return [];
    const at = `[${i}].name`;
    if (name.length > SYSCTL_MAX || !SYSCTL_NAME.test(name)) {
      return [problem(field.invalid('', name, `must have at most ${SYSCTL_MAX} characters and match regex ${SYSCTL_NAME_PATTERN}`), at)];
    }
    const dotted = dottedSysctl(name);
    if (seen.has(dotted)) return [problem(field.duplicate('', name), at)];
    seen.add(dotted);
    if (!SAFE_SYSCTLS.includes(dotted)) return [problem(field.forbidden('', `sysctl ${JSON.stringify(name)} is not allowed on berth's nodes: only the kubelet's safe sysctls (${SAFE_SYSCTLS.join(', ')})`), at)];
    return [];
  });
};

/** On a pod that uses the host's network or IPC namespace, its sysctls would change the host's (Kubernetes refuses them). */
export const sysctlsFitNamespaces: Check<Record<string, unknown>> = (context, spec) => {
  const sysctls = Array.isArray(context.sysctls) ? context.sysctls : [];
  return sysctls.flatMap((sysctl: unknown, i: number) => {
    const name = isPlainObject(sysctl) && typeof sysctl.name === 'string' ? dottedSysctl(sysctl.name) : '';
    if (spec.hostNetwork === true && name.startsWith('net.')) return [problem(field.invalid('', sysctl && (sysctl as Record<string, unknown>).name, "may not be specified when 'hostNetwork' is true"), `.sysctls[${i}].name`)];
    // Kubernetes' rule (kubelet's sysctl namespaces, by prefix), not runc's list of names that @berth/oci applies on the node.
    const ipc = name.startsWith('kernel.shm') || name.startsWith('kernel.msg') || name === 'kernel.sem' || name.startsWith('fs.mqueue.');
    if (spec.hostIPC === true && ipc) return [problem(field.invalid('', (sysctl as Record<string, unknown>).name, "may not be specified when 'hostIPC' is true"), `.sysctls[${i}].name`)];
    return [];
  });
};
