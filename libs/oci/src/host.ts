import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_CAPABILITIES } from './defaults';
import type { SpecDevice } from './types';

/** Directories of /dev that hold no device of the host's own (runc's list): ptys, shm, fds, mqueue, container tooling. */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

/**
 * The host's character and block devices under `dir`, as a privileged container gets them (Docker's and
 * containerd's privileged mode): symlinks, the console and the per-session directories are left out.
 */
export function hostDevices(dir = '/dev'): SpecDevice[] {
  const devices: SpecDevice[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return devices;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) devices.push(...hostDevices(path));
      continue;
    }
    if (entry.name === 'console' || !(entry.isCharacterDevice() || entry.isBlockDevice())) continue;
    try {
      const stat = lstatSync(path, { bigint: true });
      devices.push({ path, type: stat.isCharacterDevice() ? 'c' : 'b', ...majorMinor(stat.rdev), fileMode: Number(stat.mode & 0o777n), uid: Number(stat.uid), gid: Number(stat.gid) });
    } catch {
      // removed meanwhile
    }
  }
  return devices;
}

/**
 * The capabilities this process holds (its effective set), which is all a container it starts can be
 * given: asking runc for more fails with EPERM, e.g. inside a container that lacks CAP_SYS_RESOURCE.
 */
export function ownCapabilities(status = '/proc/self/status'): string[] {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(status, 'utf8'))?.[1];
  if (!hex) return [...ALL_CAPABILITIES];
  const bits = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((_, bit) => (bits >> BigInt(bit)) & 1n);
}

let throttlePaths: string[] | undefined;

/** The CPUs' thermal_throttle directories this host has, which Docker masks as well (read once: CPUs don't come and go under a daemon). */
export function thermalThrottlePaths(): string[] {
  if (!throttlePaths) {
    const cpus = (() => {
      try {
        return readdirSync('/sys/devices/system/cpu').filter((name) => /^cpu\d+$/.test(name));
      } catch {
        return [];
      }
    })();
    throttlePaths = cpus.map((cpu) => `/sys/devices/system/cpu/${cpu}/thermal_throttle`).filter((path) => existsSync(path));
  }
  return throttlePaths;
}
