import type { PortForwardParams } from '@berth/client';
import { errors } from '@berth/errors';
import type { PodSandbox } from '@berth/runtime-client';
import { spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import WebSocket from 'ws';
import { LABELS } from './labels';

/** What a port forward needs of runtimed: the pod's sandbox, for its network namespace. */
export interface PortForwardRuntime {
  listPodSandboxes(labels?: Record<string, string>): Promise<PodSandbox[]>;
}

/** Unsent bytes above which one side stops reading the other. */
const HIGH_WATER_BYTES = 256 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

/** kubelet's wording, which kubectl prints after "an error occurred forwarding L -> R:". */
function forwardingError(params: PortForwardParams, cause: string): Error {
  return errors.badRequest(`error forwarding port ${params.port} to pod ${params.namespace}/${params.pod}, uid ${params.uid}: ${cause}`);
}

/**
 * Runs in the pod's network namespace (under nsenter): connects to the port on the pod's loopback and
 * hands the connected socket to the agent over the IPC channel, or reports why it could not.
 */
const RELAY = `
const s = require('node:net').connect({ host: '127.0.0.1', port: Number(process.argv[1]) });
s.once('connect', () => process.send('connected', s, () => process.exit(0)));
s.once('error', (err) => process.send({ error: err.message }, () => process.exit(1)));
`;

/** What waiting for the relay needs of its process (a ChildProcess), so a test can play its events in any order. */
export interface RelayProcess extends Pick<EventEmitter, 'on' | 'once'> {
  readonly stderr: Readable | null;
  kill(signal: NodeJS.Signals): boolean;
}

/**
 * The relay's outcome: the connected socket it sent, or why it could not connect, in kubelet's words.
 * Its exit is no answer: the exit and what it sent over the IPC channel come from two event sources, and
 * an agent whose event loop is busy can see the exit first (8 forwarded connections at once did, about one
 * round in eight: "exited (0)" for a socket that had connected, and kubectl gave the whole forward up).
 * Only once the channel has closed has everything the relay sent arrived; only then is no answer a failure.
 */
export function relayOutcome(relay: RelayProcess, params: PortForwardParams, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    relay.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let exit = '';
    let timedOut = false;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      relay.kill('SIGKILL');
    }, timeoutMs);
    relay.on('message', (message: unknown, handle: unknown) =>
      settle(() => {
        if (message === 'connected' && handle) {
          const socket = handle as Socket;
          // The pod ending its side must not end the client's.
          socket.allowHalfOpen = true;
          return resolve(socket);
        }
        reject(forwardingError(params, (message as { error?: string } | null)?.error ?? 'the connection failed'));
      }),
    );
    relay.once('error', (err: Error) => settle(() => reject(forwardingError(params, `cannot enter the pod's network namespace: ${err.message}`))));
    relay.once('exit', (code: number | null, signal: NodeJS.Signals | null) => (exit = ` (${code ?? signal})`));
    // What it wrote on stderr (nsenter's complaint) may still be on its way too.
    const stderrClosed = relay.stderr && !relay.stderr.closed ? new Promise((done) => relay.stderr!.once('close', done)) : Promise.resolve();
    relay.once('disconnect', () =>
      void stderrClosed.then(() =>
        settle(() => reject(forwardingError(params, timedOut ? `dial tcp 127.0.0.1:${params.port}: i/o timeout` : stderr.trim() || `the relay into the pod's network namespace exited without an answer${exit}`))),
      ),
    );
  });
}

/**
 * A connection to the port inside the pod's network namespace, as kubelet makes it: servers bound to the
 * pod's 127.0.0.1 are reached too. The socket, made there, works here like any other.
 */
function dialInNamespace(netns: string, params: PortForwardParams): Promise<Socket> {
  const relay = spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', RELAY, String(params.port)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  return relayOutcome(relay, params);
}

/** The node's own loopback, for a host-network pod. */
function dialHost(params: PortForwardParams): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Half-open: the pod ending its side must not end the client's.
    const socket = connect({ host: '127.0.0.1', port: params.port, allowHalfOpen: true });
    const timer = setTimeout(() => socket.destroy(new Error(`dial tcp 127.0.0.1:${params.port}: i/o timeout`)), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(forwardingError(params, err.message));
    });
  });
}

async function dialPod(runtime: PortForwardRuntime, params: PortForwardParams): Promise<Socket> {
  const sandboxes = await runtime.listPodSandboxes({ [LABELS.podUid]: params.uid });
  const ready = sandboxes.find((s: PodSandbox) => s.state === 'ready');
  if (!ready) throw forwardingError(params, 'the pod has no running sandbox on this node');
  if (ready.network === 'host' || !ready.networkNamespace) return dialHost(params);
  return dialInNamespace(ready.networkNamespace, params);
}

/**
 * Connects to the pod's port, then calls `accepted` (the tunnel's go-ahead) and relays bytes between the
 * connection and the dial-back socket until both directions have ended or either side goes away. An
 * empty binary message is a half-close, both ways.
 */
export async function servePortForward(ws: WebSocket, runtime: PortForwardRuntime, params: PortForwardParams, accepted: () => void): Promise<void> {
  const socket = await dialPod(runtime, params);
  if (ws.readyState !== WebSocket.OPEN) return void socket.destroy();
  accepted();
  await new Promise<void>((resolve) => {
    const send = (data: Buffer) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount < HIGH_WATER_BYTES) return ws.send(data, { binary: true });
      socket.pause();
      ws.send(data, { binary: true }, () => socket.resume());
    };
    socket.on('data', send);
    socket.on('end', () => send(Buffer.alloc(0)));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || socket.destroyed) return;
      if (data.length === 0) return void socket.end();
      if (!socket.write(data)) {
        ws.pause();
        socket.once('drain', () => ws.resume());
      }
    });
    socket.on('error', (err) => {
      if (ws.readyState === WebSocket.OPEN) ws.close(1011, forwardingError(params, err.message).message.slice(0, 120));
    });
    socket.on('close', () => resolve());
    ws.on('close', () => socket.destroy());
  });
}
