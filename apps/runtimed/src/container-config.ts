import { errors, field, FieldCause, isBerthError } from '@berth/errors';
import type { ContainerConfig as ImageContainerConfig } from '@berth/image';
import { MAX_SECCOMP_PROFILE_BYTES, resolveGroups, resolveUser, type MountOption, type ResolvedUser, type RuntimeSpecOptions } from '@berth/oci';
import { runAsNonRootViolation, type CompleteContainerConfig, type PodSandbox } from '@berth/runtime-client';
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

/** The request's confinement as spec options; the spec builder checks what each one holds. */
export function securityOptions(request: CompleteContainerConfig): Pick<RuntimeSpecOptions, 'privileged' | 'capAdd' | 'capDrop' | 'noNewPrivileges' | 'seccomp' | 'sysctls'> {
  const { privileged, capAdd, capDrop, noNewPrivileges, sysctls, seccomp } = request.security;
  const options = { privileged, capAdd, capDrop, noNewPrivileges, sysctls };
  if (seccomp.type !== 'Localhost') return { ...options, seccomp: { type: seccomp.type === 'Unconfined' ? 'Unconfined' : 'RuntimeDefault' } };
  const invalid = (detail: string) => errors.invalid('container', request.name, [field.invalid('security.seccomp.profileJson', '<profile>', detail)]);
  if (Buffer.byteLength(seccomp.profileJson) > MAX_SECCOMP_PROFILE_BYTES) throw invalid(`must be at most ${MAX_SECCOMP_PROFILE_BYTES} bytes`);
  try {
    return { ...options, seccomp: { type: 'Localhost', profile: JSON.parse(seccomp.profileJson) as unknown } };
  } catch (err) {
    throw invalid(`is not JSON: ${(err as Error).message}`);
  }
}

/**
 * The user the process runs as, resolved in the image (docker --user), with the request's supplemental
 * groups added; a container that must not run as root and would is refused here, where both the
 * request and the image's user are known.
 */
export function processUser(rootfs: string, user: string, request: CompleteContainerConfig): ResolvedUser {
  let resolved: ResolvedUser;
  let groups: number[];
  try {
    resolved = user ? resolveUser(rootfs, user) : { uid: 0, gid: 0 };
    groups = resolveGroups(rootfs, request.security.supplementalGroups, 'security.supplementalGroups');
  } catch (err) {
    // The image's files are read without knowing the container: its name goes into the message here.
    if (isBerthError(err, 'Invalid')) throw errors.invalid('container', request.name, err.details.causes ?? []);
    throw err;
  }
  if (request.security.runAsNonRoot && resolved.uid === 0) throw runAsNonRootViolation(request.name);
  const all = [...new Set([...(resolved.additionalGids ?? []), ...groups])];
  return all.length ? { ...resolved, additionalGids: all } : { uid: resolved.uid, gid: resolved.gid };
}
