import { watch } from 'node:fs';
import { FileHandle, open } from 'node:fs/promises';

export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  /** A line with its newline (F), or a partial line's piece without one (P). */
  data: Buffer;
}

const CRI_LINE = /^(\S+) (stdout|stderr) (F|P) /;

/** One line of the shim's CRI log (`<time> <stream> F|P <text>`), or undefined when malformed. */
export function parseLogLine(line: Buffer): LogEntry | undefined {
  const head = CRI_LINE.exec(line.subarray(0, 64).toString('latin1'));
  if (!head) return undefined;
  const text = line.subarray(head[0].length);
  return { time: head[1]!, stream: head[2] as LogEntry['stream'], data: head[3] === 'F' ? Buffer.concat([text, Buffer.from('\n')]) : text };
}

/** Complete lines of `buffer` and the unterminated rest. */
function splitLines(buffer: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = buffer.indexOf(10); nl >= 0; nl = buffer.indexOf(10, start)) {
    lines.push(buffer.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, rest: buffer.subarray(start) };
}

/** The entries that make up the last `tail` lines (a line may be several P pieces and an F). */
function lastLines(entries: LogEntry[], tail: number): LogEntry[] {
  if (tail < 0) return entries;
  let complete = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const endsLine = entries[i]!.data[entries[i]!.data.length - 1] === 10;
    if (endsLine && ++complete > tail) return entries.slice(i + 1);
  }
  return entries;
}

export interface ReadLogOptions {
  /** The last N lines; negative: all. */
  tail: number;
  /** Only entries at or after this time (RFC 3339). */
  since?: string;
  /** Keep reading new entries until `exited` resolves, then read what is left and end. */
  follow?: boolean;
  exited?: Promise<unknown>;
  /** Start at this byte offset (an attach without logs: the log's end when it attached), skipping what is before. */
  fromOffset?: number;
  signal?: AbortSignal;
}

/** Reads a container's log: its entries (tail, since), then with follow whatever it appends until the container exits. */
export async function* readLog(path: string, options: ReadLogOptions): AsyncGenerator<LogEntry> {
  const sinceMs = options.since ? Date.parse(options.since) : NaN;
  const wanted = (entry: LogEntry) => Number.isNaN(sinceMs) || Date.parse(entry.time) >= sinceMs;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let offset = 0;
  let pending = Buffer.alloc(0);
  const readMore = async (): Promise<LogEntry[]> => {
    if (!handle) {
      handle = await open(path, 'r').catch(() => undefined);
      if (!handle) return [];
    }
    const chunks: Buffer[] = [pending];
    for (;;) {
      const buffer = Buffer.alloc(256 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      chunks.push(buffer.subarray(0, bytesRead));
    }
    const { lines, rest } = splitLines(Buffer.concat(chunks));
    pending = Buffer.from(rest);
    return lines.map(parseLogLine).filter((e): e is LogEntry => !!e && wanted(e));
  };
  try {
    if (options.fromOffset !== undefined) {
      offset = options.fromOffset;
    } else {
      for (const entry of lastLines(await readMore(), options.tail)) yield entry;
    }
    if (!options.follow) return;
    let exited = false;
    void options.exited?.then(
      () => (exited = true),
      () => (exited = true),
    );
    while (!options.signal?.aborted) {
      const wasExited = exited;
      for (const entry of await readMore()) yield entry;
      // The shim reports the exit only once the output is in the log: one more read after it is complete.
      if (wasExited) return;
      await changeOrExit(path, options.exited, options.signal);
    }
  } finally {
    await handle?.close();
  }
}

/** Resolves when the file changes, the container exits, or after a short while (a watch can miss events). */
function changeOrExit(path: string, exited: Promise<unknown> | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, 500);
    try {
      watcher = watch(path, done);
      watcher.on('error', done);
    } catch {
      // not created yet: the timer polls
    }
    signal?.addEventListener('abort', done);
    void exited?.then(done, done);
  });
}
