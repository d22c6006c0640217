import { DEFAULT_PLUGIN_DIRS } from '@berth/cni';
import { daemonCommand, describedParser, FlagError, LOG_LEVELS, logLevelFlag, parseCommand } from '@berth/flags';
import { DEFAULT_CGROUP_PARENT, DEFAULT_CNI_BRIDGE, DEFAULT_RUNTIMED_SOCKET, isCgroupPath, isInterfaceName } from '@berth/runtime-client';
import { type Command, InvalidArgumentError } from 'commander';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/berth/runtime';
/** k3s' registries.yaml, berth's path: mirrors, auth and TLS per registry. */
export const DEFAULT_REGISTRIES_CONFIG = '/etc/berth/registries.yaml';
/** Debian's containernetworking-plugins. */
export const DEFAULT_CNI_BIN_DIR = DEFAULT_PLUGIN_DIRS.join(':');
/** A bad flag (one line): the flags library's, so the parser's own errors and these are one kind. */
export const ConfigError = FlagError;

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
  /** registries.yaml (k3s format); a missing file is no configuration. */
  registriesConfig: string;
  logLevel: string;
}

function rootDir(value: string): string {
  const root = resolve(value);
  if (/[,:]/.test(root)) throw new InvalidArgumentError('must not contain "," or ":" (overlay mount options are lists of paths)');
  return root;
}

function socketPath(value: string): string {
  const socket = resolve(value);
  // A shim's socket path (plus ".console") must fit the 108 bytes of a unix socket address.
  if (join(dirname(socket), 'shims', `${'f'.repeat(24)}.sock.console`).length > 107) {
    throw new InvalidArgumentError('its directory is too long for shim sockets beside it');
  }
  return socket;
}

function cgroupParent(value: string): string {
  if (!isCgroupPath(value)) throw new InvalidArgumentError('must be an absolute cgroup path like /berth');
  return value;
}

function interfaceName(value: string): string {
  if (!isInterfaceName(value)) throw new InvalidArgumentError('must be an interface name of at most 15 characters');
  return value;
}

const directoryList = describedParser(
  (value) => {
    const dirs = value.split(':').filter(Boolean);
    if (!dirs.length || dirs.some((dir) => !isAbsolute(dir))) throw new InvalidArgumentError('must be absolute directories separated by ":"');
    return dirs;
  },
  (dirs) => dirs.join(':'),
);

/** `berth runtimed`'s flags: what parseRuntimedFlags reads and --help lists. */
export function runtimedCommand(): Command {
  return daemonCommand('berth runtimed', "this node's container runtime (containerd's role): images, overlay snapshots, one shim per container, runc, pod sandboxes")
    .option('--root <dir>', 'persistent data: content store, snapshots, containers, sandboxes, volumes', rootDir, DEFAULT_ROOT)
    .option('--socket <path>', 'the gRPC socket; per-boot state (shim sockets, runc state, namespaces) lives beside it', socketPath, DEFAULT_RUNTIMED_SOCKET)
    .option('--cgroup-parent <path>', "parent of every container's cgroup", cgroupParent, DEFAULT_CGROUP_PARENT)
    .option('--cni-bridge <name>', "the pod network's bridge on this node", interfaceName, DEFAULT_CNI_BRIDGE)
    .option('--cni-bin-dir <dirs>', 'where the CNI plugins are, searched in order (DIR[:DIR...])', directoryList, DEFAULT_CNI_BIN_DIR.split(':'))
    .option('--registries-config <file>', 'registry mirrors, credentials and TLS (k3s registries.yaml format); read again when it changes', (v) => resolve(v), DEFAULT_REGISTRIES_CONFIG)
    .option('--log-level <level>', LOG_LEVELS.join(', '), logLevelFlag, 'info');
}

/** `berth runtimed` flags; a bad one is a ConfigError with a one-line message, --help a HelpRequested. */
export function parseRuntimedFlags(argv: string[]): RuntimedConfig {
  const command = runtimedCommand();
  parseCommand(command, argv);
  const opts = command.opts<{ root: string; socket: string; cgroupParent: string; cniBridge: string; cniBinDir: string[]; registriesConfig: string; logLevel: string }>();
  // Defaults are checked as given ones are (commander does not parse them).
  const root = rootDir(opts.root);
  const socket = socketPath(opts.socket);
  return { root, socket, stateDir: dirname(socket), cgroupParent: opts.cgroupParent, cniBridge: opts.cniBridge, cniBinDirs: opts.cniBinDir, registriesConfig: resolve(opts.registriesConfig), logLevel: opts.logLevel };
}
