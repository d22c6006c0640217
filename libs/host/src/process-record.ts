import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readJsonIfExists, writeJsonAtomic } from './files';
import { listMounts } from './mounts';

/**
 * A daemon's record of itself in its data dir (runtimed.json, agent.json): which process it is, so that
 * `berth node reset` stops exactly it and never a process that got its pid later, and what it set up
 * (its network namespace, cgroup parent, bridge), so that reset finds it all after the daemon is gone.
 */
export interface ProcessRecord {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22): with the pid, unique for the boot. */
  startTime: number;
  /** Its network namespace (`net:[4026531840]`), where what it put on the network lives. */
  netns: string;
}

/** Field 22 of /proc/PID/stat, counted after the command name, which may hold spaces and parentheses. */
export function processStartTime(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const value = Number(fields[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The network namespace of a process (this one by default), as `net:[inode]`. */
export function networkNamespaceOf(pid: number | 'self' = 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Writes this process's record, with `details` beside the pid, start time and network namespace. */
export async function writeProcessRecord<T extends object>(path: string, details: T): Promise<void> {
  const record: ProcessRecord = { pid: process.pid, startTime: processStartTime('self') ?? 0, netns: networkNamespaceOf() ?? '' };
  await writeJsonAtomic(path, { ...details, ...record });
}

export async function readProcessRecord<T extends object>(path: string): Promise<(ProcessRecord & Partial<T>) | undefined> {
  const record = await readJsonIfExists<ProcessRecord & Partial<T>>(path).catch(() => undefined);
  return record && Number.isInteger(record.pid) && record.pid > 0 ? record : undefined;
}

/** True while the recorded process runs: same pid and same start time, so a reused pid is not it. */
export function isRecordedProcessAlive(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  return processStartTime(record.pid) === record.startTime;
}

/**
 * A path that enters the network namespace `netns` (`net:[inode]`) with `nsenter --net=PATH`: a bind
 * mount of it (`ip netns`' /run/netns/NAME) or a process in it. Undefined when it is gone, and with it
 * everything it held.
 */
export async function networkNamespacePath(netns: string): Promise<string | undefined> {
  // An nsfs mount's root names its namespace: `net:[4026532512]`.
  const mounted = (await listMounts()).find((m) => m.fsType === 'nsfs' && m.root === netns);
  if (mounted) return mounted.mountPoint;
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && networkNamespaceOf(Number(entry)) === netns) return `/proc/${entry}/ns/net`;
  }
  return undefined;
}
