import { errors, field, FieldCause } from '@berth/errors';
import { release } from 'node:os';
import { isAbsolute, posix } from 'node:path';
import {
  ALL_CAPABILITIES,
  CPU_PERIOD_US,
  DEFAULT_CAPABILITIES,
  DEFAULT_MOUNTS,
  DEFAULT_PATH,
  DEVICE_RULES,
  MASKED_PATHS,
  MAX_ID,
  MIN_MEMORY_BYTES,
  READONLY_PATHS,
} from './defaults';
import { thermalThrottlePaths } from './host';
import { evaluateProfile } from './seccomp';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-profile';
import { MountOption, NamespaceChoice, RuntimeSpec, RuntimeSpecOptions, SpecLinux, SpecMount, SpecNamespace, SpecSeccomp } from './types';

const ENV_NAME = /^[^=\0]+$/;
const HOSTNAME = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;

function isUint(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

function absolutePath(causes: FieldCause[], path: string, value: unknown, required = true): value is string {
  if (value === undefined && !required) return false;
  if (typeof value !== 'string' || value === '') {
    causes.push(field.required(path));
    return false;
  }
  if (!isAbsolute(value) || value.includes('\0')) {
    causes.push(field.invalid(path, value, 'must be an absolute path'));
    return false;
  }
  return true;
}

/** A capability as containerd takes it (any case, with or without CAP_) in its CAP_ form; ALL stays ALL. */
export function capabilityName(name: string): string {
  const upper = name.toUpperCase();
  return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/**
 * Docker's rules: privileged gets every capability; ALL in add grants every one but the dropped; ALL in
 * drop keeps only the added; otherwise the defaults less the dropped plus the added.
 */
function capabilities(opts: RuntimeSpecOptions, causes: FieldCause[]): string[] {
  const check = (list: string[] | undefined, path: string) =>
    (list ?? []).map((raw, i) => {
      const name = capabilityName(String(raw));
      if (name !== 'ALL' && !ALL_CAPABILITIES.includes(name)) {
        causes.push(field.notSupported(`${path}[${i}]`, raw, ALL_CAPABILITIES));
      }
      return name;
    });
  const add = check(opts.capAdd, 'capAdd');
  const drop = check(opts.capDrop, 'capDrop');
  const grantable = opts.grantableCapabilities ?? ALL_CAPABILITIES;
  if (opts.privileged) return [...grantable];
  if (add.includes('ALL')) return grantable.filter((c) => !drop.includes(c));
  const kept = drop.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  return [...new Set([...kept, ...add])];
}

/** A kernel parameter's name, dotted or with slashes (Kubernetes' SysctlContainSlashPatternFmt, quoted so in messages). */
export const SYSCTL_NAME_PATTERN = '([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
export const SYSCTL_NAME = new RegExp(`^${SYSCTL_NAME_PATTERN}$`);
/** The System V IPC and POSIX queue parameters, which live in the IPC namespace (runc's list). */
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const MAX_SYSCTL_VALUE = 4096;

/** Kubernetes also writes `net/ipv4/ip_forward`: the slash form swaps dots and slashes. */
export function dottedSysctl(name: string): string {
  return name.includes('/') ? name.replace(/[./]/g, (c) => (c === '/' ? '.' : '/')) : name;
}

/**
 * Only parameters of a namespace the container has of its own can be set: anything else would change
 * the host (runc refuses those too, later and less clearly).
 */
function sysctls(opts: RuntimeSpecOptions, causes: FieldCause[]): Record<string, string> | undefined {
  const entries = Object.entries(opts.sysctls ?? {});
  if (!entries.length) return undefined;
  const result: Record<string, string> = {};
  for (const [raw, value] of entries) {
    const path = `sysctls[${raw}]`;
    const name = dottedSysctl(raw);
    if (!SYSCTL_NAME.test(raw) || name.includes('/')) {
      causes.push(field.invalid(path, raw, 'must be a kernel parameter name like net.ipv4.ip_local_port_range'));
      continue;
    }
    if (typeof value !== 'string' || value.length > MAX_SYSCTL_VALUE || /[\0\n]/.test(value)) {
      causes.push(field.invalid(path, value, `must be one line of at most ${MAX_SYSCTL_VALUE} characters`));
      continue;
    }
    const ipc = IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.');
    if (!ipc && !name.startsWith('net.')) {
      causes.push(field.forbidden(path, `${name} is not a namespaced kernel parameter (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*): setting it would change the host`));
    } else if (ipc && opts.namespaces?.ipc === 'host') {
      causes.push(field.forbidden(path, `${name} can't be set in the host's IPC namespace`));
    } else if (!ipc && opts.namespaces?.network === 'host') {
      causes.push(field.forbidden(path, `${name} can't be set in the host's network namespace`));
    } else {
      result[name] = value;
    }
  }
  return result;
}

/** The filter for the container: none when privileged or Unconfined, else the default or the node's profile for these capabilities. */
function seccomp(opts: RuntimeSpecOptions, caps: readonly string[], causes: FieldCause[]): SpecSeccomp | undefined {
  const choice = opts.seccomp ?? { type: 'RuntimeDefault' };
  if (opts.privileged || choice.type === 'Unconfined') return undefined;
  const ctx = { arch: opts.platform?.arch ?? process.arch, kernel: opts.platform?.kernel ?? release(), capabilities: caps };
  switch (choice.type) {
    case 'RuntimeDefault':
      return evaluateProfile(DEFAULT_SECCOMP_PROFILE, ctx, causes, 'seccomp');
    case 'Localhost':
      return evaluateProfile(choice.profile, ctx, causes, 'seccomp.profile');
    default:
      causes.push(field.notSupported('seccomp.type', (choice as { type: unknown }).type, ['RuntimeDefault', 'Unconfined', 'Localhost']));
      return undefined;
  }
}

function processEnv(opts: RuntimeSpecOptions, causes: FieldCause[]): string[] {
  const env = opts.env ?? [];
  env.forEach((entry, i) => {
    const eq = typeof entry === 'string' ? entry.indexOf('=') : -1;
    if (eq <= 0 || !ENV_NAME.test(entry.slice(0, eq)) || entry.includes('\0')) {
      causes.push(field.invalid(`env[${i}]`, entry, 'must be NAME=VALUE'));
    }
  });
  return env.some((e) => typeof e === 'string' && e.startsWith('PATH=')) ? [...env] : [`PATH=${DEFAULT_PATH}`, ...env];
}

/** `/a/b/` and `/a//b` name the same place as `/a/b`. */
function normalizeDestination(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

function extraMount(mount: MountOption, i: number, causes: FieldCause[]): SpecMount | undefined {
  const path = `mounts[${i}]`;
  let destinationOk = absolutePath(causes, `${path}.destination`, mount.destination);
  if (destinationOk && normalizeDestination(mount.destination) === '/') {
    causes.push(field.invalid(`${path}.destination`, mount.destination, 'cannot mount over the root'));
    destinationOk = false;
  }
  const access = mount.readOnly ? 'ro' : 'rw';
  switch (mount.type) {
    case 'bind':
    case 'volume':
      if (!absolutePath(causes, `${path}.source`, mount.source) || !destinationOk) return undefined;
      return { destination: normalizeDestination(mount.destination), type: 'bind', source: mount.source, options: ['rbind', 'rprivate', access] };
    case 'tmpfs': {
      const options = ['nosuid', 'nodev', 'noexec', access];
      if (mount.mode !== undefined) {
        if (!isUint(mount.mode, 0o7777)) causes.push(field.invalid(`${path}.mode`, mount.mode, 'must be a file mode from 0 to 07777'));
        else options.push(`mode=${mount.mode.toString(8)}`);
      } else {
        options.push('mode=1777');
      }
      if (mount.sizeBytes !== undefined) {
        if (!isUint(mount.sizeBytes) || mount.sizeBytes === 0) causes.push(field.invalid(`${path}.sizeBytes`, mount.sizeBytes, 'must be a positive integer'));
        else options.push(`size=${mount.sizeBytes}`);
      }
      if (!destinationOk) return undefined;
      return { destination: normalizeDestination(mount.destination), type: 'tmpfs', source: 'tmpfs', options };
    }
    default:
      causes.push(field.notSupported(`${path}.type`, (mount as { type: unknown }).type, ['bind', 'volume', 'tmpfs']));
      return undefined;
  }
}

function mounts(opts: RuntimeSpecOptions, causes: FieldCause[]): SpecMount[] {
  const extra: SpecMount[] = [];
  const seen = new Set<string>();
  (opts.mounts ?? []).forEach((option, i) => {
    const mount = extraMount(option, i, causes);
    if (!mount) return;
    if (seen.has(mount.destination)) causes.push(field.duplicate(`mounts[${i}].destination`, option.destination));
    seen.add(mount.destination);
    extra.push(mount);
  });
  // A mount the caller asks for replaces a default at the same place (e.g. a bigger /dev/shm).
  const defaults = DEFAULT_MOUNTS.filter((m) => !seen.has(m.destination)).map((m) => ({ ...m, options: [...m.options] }));
  // Privileged containers may write to sysfs and cgroupfs, as in Docker.
  if (opts.privileged) for (const m of defaults) if (m.type === 'sysfs' || m.type === 'cgroup') m.options = m.options.filter((o) => o !== 'ro');
  return [...defaults, ...extra];
}

function namespaces(opts: RuntimeSpecOptions, causes: FieldCause[]): SpecNamespace[] {
  const chosen: Record<'network' | 'ipc' | 'uts' | 'pid', NamespaceChoice> = {
    pid: opts.namespaces?.pid,
    ipc: opts.namespaces?.ipc,
    uts: opts.namespaces?.uts,
    network: opts.namespaces?.network,
  };
  const result: SpecNamespace[] = [];
  for (const [type, choice] of Object.entries(chosen) as Array<[SpecNamespace['type'], NamespaceChoice]>) {
    if (choice === 'host') continue;
    if (choice === undefined) result.push({ type });
    else if (absolutePath(causes, `namespaces.${type}`, choice)) result.push({ type, path: choice });
  }
  result.push({ type: 'mount' });
  return result;
}

function resources(opts: RuntimeSpecOptions, causes: FieldCause[]): SpecLinux['resources'] {
  const r = opts.resources ?? {};
  const out: SpecLinux['resources'] = { devices: opts.privileged ? [{ allow: true, access: 'rwm' }] : DEVICE_RULES.map((d) => ({ ...d })) };
  if (r.memoryBytes !== undefined) {
    if (!isUint(r.memoryBytes) || r.memoryBytes < MIN_MEMORY_BYTES) {
      causes.push(field.invalid('resources.memoryBytes', r.memoryBytes, `must be an integer of at least ${MIN_MEMORY_BYTES} (6 MiB)`));
    } else {
      out.memory = { limit: r.memoryBytes };
    }
  }
  const cpu: NonNullable<SpecLinux['resources']['cpu']> = {};
  if (r.cpus !== undefined) {
    const quota = typeof r.cpus === 'number' && Number.isFinite(r.cpus) ? Math.round(r.cpus * CPU_PERIOD_US) : NaN;
    if (!(quota >= 1000)) causes.push(field.invalid('resources.cpus', r.cpus, 'must be a number of cores of at least 0.01'));
    else Object.assign(cpu, { quota, period: CPU_PERIOD_US });
  }
  if (r.cpuShares !== undefined) {
    if (!isUint(r.cpuShares, 262144) || r.cpuShares < 2) causes.push(field.invalid('resources.cpuShares', r.cpuShares, 'must be an integer from 2 to 262144'));
    else cpu.shares = r.cpuShares;
  }
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pidsLimit !== undefined) {
    if (!isUint(r.pidsLimit) || r.pidsLimit < 1) causes.push(field.invalid('resources.pidsLimit', r.pidsLimit, 'must be a positive integer'));
    else out.pids = { limit: r.pidsLimit };
  }
  return out;
}

/**
 * An OCI runtime config.json with Docker's defaults: default capabilities, the default seccomp profile,
 * masked and read-only /proc and /sys paths, the device cgroup allow-list, NOFILE 1024, and new pid,
 * ipc, uts, mount and network namespaces unless the container joins a sandbox's; privileged lifts all
 * of that as `docker run --privileged` does. Throws Invalid (with one cause per bad field) for bad options.
 */
export function buildRuntimeSpec(opts: RuntimeSpecOptions): RuntimeSpec {
  const causes: FieldCause[] = [];
  if (!Array.isArray(opts.args) || opts.args.length === 0) causes.push(field.required('args', 'a command to run'));
  else opts.args.forEach((a, i) => typeof a !== 'string' && causes.push(field.typeInvalid(`args[${i}]`, a, 'must be a string')));
  const cwd = opts.cwd ?? '/';
  absolutePath(causes, 'cwd', cwd);
  const user = opts.user ?? { uid: 0, gid: 0 };
  if (!isUint(user.uid, MAX_ID)) causes.push(field.invalid('user.uid', user.uid, 'must be an integer from 0 to 4294967294'));
  if (!isUint(user.gid, MAX_ID)) causes.push(field.invalid('user.gid', user.gid, 'must be an integer from 0 to 4294967294'));
  (user.additionalGids ?? []).forEach((g, i) => !isUint(g, MAX_ID) && causes.push(field.invalid(`user.additionalGids[${i}]`, g, 'must be a group id')));
  const ownUts = opts.namespaces?.uts === undefined;
  if (opts.hostname !== undefined) {
    if (!ownUts) causes.push(field.forbidden('hostname', 'only a container with its own UTS namespace can set a hostname'));
    else if (opts.hostname.length > 63 || !HOSTNAME.test(opts.hostname)) causes.push(field.invalid('hostname', opts.hostname, 'must be a valid host name of at most 63 characters'));
  }
  if (opts.cgroupsPath !== undefined) absolutePath(causes, 'cgroupsPath', opts.cgroupsPath);
  const rootfs = opts.rootfs ?? 'rootfs';
  if (!rootfs || rootfs.includes('\0')) causes.push(field.invalid('rootfs', rootfs, 'must be a path'));

  const caps = capabilities(opts, causes);
  const spec: RuntimeSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: !!opts.terminal,
      user: user.additionalGids?.length ? { uid: user.uid, gid: user.gid, additionalGids: [...user.additionalGids] } : { uid: user.uid, gid: user.gid },
      args: Array.isArray(opts.args) ? [...opts.args] : [],
      env: processEnv(opts, causes),
      cwd,
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: !!opts.noNewPrivileges,
    },
    root: { path: rootfs, readonly: !!opts.readonlyRootfs },
    mounts: mounts(opts, causes),
    linux: {
      namespaces: namespaces(opts, causes),
      resources: resources(opts, causes),
      maskedPaths: opts.privileged ? [] : [...MASKED_PATHS, ...thermalThrottlePaths()],
      readonlyPaths: opts.privileged ? [] : [...READONLY_PATHS],
    },
  };
  if (opts.privileged) spec.linux.devices = (opts.hostDevices ?? []).map((d) => ({ ...d }));
  const filter = seccomp(opts, caps, causes);
  if (filter) spec.linux.seccomp = filter;
  const kernelParameters = sysctls(opts, causes);
  if (kernelParameters) spec.linux.sysctl = kernelParameters;
  if (opts.hostname !== undefined) spec.hostname = opts.hostname;
  if (opts.cgroupsPath !== undefined) spec.linux.cgroupsPath = opts.cgroupsPath;
  if (causes.length) throw errors.invalid('container', opts.name ?? '', causes);
  return spec;
}
