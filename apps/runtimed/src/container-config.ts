import { errors, field, FieldCause } from '@berth/errors';
import type { ContainerConfig as ImageContainerConfig } from '@berth/image';
import type { MountOption } from '@berth/oci';
import type { PodSandbox } from '@berth/runtime-client';
import { posix } from 'node:path';

/** What the caller asked for, with every field present (the proto's defaults). */
export interface ContainerRequest {
  name: string;
  image: string;
  entrypoint: string[];
  overrideEntrypoint: boolean;
  command: string[];
  env: string[];
  workingDir: string;
  user: string;
  tty: boolean;
  openStdin: boolean;
  readOnlyRootfs: boolean;
  mounts: Array<{ type: string; source: string; destination: string; readOnly: boolean; sizeBytes: number; mode: number }>;
  resources: { memoryBytes: number; cpus: number; cpuShares: number; pidsLimit: number };
  labels: Record<string, string>;
  sandboxId: string;
  autoRemove: boolean;
  hostname: string;
  network: string;
}

export interface ProcessConfig {
  args: string[];
  env: string[];
  cwd: string;
  /** name|uid[:group|gid], '' for root. */
  user: string;
}

/** Missing fields of a request (a client that sent a partial message) get the proto's defaults. */
export function normalizeRequest(request: Partial<ContainerRequest>): ContainerRequest {
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
      type: m.type ?? '',
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

/** Environment entries by name, later ones winning, in first-seen order (docker's merge). */
export function mergeEnv(...lists: string[][]): string[] {
  const merged = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf('=');
      merged.set(eq < 0 ? entry : entry.slice(0, eq), entry);
    }
  }
  return [...merged.values()];
}

/**
 * The process to run, as docker computes it: the request's entrypoint replaces the image's (and then
 * drops the image's Cmd); a request command replaces the image's Cmd; env merges over the image's;
 * working dir and user fall back to the image's.
 */
export function processConfig(image: ImageContainerConfig | undefined, request: ContainerRequest): ProcessConfig {
  const entrypoint = request.overrideEntrypoint ? request.entrypoint : (image?.Entrypoint ?? []);
  const command = request.command.length ? request.command : request.overrideEntrypoint ? [] : (image?.Cmd ?? []);
  const args = [...entrypoint, ...command];
  const causes: FieldCause[] = [];
  if (args.length === 0) causes.push(field.required('command', 'the image has no Cmd or Entrypoint, so give a command'));
  const cwd = request.workingDir || image?.WorkingDir || '/';
  if (!cwd.startsWith('/')) causes.push(field.invalid('workingDir', cwd, 'must be an absolute path'));
  if (causes.length) throw errors.invalid('container', request.name, causes);
  return { args, env: mergeEnv(image?.Env ?? [], request.env), cwd, user: request.user || image?.User || '' };
}

/**
 * The sandbox's hosts, resolv.conf and hostname files, bound read-only at /etc/hosts, /etc/resolv.conf
 * and /etc/hostname, except where the container mounts something of its own.
 */
export function sandboxFileMounts(sandbox: Pick<PodSandbox, 'hostsPath' | 'resolvConfPath' | 'hostnamePath'>, mounts: readonly MountOption[]): MountOption[] {
  const taken = new Set(mounts.map((m) => posix.normalize(m.destination).replace(/(.)\/+$/, '$1')));
  return [
    [sandbox.hostsPath, '/etc/hosts'],
    [sandbox.resolvConfPath, '/etc/resolv.conf'],
    [sandbox.hostnamePath, '/etc/hostname'],
  ]
    .filter(([source, destination]) => source && !taken.has(destination!))
    .map(([source, destination]) => ({ type: 'bind', source: source!, destination: destination!, readOnly: true }));
}
