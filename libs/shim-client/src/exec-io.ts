import { errors } from '@berth/errors';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { CallOptions, ShimClient } from './client';
import { ExecState, ExitStatus } from './types';

export interface StartExecOptions {
  execId: string;
  /** The OCI process object (args, env, cwd, user, capabilities...). */
  process: Record<string, unknown>;
  terminal?: boolean;
  /** Give the process a stdin the caller writes to. */
  stdin?: boolean;
  /** Where the FIFOs are made (they are unlinked as soon as both ends are open). */
  fifoDir: string;
}

export interface ExecSession {
  state: ExecState;
  /** Output (with a terminal: everything the terminal shows). */
  stdout: Readable;
  /** null with a terminal. */
  stderr: Readable | null;
  /** null unless asked for. */
  stdin: Writable | null;
  /** Ends stdin: closes our writer and lets the process see end-of-file. */
  closeStdin(): Promise<void>;
  wait(opts?: CallOptions): Promise<ExitStatus>;
  resize(width: number, height: number): Promise<void>;
}

/**
 * Opens a FIFO for writing without blocking; the process (or the shim) already holds the reader.
 * ENXIO means no reader is left: the process has already exited, so its input goes nowhere.
 */
export function openFifoWriter(path: string): Writable {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
    return new Writable({ write: (_chunk, _encoding, done) => done() });
  }
  return new Socket({ fd, readable: false, writable: true });
}

/**
 * Runs a process in the container with its stdio on FIFOs, following the protocol's order: output
 * FIFOs are opened for reading before the Exec call (so nothing written early is lost), stdin after
 * it (when the shim holds the reading end).
 */
export async function startExec(client: ShimClient, opts: StartExecOptions): Promise<ExecSession> {
  const base = join(opts.fifoDir, `exec-${opts.execId}`);
  const paths = {
    stdout: `${base}.stdout`,
    stderr: opts.terminal ? undefined : `${base}.stderr`,
    stdin: opts.stdin ? `${base}.stdin` : undefined,
  };
  const all = Object.values(paths).filter((p): p is string => !!p);
  try {
    execFileSync('mkfifo', ['-m', '0600', ...all], { stdio: 'pipe' });
  } catch (err) {
    throw errors.internal(`mkfifo in ${opts.fifoDir}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
  const fds: number[] = [];
  try {
    const openReader = (path: string) => {
      const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      fds.push(fd);
      return fd;
    };
    const stdoutFd = openReader(paths.stdout);
    const stderrFd = paths.stderr ? openReader(paths.stderr) : undefined;
    const state = await client.exec({
      execId: opts.execId,
      process: opts.process,
      terminal: opts.terminal,
      stdin: paths.stdin,
      stdout: paths.stdout,
      stderr: paths.stderr,
    });
    const stdin = paths.stdin ? openFifoWriter(paths.stdin) : null;
    fds.length = 0; // the streams own them now
    return {
      state,
      stdout: new Socket({ fd: stdoutFd, readable: true, writable: false }),
      stderr: stderrFd === undefined ? null : new Socket({ fd: stderrFd, readable: true, writable: false }),
      stdin,
      closeStdin: async () => {
        if (stdin) await new Promise<void>((resolve) => stdin.end(resolve));
        await client.closeStdin(opts.execId);
      },
      wait: (callOpts) => client.execWait(opts.execId, callOpts),
      resize: (width, height) => client.resize(width, height, opts.execId),
    };
  } finally {
    for (const fd of fds) closeSync(fd);
    for (const path of all) rmSync(path, { force: true });
  }
}
