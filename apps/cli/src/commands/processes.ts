import { resourcePath, type PodProcess, type PodProcessList } from '@berth/client';
import type { Session } from '../session';
import { tabwrite, type TabwriterOptions } from '../tabwriter';
import { POD_TYPE } from './workloads';

/** `docker top`'s table (Go's tabwriter with minwidth 20, padding 3); compose top's is minwidth 5. */
export const DOCKER_TOP_LAYOUT: TabwriterOptions = { minWidth: 20, padding: 3 };
export const COMPOSE_TOP_LAYOUT: TabwriterOptions = { minWidth: 5, padding: 3 };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY_MS = 24 * 60 * 60 * 1000;
const two = (n: number) => String(n).padStart(2, '0');

/** ps's STIME, in local time: `HH:MM` within a day of `now`, `MonDD` within a year, else the year. */
export function startColumn(startTime: string, now: Date): string {
  const start = new Date(startTime);
  if (Number.isNaN(start.getTime())) return '?';
  const age = now.getTime() - start.getTime();
  if (age < DAY_MS) return `${two(start.getHours())}:${two(start.getMinutes())}`;
  if (age < 365 * DAY_MS) return `${MONTHS[start.getMonth()]}${two(start.getDate())}`;
  return String(start.getFullYear());
}

/** ps's TIME: the CPU time used, `[DD-]HH:MM:SS`. */
export function cpuTimeColumn(seconds: number): string {
  const whole = Math.floor(seconds);
  const days = Math.floor(whole / 86400);
  const clock = `${two(Math.floor((whole % 86400) / 3600))}:${two(Math.floor((whole % 3600) / 60))}:${two(whole % 60)}`;
  return days > 0 ? `${days}-${clock}` : clock;
}

/** `ps -ef`'s columns, as docker top prints them: UID PID PPID C STIME TTY TIME CMD. */
export function processTable(processes: PodProcess[], layout: TabwriterOptions, now = new Date()): string {
  const rows = processes.map((p) => [
    p.user || String(p.uid),
    String(p.pid),
    String(p.ppid),
    String(Math.floor(p.cpuPercent)),
    startColumn(p.startTime, now),
    p.tty,
    cpuTimeColumn(p.cpuTimeSeconds),
    p.cmd.join(' '),
  ]);
  const lines = [['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], ...rows].map((cells) => cells.join('\t'));
  return `${tabwrite(lines.join('\n'), layout)}\n`;
}

/** A note for processes the node did not list (it lists a few thousand at most), or nothing. */
export function omittedNote(list: PodProcessList): string | undefined {
  return list.omitted > 0 ? `(${list.omitted} more processes not listed)` : undefined;
}

/** `GET pods/{pod}/top?container=C`: the container's processes as its node lists them. */
export function podProcesses(session: Session, namespace: string, pod: string, container: string): Promise<PodProcessList> {
  return session.client.request<PodProcessList>({ method: 'GET', path: resourcePath(POD_TYPE, { namespace, name: pod, subresource: 'top' }), query: { container } });
}
