import type { Container as PodContainer } from '@berth/api';
import type { Container as RuntimeContainer, MountSpec } from '@berth/runtime-client';
import { chmod, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** kubelet's limits: 4 KiB from the file; from the log, its last 80 lines, 2 KiB at most. */
const MAX_MESSAGE_BYTES = 4096;
const MAX_LOG_LINES = 80;
const MAX_LOG_MESSAGE_BYTES = 2048;
/** How much of a log's end is read for its last lines. */
const LOG_TAIL_BYTES = 64 * 1024;

function runsDir(podDir: string, container: string): string {
  return join(podDir, 'containers', container);
}

/** The host file a run's terminationMessagePath is bound to: `<podDir>/containers/<name>/<attempt>.termination-log`. */
export function terminationLogPath(podDir: string, container: string, attempt: number): string {
  return join(runsDir(podDir, container), `${attempt}.termination-log`);
}

/**
 * Makes the file a new run may write its termination message into (world-writable, as kubelet's, for
 * containers that run as any user) and answers its mount; files of runs before `attempt - 1` go, since
 * a pod's status only shows the current run and the previous one. No mount when the path is empty.
 */
export async function terminationLogMount(podDir: string, container: PodContainer, attempt: number): Promise<MountSpec | undefined> {
  const destination = container.terminationMessagePath;
  if (!destination) return undefined;
  const dir = runsDir(podDir, container.name);
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) {
    const run = Number.parseInt(name, 10);
    if (Number.isFinite(run) && run < attempt - 1) await rm(join(dir, name), { force: true });
  }
  const source = terminationLogPath(podDir, container.name, attempt);
  await writeFile(source, '');
  await chmod(source, 0o666);
  return { type: 'bind', source, destination, readOnly: false };
}

/** Up to `maxBytes` of a file, from its start or its end; nothing when it cannot be read. */
async function readPart(path: string, maxBytes: number, from: 'start' | 'end'): Promise<{ bytes: Buffer; whole: boolean }> {
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const length = Math.min(size, maxBytes);
      const bytes = Buffer.alloc(length);
      await file.read(bytes, 0, length, from === 'start' ? 0 : size - length);
      return { bytes, whole: length === size };
    } finally {
      await file.close();
    }
  } catch {
    return { bytes: Buffer.alloc(0), whole: true };
  }
}

/** The last lines a container wrote, from its CRI-format log (`<time> <stream> <P|F> <text>`). */
async function lastLogLines(logPath: string): Promise<string> {
  if (!logPath) return '';
  const lines: string[] = [];
  let partial = '';
  const { bytes, whole } = await readPart(logPath, LOG_TAIL_BYTES, 'end');
  const records = bytes.toString('utf8').split('\n');
  // Unless the whole log was read, the first record may be cut.
  for (const record of whole ? records : records.slice(1)) {
    const match = /^\S+ (?:stdout|stderr) ([PF]) (.*)$/.exec(record);
    if (!match) continue;
    partial += match[2];
    if (match[1] === 'F') {
      lines.push(partial);
      partial = '';
    }
  }
  const text = lines.slice(-MAX_LOG_LINES).join('\n');
  const encoded = Buffer.from(text);
  return encoded.length > MAX_LOG_MESSAGE_BYTES ? encoded.subarray(encoded.length - MAX_LOG_MESSAGE_BYTES).toString('utf8') : text;
}

/**
 * What an ended run leaves as `terminated.message`, as kubelet reads it: its termination-log file, or
 * with FallbackToLogsOnError and a failed run that wrote none, the end of its log.
 */
export async function terminationMessage(podDir: string, container: PodContainer, run: RuntimeContainer, attempt: number): Promise<string> {
  if (run.state !== 'exited') return '';
  const written = container.terminationMessagePath ? (await readPart(terminationLogPath(podDir, container.name, attempt), MAX_MESSAGE_BYTES, 'start')).bytes.toString('utf8') : '';
  if (written || container.terminationMessagePolicy !== 'FallbackToLogsOnError' || (run.exit?.exitCode ?? 0) === 0) return written;
  return lastLogLines(run.logPath);
}
