import { errors, field } from '@berth/errors';
import type { CompleteContainerConfig, ContainerConfig, MountSpec } from './types';

const MOUNT_TYPES: readonly MountSpec['type'][] = ['volume', 'bind', 'tmpfs'];

/**
 * A CreateContainer request as runtimed (and the fake runtime, which must answer alike) keeps it: missing
 * fields (a client that sent a partial message) get the proto's defaults; a mount of an unknown type is Invalid.
 */
export function completeContainerConfig(request: Partial<ContainerConfig>): CompleteContainerConfig {
  const unsupported = (request.mounts ?? []).flatMap((m, i) => (MOUNT_TYPES.includes(m.type) ? [] : [field.notSupported(`mounts[${i}].type`, m.type, MOUNT_TYPES)]));
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
  };
}
