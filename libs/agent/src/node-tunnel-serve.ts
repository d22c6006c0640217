import {
  CHANNEL,
  decodeFrame,
  encodeFrame,
  execOptionErrors,
  exitStatus,
  failureStatus,
  parseResize,
  type ContainerRef,
  type ExecParams,
  type LogParams,
  type TunnelAnswer,
  type TunnelRequest,
} from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import type { Container as RuntimeContainer, ProcessSession, RuntimeClient } from '@berth/runtime-client';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { LABELS } from './labels';
import type { StatsSampler } from './node-tunnel-stats';
import { containerProcesses } from './node-tunnel-top';
import { servePortForward } from './port-forward';

/** What serving the tunnel's requests needs of runtimed. */
export type TunnelRuntime = Pick<RuntimeClient, 'listContainers' | 'logs' | 'exec' | 'attach' | 'stats' | 'top' | 'listPodSandboxes'>;

export interface TunnelServeDeps {
  runtime: TunnelRuntime;
  stats: StatsSampler;
  logger: Logger;
  /** How long an exec with a tty waits for the client's first terminal size before starting; default 1 s. */
  firstResizeWaitMs?: number;
}

/** Unsent bytes above which a log stream waits for the socket to drain. */
const HIGH_WATER_BYTES = 256 * 1024;

/** A dial-back socket: the answer goes first, exactly once. */
class RequestSocket {
  answered = false;

  constructor(readonly ws: WebSocket) {}

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  answer(answer: TunnelAnswer): void {
    this.answered = true;
    this.ws.send(JSON.stringify(answer));
  }

  /** Sends binary data, waiting while too much is still unsent (a slow client slows the source). */
  async send(data: Buffer): Promise<void> {
    if (!this.open) return;
    if (this.ws.bufferedAmount < HIGH_WATER_BYTES) return this.ws.send(data, { binary: true });
    await new Promise<void>((resolve) => this.ws.send(data, { binary: true }, () => resolve()));
  }
}

const attemptOf = (c: RuntimeContainer) => Number(c.config.labels[LABELS.attempt] ?? 0);

/** The runs of a pod's container that runtimed still has, latest first. */
async function runsOf(runtime: TunnelRuntime, ref: ContainerRef): Promise<RuntimeContainer[]> {
  const runs = await runtime.listContainers({ all: true, labels: { [LABELS.podUid]: ref.uid, [LABELS.containerName]: ref.container } });
  return runs.sort((a, b) => attemptOf(b) - attemptOf(a));
}

async function serveLog(socket: RequestSocket, runtime: TunnelRuntime, params: LogParams, signal: AbortSignal): Promise<void> {
  const [current, previous] = await runsOf(runtime, params);
  const run = params.previous ? previous : current;
  if (!run) {
    throw errors.badRequest(
      params.previous
        ? `previous terminated container "${params.container}" in pod "${params.pod}" not found`
        : `container "${params.container}" in pod "${params.pod}" is waiting to start: ContainerCreating`,
    );
  }
  socket.answer({ ok: true });
  let left = params.limitBytes ?? Infinity;
  for await (const entry of runtime.logs(run.id, { follow: params.follow, tail: params.tailLines, since: params.sinceTime }, signal)) {
    let chunk = params.timestamps ? Buffer.concat([Buffer.from(`${entry.time} `), entry.data]) : entry.data;
    if (chunk.length > left) chunk = chunk.subarray(0, left);
    await socket.send(chunk);
    left -= chunk.length;
    if (left <= 0 || !socket.open) break;
  }
}

/** The processes of the container's current run, which must be running, as one message. */
async function serveTop(socket: RequestSocket, runtime: TunnelRuntime, ref: ContainerRef): Promise<void> {
  const [current] = await runsOf(runtime, ref);
  if (!current || current.state !== 'running') throw errors.badRequest(`container "${ref.container}" in pod "${ref.pod}" is not running`);
  const listed = containerProcesses(await runtime.top(current.id), Date.now());
  socket.answer({ ok: true });
  socket.ws.send(JSON.stringify(listed));
}

/** The first terminal size the client sends (kubectl sends one as soon as it is attached), if it does in time. */
function firstResize(frames: Buffer[], ws: WebSocket, waitMs: number): Promise<{ width: number; height: number } | undefined> {
  const find = () => {
    for (const raw of frames) {
      const frame = decodeFrame(raw);
      if (frame?.channel === CHANNEL.resize) return parseResize(frame.data);
    }
    return undefined;
  };
  const found = find();
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      ws.off('message', check);
      ws.off('close', done);
      resolve(find());
    };
    const check = () => setImmediate(() => find() && done());
    const timer = setTimeout(done, waitMs);
    ws.on('message', check);
    ws.on('close', done);
  });
}

/**
 * Exec (or attach): a process of the container, its stdio as channel frames, its exit as the status on
 * channel 3. The client going away lets go of it, closing an exec's stdin; an attach closes the
 * container's stdin only if the container says stdinOnce, as CRI runtimes do (else the next attach
 * finds it open).
 */
async function serveProcess(socket: RequestSocket, kind: 'exec' | 'attach', deps: TunnelServeDeps, params: ExecParams): Promise<void> {
  const { runtime } = deps;
  const [current] = await runsOf(runtime, params);
  if (!current || current.state !== 'running') throw errors.badRequest(`container "${params.container}" in pod "${params.pod}" is not running`);
  // The server checked them; a node takes nothing on trust.
  const problems = kind === 'exec' ? execOptionErrors(params) : [];
  if (problems.length) throw errors.badRequest(`invalid exec options: ${problems.join('; ')}`);
  const closesStdin = params.stdin && (kind === 'exec' || current.config.labels[LABELS.stdinOnce] === 'true');
  const { ws } = socket;
  // Frames can arrive before the process exists; they are applied in order once it does.
  const early: Buffer[] = [];
  let session: ProcessSession | undefined;
  // The process starts with the first size; only changes are sent on (a resize racing the terminal's
  // setup in the shim fails the whole exec).
  let size: { width: number; height: number } | undefined;
  const apply = (raw: Buffer) => {
    const frame = decodeFrame(raw);
    if (!frame || !session) return;
    if (frame.channel === CHANNEL.stdin && params.stdin) session.write(frame.data);
    else if (frame.channel === CHANNEL.resize && params.tty) {
      const next = parseResize(frame.data);
      if (!next || (next.width === size?.width && next.height === size?.height)) return;
      size = next;
      session.resize(next.width, next.height);
    } else if (frame.channel === CHANNEL.close && frame.data[0] === CHANNEL.stdin && closesStdin) session.closeStdin();
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return;
    if (session) apply(data);
    else early.push(data);
  });
  socket.answer({ ok: true });
  size = params.tty ? await firstResize(early, ws, deps.firstResizeWaitMs ?? 1000) : undefined;
  if (!socket.open) return;
  session =
    kind === 'exec'
      ? // With the start, runtimed sizes the terminal before it relays any input (the process sees its size).
        runtime.exec(current.id, { args: params.command, tty: params.tty, stdin: params.stdin, size, env: params.env, workingDir: params.workingDir, user: params.user })
      : runtime.attach(current.id, { stdin: params.stdin });
  const running = session;
  if (kind === 'attach' && size) running.resize(size.width, size.height);
  for (const raw of early.splice(0)) apply(raw);
  let ended = false;
  ws.once('close', () => {
    if (ended) return;
    if (closesStdin) running.closeStdin();
    running.cancel();
  });
  running.stdout.on('data', (d: Buffer) => params.stdout && void socket.send(encodeFrame(CHANNEL.stdout, d)));
  running.stderr.on('data', (d: Buffer) => params.stderr && void socket.send(encodeFrame(CHANNEL.stderr, d)));
  let status;
  try {
    const exit = await running.exit;
    status = exitStatus(exit.exitCode, params.command);
  } catch (err) {
    status = failureStatus((err as Error).message);
  } finally {
    ended = true;
  }
  // Every byte of output goes before the status that ends the stream.
  await Promise.all([finished(running.stdout), finished(running.stderr)]).catch(() => undefined);
  if (socket.open) await new Promise<void>((resolve) => ws.send(encodeFrame(CHANNEL.status, JSON.stringify(status)), { binary: true }, () => resolve()));
}

/**
 * Serves one tunnel request on its dial-back socket and closes it: the answer first (an error if the
 * request cannot be served), then the request's stream. The socket closing from the other end aborts it.
 */
export async function serveTunnelRequest(ws: WebSocket, request: TunnelRequest, deps: TunnelServeDeps): Promise<void> {
  const socket = new RequestSocket(ws);
  const abort = new AbortController();
  ws.once('close', () => abort.abort());
  try {
    switch (request.kind) {
      case 'log':
        await serveLog(socket, deps.runtime, request.params, abort.signal);
        break;
      case 'exec':
      case 'attach':
        await serveProcess(socket, request.kind, deps, request.params);
        break;
      case 'portforward':
        await servePortForward(ws, deps.runtime, request.params, () => socket.answer({ ok: true }));
        break;
      case 'top':
        await serveTop(socket, deps.runtime, request.params);
        break;
      case 'stats': {
        const report = await deps.stats.report();
        socket.answer({ ok: true });
        ws.send(JSON.stringify(report));
        break;
      }
      default:
        throw errors.badRequest(`unknown tunnel request kind ${JSON.stringify((request as { kind: unknown }).kind)}`);
    }
    if (socket.open) ws.close(1000);
  } catch (err) {
    if (abort.signal.aborted) return;
    const reason = isBerthError(err) ? err.reason : 'InternalError';
    if (reason === 'InternalError') deps.logger.error({ err, kind: request.kind }, 'tunnel request failed');
    if (!socket.answered && socket.open) {
      socket.answer({ ok: false, reason, message: (err as Error).message });
      ws.close(1000);
    } else {
      ws.close(1011, (err as Error).message.slice(0, 120));
    }
  }
}
