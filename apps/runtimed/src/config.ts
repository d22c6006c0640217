import { DEFAULT_PLUGIN_DIRS } from '@berth/cni';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/berth/runtime';
export const DEFAULT_SOCKET = '/run/berth/runtimed.sock';
export const DEFAULT_CGROUP_PARENT = '/berth';
export const DEFAULT_CNI_BRIDGE = 'berth0';
/** Debian's containernetworking-plugins. */
export const DEFAULT_CNI_BIN_DIR = DEFAULT_PLUGIN_DIRS.join(':');
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {}

export interface RuntimedConfig {
  /** Persistent data: content, snapshots, containers (bundles), sandboxes, volumes. */
  root: string;
  /** The gRPC socket. */
  socket: string;
  /**
   * Per-boot state beside the socket (the DESIGN's <run>/berth): shim sockets, runc's state,
   * sandboxes' namespace files. Tests put the socket in a temp dir and so everything else too.
   */
  stateDir: string;
  /** Parent of every container's cgroup (runc cgroupsPath <parent>/<id>). */
  cgroupParent: string;
  /** The pod network's bridge on this node. */
  cniBridge: string;
  /** Where the CNI plugin binaries are, in search order. */
  cniBinDirs: string[];
  logLevel: string;
}

const USAGE = 'usage: berth runtimed [--root DIR] [--socket PATH] [--cgroup-parent PATH] [--cni-bridge NAME] [--cni-bin-dir DIR[:DIR...]] [--log-level LEVEL]';
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** `berth runtimed` flags; a bad one is a ConfigError with a one-line message. */
export function parseRuntimedFlags(argv: string[]): RuntimedConfig {
  const values: Record<string, string> = {};
  const known = new Set(['--root', '--socket', '--cgroup-parent', '--cni-bridge', '--cni-bin-dir', '--log-level']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--help' || name === '-h') throw new ConfigError(USAGE);
    if (!known.has(name)) throw new ConfigError(`unknown flag ${JSON.stringify(arg)} (${USAGE})`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new ConfigError(`flag ${name} needs a value`);
    values[name] = value;
  }
  const root = resolve(values['--root'] ?? DEFAULT_ROOT);
  const socket = resolve(values['--socket'] ?? DEFAULT_SOCKET);
  if (/[,:]/.test(root)) throw new ConfigError(`--root ${root}: must not contain "," or ":" (overlay mount options are lists of paths)`);
  const cgroupParent = values['--cgroup-parent'] ?? DEFAULT_CGROUP_PARENT;
  if (!isAbsolute(cgroupParent) || !/^(\/[A-Za-z0-9_.-]+)+$/.test(cgroupParent)) {
    throw new ConfigError(`--cgroup-parent ${cgroupParent}: must be an absolute cgroup path like /berth`);
  }
  const cniBridge = values['--cni-bridge'] ?? DEFAULT_CNI_BRIDGE;
  if (!INTERFACE_NAME.test(cniBridge)) throw new ConfigError(`--cni-bridge ${cniBridge}: must be an interface name of at most 15 characters`);
  const cniBinDirs = (values['--cni-bin-dir'] ?? DEFAULT_CNI_BIN_DIR).split(':').filter(Boolean);
  const relative = cniBinDirs.find((dir) => !isAbsolute(dir));
  if (relative !== undefined || !cniBinDirs.length) throw new ConfigError(`--cni-bin-dir ${values['--cni-bin-dir']}: must be absolute directories separated by ":"`);
  const logLevel = values['--log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level ${logLevel}: must be one of ${LOG_LEVELS.join(', ')}`);
  // A shim's socket path (plus ".console") must fit the 108 bytes of a unix socket address.
  if (join(dirname(socket), 'shims', `${'f'.repeat(24)}.sock.console`).length > 107) {
    throw new ConfigError(`--socket ${socket}: its directory is too long for shim sockets beside it`);
  }
  return { root, socket, stateDir: dirname(socket), cgroupParent, cniBridge, cniBinDirs, logLevel };
}

/** Where each kind of runtime state lives. */
export class RuntimePaths {
  constructor(readonly config: Pick<RuntimedConfig, 'root' | 'stateDir'>) {}

  get containers(): string {
    return join(this.config.root, 'containers');
  }
  get sandboxes(): string {
    return join(this.config.root, 'sandboxes');
  }
  get volumes(): string {
    return join(this.config.root, 'volumes');
  }
  /** The node's pod network: its pod CIDR (network.json), host-local's reservations (ipam/) and the CNI cache (cni/). */
  get network(): string {
    return join(this.config.root, 'network');
  }
  get scratch(): string {
    return join(this.config.root, 'tmp');
  }
  get shims(): string {
    return join(this.config.stateDir, 'shims');
  }
  get runcRoot(): string {
    return join(this.config.stateDir, 'runc');
  }
  get namespaces(): string {
    return join(this.config.stateDir, 'netns');
  }
  bundle(id: string): string {
    return join(this.containers, id);
  }
  /** Shorter than the id so the path fits a socket address; unique because ids are checked for it. */
  shimSocket(id: string): string {
    return join(this.shims, `${id.slice(0, 24)}.sock`);
  }
}
