/** The parts of the OCI runtime spec (config.json, version 1.0.2) that berth writes. */
export interface RuntimeSpec {
  ociVersion: string;
  process: SpecProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: SpecMount[];
  linux: SpecLinux;
}

export interface SpecProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
  rlimits: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges: boolean;
}

export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface SpecNamespace {
  type: 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user';
  path?: string;
}

export interface SpecDeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access: string;
}

/** A device node runc creates in the container's /dev (a privileged container gets the host's). */
export interface SpecDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface SpecSyscallArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SpecSyscallRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SpecSyscallArg[];
}

/** The OCI `linux.seccomp`: the filter runc installs before the container's process starts. */
export interface SpecSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls: SpecSyscallRule[];
}

export interface SpecLinux {
  namespaces: SpecNamespace[];
  resources: {
    devices: SpecDeviceRule[];
    memory?: { limit: number };
    cpu?: { shares?: number; quota?: number; period?: number };
    pids?: { limit: number };
  };
  cgroupsPath?: string;
  maskedPaths: string[];
  readonlyPaths: string[];
  devices?: SpecDevice[];
  seccomp?: SpecSeccomp;
  sysctl?: Record<string, string>;
}

/** A volume or host directory bound into the container, or a tmpfs. */
export type MountOption =
  | { type: 'bind'; source: string; destination: string; readOnly?: boolean }
  /** A named volume: runtimed passes the volume's data directory as source. */
  | { type: 'volume'; source: string; destination: string; readOnly?: boolean }
  | { type: 'tmpfs'; destination: string; readOnly?: boolean; sizeBytes?: number; mode?: number };

export type SeccompChoice = { type: 'RuntimeDefault' } | { type: 'Unconfined' } | { type: 'Localhost'; profile: unknown };

/**
 * How the container gets a namespace: a new one (omitted), an existing one by path (a pod
 * sandbox's, e.g. /var/run/netns/NAME or /proc/PID/ns/ipc), or the host's (`'host'`).
 */
export type NamespaceChoice = string | 'host' | undefined;

export interface RuntimeSpecOptions {
  /** Names the container in validation errors. */
  name?: string;
  args: string[];
  /** KEY=VALUE; PATH is added when missing, as Docker does. */
  env?: string[];
  /** Absolute; '/' when omitted. */
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  terminal?: boolean;
  /** The rootfs, relative to the bundle ('rootfs' when omitted) or absolute. */
  rootfs?: string;
  readonlyRootfs?: boolean;
  /** Only with a UTS namespace of its own. */
  hostname?: string;
  mounts?: MountOption[];
  namespaces?: { network?: NamespaceChoice; ipc?: NamespaceChoice; uts?: NamespaceChoice; pid?: NamespaceChoice };
  resources?: {
    memoryBytes?: number;
    /** CPU limit in cores (docker --cpus): becomes a CFS quota over a 100 ms period. */
    cpus?: number;
    /** Relative CPU weight (docker --cpu-shares, Kubernetes requests); 2..262144. */
    cpuShares?: number;
    pidsLimit?: number;
  };
  /** Capabilities beyond Docker's default set, and ones to remove from it (CAP_ prefix optional; 'ALL' drops every one). */
  capAdd?: string[];
  capDrop?: string[];
  /**
   * What 'ALL' and privileged grant: the capabilities this runtime holds itself (containerd's choice, so
   * that a runtime without some capability can still run privileged containers); every one Linux
   * defines when omitted.
   */
  grantableCapabilities?: readonly string[];
  /**
   * docker --privileged: every grantable capability, the host's devices (hostDevices) with no device
   * cgroup limit, /sys and cgroupfs writable, nothing masked or read-only in /proc, no seccomp filter.
   * capAdd, capDrop and seccomp are ignored.
   */
  privileged?: boolean;
  /** The host's device nodes, for a privileged container. */
  hostDevices?: readonly SpecDevice[];
  /** no_new_privs: setuid binaries and file capabilities can't raise the process's privileges (off, as in Docker). */
  noNewPrivileges?: boolean;
  /** Docker's default profile when omitted or RuntimeDefault; Localhost: a profile in Docker's JSON format. */
  seccomp?: SeccompChoice;
  /** Namespaced kernel parameters (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, net.*), set in the container's namespaces. */
  sysctls?: Record<string, string>;
  /** The architecture, kernel and capabilities seccomp rules are chosen for: this host's when omitted (tests pass others). */
  platform?: { arch: string; kernel: string };
  /** runc's cgroupsPath, e.g. /berth/<id>. */
  cgroupsPath?: string;
}
