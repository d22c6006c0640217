import type { ContainerProcesses } from '@berth/client';
import type { ContainerTop } from '@berth/runtime-client';

/**
 * runtimed's listing of a container's processes as the API tells it (see PodProcess): ps's C (CPU time over
 * the time since the process started, in percent) worked out here, on the host whose clock started them.
 */
export function containerProcesses(top: ContainerTop, nowMs: number): ContainerProcesses {
  return {
    processes: top.processes.map((p) => {
      const lifeMs = nowMs - p.startTimeMs;
      return {
        uid: p.uid,
        user: p.user,
        pid: p.pid,
        ppid: p.ppid,
        cpuPercent: lifeMs > 0 ? Math.round((p.cpuTimeMs / lifeMs) * 1000) / 10 : 0,
        startTime: new Date(p.startTimeMs).toISOString(),
        tty: p.tty,
        cpuTimeSeconds: p.cpuTimeMs / 1000,
        cmd: p.args.length ? p.args : [`[${p.comm}]`],
      };
    }),
    omitted: top.omitted,
  };
}
