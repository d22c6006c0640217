import { errors, field, FieldCause } from '@berth/errors';
import type { ContainerConfig as ImageContainerConfig } from '@berth/image';
import type { MountOption } from '@berth/oci';
import type { CompleteContainerConfig, PodSandbox } from '@berth/runtime-client';
import { posix } from 'node:path';

export interface ProcessConfig {
  args: string[];
  env: string[];
  cwd: string;
  /** name|uid[:group|gid], '' for root. */
  user: string;
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
export function processConfig(image: ImageContainerConfig | undefined, request: CompleteContainerConfig): ProcessConfig {
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
