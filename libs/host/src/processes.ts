import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupTree } from './cgroups';

/**
 * /proc counts times in USER_HZ clock ticks, 100 on every Linux ABI berth runs on (ps assumes the same
 * when sysconf is not at hand).
 */
const TICKS_PER_SECOND = 100;
/** The most of one /proc/PID file read: stat and status are a few KiB, a command line can be as long as the kernel lets argv be. */
const MAX_PROC_FILE_BYTES = 64 * 1024;
/** The most pids taken from a cgroup: a fork bomb's cgroup is not read whole (the count beyond is reported). */
export const MAX_LISTED_PROCESSES = 4096;

/** One process as the host sees it, the facts `ps -ef` prints. */
export interface HostProcess {
  pid: number;
  ppid: number;
  /** The effective uid (what ps's UID column shows). */
  uid: number;
  /** When it started, unix ms. */
  startTimeMs: number;
  /** CPU time it used (user + system), ms. */
  cpuTimeMs: number;
  /** Its controlling terminal as ps names it (`pts/0`, `tty1`), `?` for none. */
  tty: string;
  /** The kernel's name of it (stat's comm), shown in brackets when the command line is empty. */
  comm: string;
  /** Its command line; empty for a kernel thread or a zombie. */
  args: string[];
}

/** The first `maxBytes` of a (/proc) file; undefined when it cannot be read (the process is gone). */
async function readAtMost(path: string, maxBytes = MAX_PROC_FILE_BYTES): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buffer = Buffer.alloc(maxBytes);
    let length = 0;
    while (length < maxBytes) {
      const { bytesRead } = await handle.read(buffer, length, maxBytes - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** The terminal a stat tty_nr names, as ps prints it: pts (majors 136–143), the consoles (major 4), else `?`. */
export function ttyName(ttyNr: number): string {
  if (!ttyNr) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 4) return `ttyS${minor - 64}`;
  return '?';
}

/**
 * A process's facts from the text of its /proc/PID/stat, /proc/PID/status and /proc/PID/cmdline; undefined
 * when the stat is not one. The command name in stat may hold spaces and parentheses: the fields are counted
 * after its last `)`.
 */
export function parseProcess(pid: number, stat: string, status: string, cmdline: Buffer, bootTimeMs: number): HostProcess | undefined {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // After ')': state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime
  const fields = stat.slice(close + 2).split(' ');
  const number = (i: number) => {
    const value = Number(fields[i]);
    return Number.isSafeInteger(value) ? value : undefined;
  };
  const [ppid, ttyNr, utime, stime, start] = [number(1), number(4), number(11), number(12), number(19)];
  if (ppid === undefined || ttyNr === undefined || utime === undefined || stime === undefined || start === undefined) return undefined;
  const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  const args = cmdline.toString('utf8').split('\0');
  if (args[args.length - 1] === '') args.pop();
  return {
    pid,
    ppid,
    uid: uids ? Number(uids[2]) : 0,
    startTimeMs: bootTimeMs + (start * 1000) / TICKS_PER_SECOND,
    cpuTimeMs: ((utime + stime) * 1000) / TICKS_PER_SECOND,
    tty: ttyName(ttyNr),
    comm: stat.slice(open + 1, close),
    args,
  };
}

/** When the host booted, unix ms (/proc/stat's btime). */
export async function bootTimeMs(): Promise<number> {
  const stat = (await readAtMost('/proc/stat'))?.toString('utf8') ?? '';
  const btime = /^btime (\d+)$/m.exec(stat);
  return btime ? Number(btime[1]) * 1000 : 0;
}

/** One process's facts from /proc; undefined when it is gone (it may end while it is read). */
export async function readHostProcess(pid: number, bootMs: number): Promise<HostProcess | undefined> {
  const dir = `/proc/${pid}`;
  const [stat, status, cmdline] = await Promise.all([readAtMost(join(dir, 'stat')), readAtMost(join(dir, 'status')), readAtMost(join(dir, 'cmdline'))]);
  if (!stat || !status || !cmdline) return undefined;
  return parseProcess(pid, stat.toString('utf8'), status.toString('utf8'), cmdline, bootMs);
}

/** The pids in a cgroup and every cgroup below it, on every hierarchy, ascending. */
export async function cgroupPids(cgroupPath: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of cgroupTree(cgroupPath)) {
    const text = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n');
    for (const line of text) {
      const pid = Number(line);
      if (line && Number.isSafeInteger(pid) && pid > 0) pids.add(pid);
    }
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * The processes of a cgroup as the host sees them (host pids), in pid order: at most
 * {@link MAX_LISTED_PROCESSES}, and how many more there were. A process that ends while it is read is left out.
 */
export async function cgroupProcesses(cgroupPath: string): Promise<{ processes: HostProcess[]; omitted: number }> {
  const pids = await cgroupPids(cgroupPath);
  const listed = pids.slice(0, MAX_LISTED_PROCESSES);
  const bootMs = await bootTimeMs();
  const processes: HostProcess[] = [];
  // A few at a time: thousands of open files at once would hit the fd limit.
  for (let i = 0; i < listed.length; i += 32) {
    const batch = await Promise.all(listed.slice(i, i + 32).map((pid) => readHostProcess(pid, bootMs)));
    for (const p of batch) if (p) processes.push(p);
  }
  return { processes, omitted: pids.length - listed.length };
}

/** The host's user names by uid (/etc/passwd, its first 1 MiB), as ps resolves its UID column; empty when unreadable. */
export async function hostUserNames(passwdPath = '/etc/passwd'): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  const text = (await readAtMost(passwdPath, 1024 * 1024))?.toString('utf8') ?? '';
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    const id = Number(uid);
    if (name && uid && Number.isSafeInteger(id) && !names.has(id)) names.set(id, name);
  }
  return names;
}
