import { RuntimeClient } from '@berth/runtime-client';
import { errors } from '@berth/errors';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { nodePaths } from './node-paths';

export interface LocalRuntimedOptions {
  /** The host's data dir: runtimed listens on `<dataDir>/runtimed.sock` and keeps its state in `<dataDir>/runtime`. */
  dataDir: string;
  /** runtimed's entry point (dist/apps/runtimed/main.js); the composition root knows where its bundles are. */
  runtimedMain: string;
  /** Passed to runtimed as --cgroup-parent; runtimed's default when omitted. */
  cgroupParent?: string;
  /** How long runtimed may take to answer; default 30 s. */
  startTimeoutMs?: number;
}

export interface LocalRuntimed {
  readonly socket: string;
  /** The child process this started, for the log (the caller logs: it may start runtimed before its output is its own to write to); absent for a runtimed that was already serving. */
  readonly started?: { pid: number | undefined; log: string };
  /** Stops runtimed if this process started it; its containers keep running under their shims. */
  stop(): Promise<void>;
}

/** A runtimed that holds the socket but never answers must not stall the node's start for good. */
const PROBE_TIMEOUT_MS = 5_000;

async function answers(socket: string): Promise<boolean> {
  const client = new RuntimeClient(socket, { callTimeoutMs: PROBE_TIMEOUT_MS });
  try {
    await client.version();
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/**
 * The runtimed of this host, for a node agent: the one already serving `<dataDir>/runtimed.sock`
 * (left running by an earlier server or started by hand), or a new child process. A child, not a
 * module: runtimed is an app of its own, and containers outlive it either way.
 */
export async function ensureLocalRuntimed(options: LocalRuntimedOptions): Promise<LocalRuntimed> {
  const paths = nodePaths(options.dataDir);
  const socket = paths.runtimedSocket;
  if (await answers(socket)) {
    return { socket, stop: async () => undefined };
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const logPath = paths.runtimedLog;
  const log = openSync(logPath, 'a');
  const args = [options.runtimedMain, '--root', paths.runtimedRoot, '--socket', socket];
  if (options.cgroupParent) args.push('--cgroup-parent', options.cgroupParent);
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await answers(socket))) {
    if (gone) throw errors.unavailable(`runtimed exited while starting (exit ${child.exitCode ?? child.signalCode}); see ${logPath}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw errors.unavailable(`runtimed did not answer on ${socket} in time; see ${logPath}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    socket,
    started: { pid: child.pid, log: logPath },
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A runtimed begun ahead of startNode (see startLocalRuntimedAhead). */
export interface RuntimedAhead {
  /** For startNode's `runtimed`: startNode owns it from then on. */
  runtimed: Promise<LocalRuntimed>;
  /** Stops it once it has started; for the paths where startNode never got it. Idempotent, as its stop. */
  stop(): Promise<void>;
}

/**
 * ensureLocalRuntimed begun while the caller does its own slow start (a join, the control plane): neither
 * needs the other, so the host is up in the longer of the two instead of their sum. A runtimed that fails
 * meanwhile is reported by startNode, which awaits it; its log lines wait for startNode too, so that a start
 * that fails first is still its own one line.
 */
export function startLocalRuntimedAhead(options: LocalRuntimedOptions): RuntimedAhead {
  const runtimed = ensureLocalRuntimed(options);
  void runtimed.catch(() => undefined);
  return { runtimed, stop: async () => (await runtimed.catch(() => undefined))?.stop() };
}
