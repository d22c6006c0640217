import { CGROUP_ROOT, isUnified } from '@berth/host';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** cgroup v1 reports "no limit" as a huge page-aligned number. */
const NO_LIMIT = 2 ** 60;

export interface CgroupStats {
  cpuUsageNanos: number;
  memoryUsageBytes: number;
  memoryLimitBytes: number;
  pids: number;
  pidsLimit: number;
  onlineCpus: number;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function readNumber(path: string): Promise<number> {
  const text = await readText(path);
  if (text === undefined || text === 'max') return 0;
  const value = Number(text);
  return Number.isFinite(value) && value < NO_LIMIT ? value : 0;
}

async function statField(path: string, name: string): Promise<number> {
  const text = (await readText(path)) ?? '';
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/**
 * A container's usage from its cgroup (runc's cgroupfs layout: `<controller>/<cgroupsPath>` on v1,
 * `<cgroupsPath>` on v2). Memory usage leaves out inactive page cache, as docker stats does.
 */
export async function readCgroupStats(cgroupsPath: string): Promise<CgroupStats> {
  const onlineCpus = cpus().length;
  if (isUnified()) {
    const dir = join(CGROUP_ROOT, cgroupsPath);
    const usage = await readNumber(join(dir, 'memory.current'));
    return {
      cpuUsageNanos: (await statField(join(dir, 'cpu.stat'), 'usage_usec')) * 1000,
      memoryUsageBytes: Math.max(0, usage - (await statField(join(dir, 'memory.stat'), 'inactive_file'))),
      memoryLimitBytes: await readNumber(join(dir, 'memory.max')),
      pids: await readNumber(join(dir, 'pids.current')),
      pidsLimit: await readNumber(join(dir, 'pids.max')),
      onlineCpus,
    };
  }
  const v1 = (controller: string, file: string) => join(CGROUP_ROOT, controller, cgroupsPath, file);
  const usage = await readNumber(v1('memory', 'memory.usage_in_bytes'));
  return {
    cpuUsageNanos: await readNumber(v1('cpuacct', 'cpuacct.usage')),
    memoryUsageBytes: Math.max(0, usage - (await statField(v1('memory', 'memory.stat'), 'total_inactive_file'))),
    memoryLimitBytes: await readNumber(v1('memory', 'memory.limit_in_bytes')),
    pids: await readNumber(v1('pids', 'pids.current')),
    pidsLimit: await readNumber(v1('pids', 'pids.max')),
    onlineCpus,
  };
}
