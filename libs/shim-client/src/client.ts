import { BerthError, ErrorReason, errors } from '@berth/errors';
import { connect } from 'node:net';
import { constants as osConstants } from 'node:os';
import { decodeResponse, encodeRequest, MAX_FRAME_BYTES } from './protocol';
import { ExecOptions, ExecState, ExitStatus, ShimState, STATUS_NAMES } from './types';

/** proto ErrorCode -> berth's error vocabulary. */
const ERROR_REASONS: Record<number, ErrorReason> = {
  0: 'InternalError',
  1: 'NotFound',
  2: 'BadRequest',
  3: 'Conflict',
  4: 'AlreadyExists',
  5: 'InternalError',
};

type Message = Record<string, any>;

export interface CallOptions {
  /** Abandons a blocking call (wait, execWait); the promise rejects with a Timeout error. */
  signal?: AbortSignal;
}

function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') return signal;
  const n = (osConstants.signals as Record<string, number>)[signal];
  if (!n) throw errors.badRequest(`unknown signal ${signal}`);
  return n;
}

function toExit(m: Message | null | undefined): ExitStatus | undefined {
  if (!m) return undefined;
  return { exitCode: m.exitCode, exitedAt: m.exitedAt, reason: m.reason };
}

/**
 * A client of one shim's task service. Every call is its own connection (see shim.proto), so a
 * client holds no connection between calls and any number of them can talk to the same shim.
 */
export class ShimClient {
  constructor(readonly socket: string) {}

  async state(): Promise<ShimState> {
    const s = (await this.call({ state: {} }, 'state')) as Message;
    return {
      id: s.id,
      bundle: s.bundle,
      status: STATUS_NAMES[s.status] ?? 'unknown',
      pid: s.pid,
      exit: toExit(s.exit),
      terminal: s.terminal,
      stdin: s.stdin,
      shimPid: s.shimPid,
    };
  }

  /** `runc start`: runs the process of a created container. */
  async start(): Promise<void> {
    await this.call({ start: {} }, 'ok');
  }

  /**
   * `runc kill`; `all` signals every process of the container, `execId` an exec'd process instead.
   * Conflict once the process has exited.
   */
  async kill(signal: NodeJS.Signals | number, opts: { all?: boolean; execId?: string } = {}): Promise<void> {
    await this.call({ kill: { signal: signalNumber(signal), all: !!opts.all, execId: opts.execId ?? '' } }, 'ok');
  }

  /** Resolves when the container has exited and its output is in the log. */
  async wait(opts: CallOptions = {}): Promise<ExitStatus> {
    return toExit((await this.call({ wait: {} }, 'exit', opts)) as Message)!;
  }

  /**
   * Stops the container as `docker stop` does: SIGTERM, then SIGKILL when it has not exited after
   * graceMs. Resolves with its exit status.
   */
  async stop(graceMs: number): Promise<ExitStatus> {
    const state = await this.state();
    if (state.exit) return state.exit;
    await this.killIfRunning('SIGTERM');
    try {
      return await this.wait({ signal: AbortSignal.timeout(graceMs) });
    } catch (err) {
      if (!(err instanceof BerthError && err.reason === 'Timeout')) throw err;
    }
    await this.killIfRunning('SIGKILL');
    return this.wait();
  }

  private async killIfRunning(signal: NodeJS.Signals): Promise<void> {
    try {
      await this.kill(signal);
    } catch (err) {
      // It exited between our look and the kill: wait() reports how.
      if (!(err instanceof BerthError && err.reason === 'Conflict')) throw err;
    }
  }

  /** Starts a process in the running container (`runc exec`). See ExecOptions for the FIFOs. */
  async exec(opts: ExecOptions): Promise<ExecState> {
    const terminal = !!opts.terminal;
    const processJson = JSON.stringify({ ...opts.process, terminal });
    const res = (await this.call(
      {
        exec: {
          execId: opts.execId,
          processJson,
          terminal,
          stdin: opts.stdin ?? '',
          stdout: opts.stdout ?? '',
          stderr: opts.stderr ?? '',
        },
      },
      'execState',
    )) as Message;
    return toExecState(res);
  }

  async execState(execId: string): Promise<ExecState> {
    return toExecState((await this.call({ execState: { execId } }, 'execState')) as Message);
  }

  async execWait(execId: string, opts: CallOptions = {}): Promise<ExitStatus> {
    return toExit((await this.call({ execWait: { execId } }, 'exit', opts)) as Message)!;
  }

  /** Resizes the terminal of an exec'd process, or of the main process when execId is omitted. */
  async resize(width: number, height: number, execId = ''): Promise<void> {
    await this.call({ resize: { execId, width, height } }, 'ok');
  }

  /** Lets the process see end-of-file on stdin once every writer has closed the FIFO. */
  async closeStdin(execId = ''): Promise<void> {
    await this.call({ closeStdin: { execId } }, 'ok');
  }

  /** `runc delete`, then the shim removes its socket and exits. Conflict while the container runs. */
  async shutdown(): Promise<void> {
    await this.call({ shutdown: {} }, 'ok');
  }

  private call(request: Message, expect: string, opts: CallOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const sock = connect(this.socket);
      let received = Buffer.alloc(0);
      let settled = false;
      const finish = (err: Error | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        sock.destroy();
        if (err) reject(err);
        else resolve(value);
      };
      const onAbort = () => finish(errors.timeout(`shim ${this.socket}: ${Object.keys(request)[0]} was abandoned`));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort);
      sock.on('connect', () => sock.write(encodeRequest(request)));
      sock.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 4) return;
        const length = received.readUInt32BE(0);
        if (length > MAX_FRAME_BYTES) return finish(errors.internal(`shim ${this.socket} sent a ${length}-byte frame`));
        if (received.length < 4 + length) return;
        let response: Message;
        try {
          response = decodeResponse(received.subarray(4, 4 + length));
        } catch (err) {
          return finish(errors.internal(`shim ${this.socket} sent a malformed response: ${(err as Error).message}`));
        }
        if (response.result === 'error') {
          const { code, message } = response.error as Message;
          return finish(new BerthError(ERROR_REASONS[code] ?? 'InternalError', message));
        }
        if (response.result !== expect) {
          return finish(errors.internal(`shim ${this.socket} answered ${response.result} to ${Object.keys(request)[0]}`));
        }
        finish(undefined, response[expect]);
      });
      sock.on('error', (err: NodeJS.ErrnoException) =>
        finish(errors.unavailable(`shim ${this.socket} is not answering: ${err.code ?? err.message}`)),
      );
      sock.on('close', () => finish(errors.unavailable(`shim ${this.socket} closed the connection without answering`)));
    });
  }
}

function toExecState(m: Message): ExecState {
  return { execId: m.execId, status: STATUS_NAMES[m.status] ?? 'unknown', pid: m.pid, exit: toExit(m.exit) };
}

/** A client for the shim serving `socket`, once it answers a State call (Unavailable otherwise). */
export async function connectShim(socket: string): Promise<ShimClient> {
  const client = new ShimClient(socket);
  await client.state();
  return client;
}
