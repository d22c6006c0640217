import { BerthError } from '@berth/errors';
import { CHANNEL, ChannelStatus, decodeFrame, encodeFrame, exitCodeOf, openWebSocket, QueryValue, resourcePath } from '@berth/client';
import type WebSocket from 'ws';
import type { Pod } from '@berth/api';
import type { Session } from '../session';
import { chooseContainer, POD_TYPE, resolvePod } from './workloads';

export interface ExecOptions {
  stdin?: boolean;
  tty?: boolean;
  container?: string;
  /** berth's own exec parameters (docker exec -e/-w/-u); kubectl's requests never have them. */
  env?: string[];
  workingDir?: string;
  user?: string;
}

/** kubectl's only offer, and what berth's apiserver speaks: channel-prefixed frames, stdin close on channel 255. */
const PROTOCOL = 'v5.channel.k8s.io';

/** The pods/exec query kubectl sends: one `command` per argument; a terminal merges stderr into stdout. */
export function execQuery(command: string[], container: string, options: ExecOptions): Record<string, QueryValue | string[]> {
  return {
    command,
    container,
    stdin: options.stdin || undefined,
    stdout: true,
    stderr: options.tty ? undefined : true,
    tty: options.tty || undefined,
    ...(options.env?.length ? { env: options.env } : {}),
    ...(options.workingDir !== undefined ? { workingDir: options.workingDir } : {}),
    ...(options.user !== undefined ? { user: options.user } : {}),
  };
}

/** The exit code of the remote command from its channel-3 status; a failure without one is an error. */
export function exitCodeFromStatus(status: ChannelStatus | undefined): number {
  if (!status) return 0;
  const code = exitCodeOf(status);
  if (code !== undefined) return code;
  throw new BerthError('InternalError', status.message || `the command failed (${status.reason ?? 'no reason given'})`);
}

/**
 * Relays our terminal to the session: stdin as channel 0 (its end as a channel-255 close), resizes on
 * channel 4 with a terminal; the remote stdout and stderr to ours. Resolves with the channel-3 status.
 */
export function relay(ws: WebSocket, options: ExecOptions): Promise<ChannelStatus | undefined> {
  const stdin = process.stdin;
  const raw = Boolean(options.tty && options.stdin && stdin.isTTY);
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(encodeFrame(channel, data));
  };
  const onInput = (chunk: Buffer) => send(CHANNEL.stdin, chunk);
  const onInputEnd = () => send(CHANNEL.close, Buffer.from([CHANNEL.stdin]));
  const onResize = () => send(CHANNEL.resize, JSON.stringify({ Width: process.stdout.columns, Height: process.stdout.rows }));

  if (options.tty && process.stdout.isTTY) {
    onResize();
    process.stdout.on('resize', onResize);
  }
  if (options.stdin) {
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.once('end', onInputEnd);
    stdin.resume();
  }
  const restore = () => {
    process.stdout.off('resize', onResize);
    if (!options.stdin) return;
    stdin.off('data', onInput);
    stdin.off('end', onInputEnd);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  };

  return receive(ws, { stdout: (data) => process.stdout.write(data), stderr: (data) => process.stderr.write(data) }).finally(restore);
}

/** Where a remote command's output goes. */
export interface ExecOutput {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
}

/** Hands the remote stdout and stderr frames to `output` until the connection closes; resolves with the channel-3 status. */
function receive(ws: WebSocket, output: ExecOutput): Promise<ChannelStatus | undefined> {
  return new Promise((resolve, reject) => {
    let status: ChannelStatus | undefined;
    let failure: Error | undefined;
    ws.on('message', (message: Buffer) => {
      const frame = decodeFrame(Buffer.isBuffer(message) ? message : Buffer.from(message));
      if (!frame) return;
      if (frame.channel === CHANNEL.stdout) output.stdout(frame.data);
      else if (frame.channel === CHANNEL.stderr) output.stderr(frame.data);
      else if (frame.channel === CHANNEL.status) {
        try {
          status = JSON.parse(frame.data.toString('utf8')) as ChannelStatus;
        } catch {
          failure = new BerthError('InternalError', `the server sent an undecodable exec status: ${frame.data.toString('utf8').slice(0, 200)}`);
        }
      }
    });
    ws.on('error', (err) => (failure ??= new BerthError('ServiceUnavailable', `exec connection failed: ${err.message}`)));
    ws.once('close', () => (failure ? reject(failure) : resolve(status)));
  });
}

/** A pods/exec (or pods/attach) stream in the channel protocol kubectl speaks. */
export async function openExec(session: Session, pod: Pod, query: Record<string, QueryValue | string[]>, subresource: 'exec' | 'attach' = 'exec'): Promise<WebSocket> {
  const ws = await openWebSocket(
    session.connection,
    resourcePath(POD_TYPE, { namespace: pod.metadata.namespace ?? session.namespace, name: pod.metadata.name, subresource }),
    { query, protocols: [PROTOCOL] },
  );
  if (ws.protocol !== PROTOCOL) {
    ws.terminate();
    throw new BerthError('BadRequest', `the server did not agree to the ${PROTOCOL} exec protocol (it chose "${ws.protocol}")`);
  }
  return ws;
}

/**
 * Runs a command in a pod's container without a terminal (what `cp` does): `input`, if given, is its stdin
 * (closed at its end), its output goes to `output`. Resolves with the command's exit code.
 */
export async function execInPod(session: Session, pod: Pod, container: string, command: string[], output: ExecOutput, input?: AsyncIterable<Buffer>): Promise<number> {
  const ws = await openExec(session, pod, execQuery(command, container, { stdin: input !== undefined }));
  const done = receive(ws, output);
  if (input) {
    try {
      for await (const chunk of input) {
        if (ws.readyState !== ws.OPEN) break;
        await new Promise<void>((resolve, reject) => ws.send(encodeFrame(CHANNEL.stdin, chunk), (err) => (err ? reject(err) : resolve())));
      }
      if (ws.readyState === ws.OPEN) ws.send(encodeFrame(CHANNEL.close, Buffer.from([CHANNEL.stdin])));
    } catch (err) {
      ws.terminate();
      await done.catch(() => undefined);
      throw err;
    }
  }
  return exitCodeFromStatus(await done);
}

/**
 * `berth exec [-i] [-t] POD|TYPE/NAME [-c C] -- CMD ARGS...` over the pods/exec WebSocket. Resolves with
 * the remote command's exit code (kubectl prints `command terminated with exit code N` for a non-zero one).
 */
export async function exec(session: Session, target: string, command: string[], options: ExecOptions): Promise<number> {
  if (command.length === 0) throw new BerthError('BadRequest', 'you must specify at least one command for the container');
  let tty = Boolean(options.tty);
  if (tty && options.stdin && !process.stdin.isTTY) {
    session.notice('Unable to use a TTY - input is not a terminal or the right kind of file');
    tty = false;
  }
  const pod = await resolvePod(session, target);
  const container = chooseContainer(pod, options.container, (line) => session.notice(line));
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
    throw new BerthError('BadRequest', `cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`);
  }
  const ws = await openExec(session, pod, execQuery(command, container, { ...options, tty }));
  const code = exitCodeFromStatus(await relay(ws, { ...options, tty }));
  if (code !== 0) session.notice(`command terminated with exit code ${code}`);
  return code;
}
