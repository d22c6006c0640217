import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the cgroup hierarchies are mounted: the one of v2, or one directory per controller on v1. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

/** True on cgroup v2 (the unified hierarchy) alone; false on v1, hybrid layouts included. */
export function isUnified(): boolean {
  return existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));
}

/** A cgroup path's directories that exist, on every hierarchy: one on cgroup v2, one per controller (and `unified`) on v1. */
export function cgroupDirs(cgroupPath: string): string[] {
  if (isUnified()) return [join(CGROUP_ROOT, cgroupPath)].filter(existsSync);
  // Directories only: v1's `cpu` and `cpuacct` are links to `cpu,cpuacct`.
  return readdirSync(CGROUP_ROOT, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(CGROUP_ROOT, entry.name, cgroupPath))
    .filter(existsSync);
}

function below(dir: string): string[] {
  let children: string[];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    return [];
  }
  return [...children.flatMap(below), dir];
}

/** The cgroup's directories and every cgroup below them, deepest first. */
export function cgroupTree(cgroupPath: string): string[] {
  return cgroupDirs(cgroupPath).flatMap(below);
}

function processesIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Kills every process in the cgroup and below it, then removes its directories, deepest first, on every
 * hierarchy. Answers the directories still there (a process that would not die, a busy cgroup).
 */
export async function removeCgroupTree(cgroupPath: string, timeoutMs = 5000): Promise<string[]> {
  const dirs = cgroupTree(cgroupPath);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = [...new Set(dirs.flatMap(processesIn))];
    if (!pids.length || Date.now() > deadline) break;
    for (const dir of dirs) {
      try {
        writeFileSync(join(dir, 'cgroup.kill'), '1');
      } catch {
        // cgroup v1, or already gone: killed one by one below
      }
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch {
      // reported below
    }
  }
  return dirs.filter(existsSync);
}
