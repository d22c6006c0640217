/**
 * Where the node cluster's containers have their cgroups. A module of its own, light enough for a helper
 * process to load (see its spec, which checks it on both cgroup layouts).
 */
import { cgroupDirs } from '@berth/host';
import { join } from 'node:path';

/** runtimed's default cgroup parent, which `berth server` keeps: a container's cgroup is `/berth/<id>`. */
export const CGROUP_PARENT = '/berth';

/** A container's (or sandbox's) cgroup directories: one on cgroup v2, one per controller on v1. */
export function cgroupsOf(id: string): string[] {
  return cgroupDirs(join(CGROUP_PARENT, id));
}
