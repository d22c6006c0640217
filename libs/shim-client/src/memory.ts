import { readFileSync } from 'node:fs';
import { ShimClient } from './client';

export interface ProcessMemory {
  rssBytes: number;
  pssBytes: number;
  privateDirtyBytes: number;
}

/** A process's memory from /proc/PID/smaps_rollup, e.g. a shim's (its pid is in ShimState.shimPid). */
export function readProcessMemory(pid: number): ProcessMemory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { rssBytes: kib('Rss'), pssBytes: kib('Pss'), privateDirtyBytes: kib('Private_Dirty') };
}

/** The memory of the shim behind a client: what the bench reports per running container. */
export async function measureShimMemory(client: ShimClient): Promise<ProcessMemory & { pid: number }> {
  const { shimPid } = await client.state();
  return { pid: shimPid, ...readProcessMemory(shimPid) };
}
