import { errors } from '@berth/errors';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { delimiter, join } from 'node:path';
import { connect as connectNats } from 'nats';
import type { Logger } from 'pino';

/** Debian installs nats-server in /usr/sbin, which is not on every user's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin'];
const START_DEADLINE_MS = 20_000;
const STOP_GRACE_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** NATS' own log lines kept for the message of a failed start. */
const KEPT_LINES = 20;

/** The nats-server binary: on PATH, else Debian's; BadRequest when there is none. */
export function findNatsServer(path = process.env.PATH ?? ''): string {
  for (const dir of [...path.split(delimiter).filter(Boolean), ...EXTRA_DIRS]) {
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw errors.badRequest('--cluster-init and --join run nats-server, and there is none on PATH or in /usr/sbin (Debian: apt-get install nats-server)');
}

function acceptsClients(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    socket.setTimeout(2000, () => socket.destroy());
    socket.once('data', (banner) => {
      socket.destroy();
      resolve(banner.toString().startsWith('INFO'));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

export interface EmbeddedNatsOptions {
  binary: string;
  configPath: string;
  /** Where this server's clients reach it, to see it started. */
  clientHost: string;
  clientPort: number;
  logger: Logger;
}

/**
 * nats-server as a supervised child of berth server. It is started through `setpriv --pdeathsig TERM`, so
 * the kernel stops it when berth dies by any means (kill -9 included): no NATS member outlives its server.
 * It is restarted (1 s, doubling to 30 s) when it exits on its own; stop() ends it (TERM, KILL after 10 s).
 */
export class EmbeddedNats {
  private child?: ChildProcess;
  private stopping = false;
  private restartDelayMs = 1000;
  private restartTimer?: NodeJS.Timeout;
  private readonly lines: string[] = [];

  private constructor(private readonly options: EmbeddedNatsOptions) {
    // A service manager stops the whole group (systemd's KillMode=control-group, `timeout`, a terminal's ^C):
    // nats-server gets the signal beside berth, and its exit is then the shutdown, not a crash to restart from.
    // Listening for a signal turns off node's own exit on it: when nothing else of berth listens yet (it is
    // still starting), this one ends nats-server and then lets the signal end berth as it would have.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        this.stopping = true;
        if (process.listenerCount(signal) === 0) void this.stop().finally(() => process.kill(process.pid, signal));
      });
    }
  }

  /** Starts nats-server and resolves once it accepts clients; a nats-server that exits first or stays silent is a one-line error with its last log lines. */
  static async start(options: EmbeddedNatsOptions): Promise<EmbeddedNats> {
    const nats = new EmbeddedNats(options);
    nats.launch();
    const deadline = Date.now() + START_DEADLINE_MS;
    while (!(await acceptsClients(options.clientHost, options.clientPort))) {
      if (nats.exited() || Date.now() > deadline) {
        await nats.stop();
        throw errors.unavailable(`nats-server did not start (${options.configPath}): ${nats.lines.slice(-5).join(' | ') || 'no output'}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return nats;
  }

  /** The child's pid (undefined while it is being restarted). */
  get pid(): number | undefined {
    return this.exited() ? undefined : this.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(escalate);
  }

  private exited(): boolean {
    return !this.child || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  private launch(): void {
    const { binary, configPath, logger } = this.options;
    const child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', binary, '-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    const startedAt = Date.now();
    let partial = '';
    child.stderr!.on('data', (data: Buffer) => {
      const text = partial + data.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.log(line);
    });
    child.on('error', (err) => logger.error({ err }, 'nats-server could not be started'));
    child.on('exit', (code, signal) => {
      if (this.stopping) return;
      // Up for a while: a fresh failure, retried soon; failing again right away: waits longer each time.
      if (Date.now() - startedAt > 60_000) this.restartDelayMs = 1000;
      logger.error({ code, signal, restartInMs: this.restartDelayMs }, 'nats-server exited; restarting it');
      this.restartTimer = setTimeout(() => this.launch(), this.restartDelayMs);
      this.restartDelayMs = Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    });
  }

  /** NATS' log lines (`[pid] date time [LVL] text`) at the matching level of berth's log. */
  private log(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    // Its warnings while a member waits for its routes come every 2 s and say what the waiting message says.
    const level = /\[(ERR|FTL)\]/.test(line) ? 'error' : /\[WRN\]/.test(line) && !/Waiting for routing/.test(line) ? 'warn' : 'debug';
    this.options.logger[level]({ nats: line.replace(/^\[\d+\] \S+ \S+ /, '') }, 'nats-server');
  }
}

/**
 * Waits until JetStream answers (its meta group has a leader): on a new cluster, once a second member
 * joined. `onWaiting` runs once if it does not answer at the first asking.
 */
export async function waitForJetStream(servers: string[], credentials: { user: string; pass: string }, onWaiting: () => void, signal?: AbortSignal): Promise<void> {
  const nc = await connectNats({ servers, maxReconnectAttempts: -1, ...credentials });
  let told = false;
  try {
    for (;;) {
      try {
        await (await nc.jetstreamManager({ timeout: 2000 })).getAccountInfo();
        return;
      } catch {
        if (signal?.aborted) throw errors.unavailable('stopped while waiting for JetStream');
        if (!told) onWaiting();
        told = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await nc.close();
  }
}
