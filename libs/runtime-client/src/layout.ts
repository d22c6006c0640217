import { join } from 'node:path';

/** runtimed's defaults, which what cleans a node beside it assumes when runtimed left no record. */
export const DEFAULT_CGROUP_PARENT = '/berth';
export const DEFAULT_CNI_BRIDGE = 'berth0';

const CGROUP_PATH = /^(\/[A-Za-z0-9_.-]+)+$/;
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * An absolute cgroup path like /berth: runtimed's --cgroup-parent, a container's cgroupsPath. No `.` or `..`
 * segment, so a path (from a flag or a record on disk) never names a cgroup above the one it seems to.
 */
export function isCgroupPath(value: string): boolean {
  return CGROUP_PATH.test(value) && !value.split('/').some((segment) => segment === '.' || segment === '..');
}

/** A network interface name: at most 15 characters (the kernel's IFNAMSIZ less its NUL), letters, digits, "_", "." or "-". */
export function isInterfaceName(value: string): boolean {
  return INTERFACE_NAME.test(value);
}

/** What runtimed records about its configuration in RuntimePaths.record, beside its pid (libs/host's ProcessRecord). */
export interface RuntimedRecord {
  socket: string;
  root: string;
  cgroupParent: string;
  cniBridge: string;
  cniBinDirs: string[];
}

/**
 * Where runtimed keeps each kind of state, from its root (persistent: `--root`) and state dir (per boot:
 * the directory of its socket). A contract between runtimed and what inspects or cleans a node beside it
 * (`berth node reset`), as containerd's root and state directories are.
 */
export class RuntimePaths {
  constructor(readonly config: { root: string; stateDir: string }) {}

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
  /** runtimed's record of itself: its pid and the cgroup parent, bridge and namespace it works with. */
  get record(): string {
    return join(this.config.stateDir, 'runtimed.json');
  }
}
