import { BerthError, errors, field, FieldCause } from '@berth/errors';
import type { CompleteContainerConfig, ContainerConfig, MountSpec, SeccompProfile } from './types';

const MOUNT_TYPES: readonly MountSpec['type'][] = ['volume', 'bind', 'tmpfs'];
const SECCOMP_TYPES: readonly NonNullable<SeccompProfile['type']>[] = ['', 'RuntimeDefault', 'Unconfined', 'Localhost'];

/**
 * What runtimed answers when a container that must not run as root would (kubelet's wording): Invalid,
 * so the agent reports it as CreateContainerConfigError.
 */
export function runAsNonRootViolation(name: string): BerthError {
  return errors.invalid('container', name, [field.forbidden('security.runAsNonRoot', 'container has runAsNonRoot and image will run as root')]);
}

/**
 * A CreateContainer request as runtimed (and the fake runtime, which must answer alike) keeps it: missing
 * fields (a client that sent a partial message) get the proto's defaults; a mount of an unknown type is Invalid.
 */
export function completeContainerConfig(request: Partial<ContainerConfig>): CompleteContainerConfig {
  const unsupported: FieldCause[] = (request.mounts ?? []).flatMap((m, i) => (MOUNT_TYPES.includes(m.type) ? [] : [field.notSupported(`mounts[${i}].type`, m.type, MOUNT_TYPES)]));
  const security = request.security ?? {};
  const seccompType = security.seccomp?.type ?? '';
  if (!SECCOMP_TYPES.includes(seccompType)) unsupported.push(field.notSupported('security.seccomp.type', seccompType, SECCOMP_TYPES.slice(1)));
  if (seccompType === 'Localhost' && !security.seccomp?.profileJson) unsupported.push(field.required('security.seccomp.profileJson', 'a Localhost profile'));
  if (unsupported.length) throw errors.invalid('container', request.name ?? '', unsupported);
  return {
    name: request.name ?? '',
    image: request.image ?? '',
    entrypoint: request.entrypoint ?? [],
    overrideEntrypoint: !!request.overrideEntrypoint,
    command: request.command ?? [],
    env: request.env ?? [],
    workingDir: request.workingDir ?? '',
    user: request.user ?? '',
    tty: !!request.tty,
    openStdin: !!request.openStdin,
    readOnlyRootfs: !!request.readOnlyRootfs,
    mounts: (request.mounts ?? []).map((m) => ({
      type: m.type,
      source: m.source ?? '',
      destination: m.destination ?? '',
      readOnly: !!m.readOnly,
      sizeBytes: m.sizeBytes ?? 0,
      mode: m.mode ?? 0,
    })),
    resources: {
      memoryBytes: request.resources?.memoryBytes ?? 0,
      cpus: request.resources?.cpus ?? 0,
      cpuShares: request.resources?.cpuShares ?? 0,
      pidsLimit: request.resources?.pidsLimit ?? 0,
    },
    labels: request.labels ?? {},
    sandboxId: request.sandboxId ?? '',
    autoRemove: !!request.autoRemove,
    hostname: request.hostname ?? '',
    network: request.network ?? '',
    stopSignal: request.stopSignal ?? '',
    init: !!request.init,
    security: {
      privileged: !!security.privileged,
      capAdd: security.capAdd ?? [],
      capDrop: security.capDrop ?? [],
      seccomp: { type: seccompType || 'RuntimeDefault', profileJson: security.seccomp?.profileJson ?? '' },
      noNewPrivileges: !!security.noNewPrivileges,
      runAsNonRoot: !!security.runAsNonRoot,
      sysctls: security.sysctls ?? {},
      supplementalGroups: security.supplementalGroups ?? [],
    },
  };
}
