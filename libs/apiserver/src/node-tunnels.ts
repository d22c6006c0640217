import type { ContainerRef, ExecParams, LogParams, PortForwardParams, TunnelAnswer, TunnelKind } from '@berth/client';
import { BerthError, errors } from '@berth/errors';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import WebSocket from 'ws';

export interface NodeTunnelsOptions {
  /** How long a node has to dial back and answer a request; default 10 s. */
  answerTimeoutMs?: number;
  /** How often control sockets are pinged; one that missed a whole period is dropped. Default 20 s. */
  pingIntervalMs?: number;
}

interface Pending {
  node: string;
  resolve(ws: WebSocket): void;
  reject(err: Error): void;
}

type ParamsOf<K extends TunnelKind> = K extends 'log'
  ? LogParams
  : K extends 'stats'
    ? Record<string, never>
    : K extends 'portforward'
      ? PortForwardParams
      : K extends 'top'
        ? ContainerRef
        : ExecParams;

/**
 * The server's end of the node tunnels (see @berth/client's node-tunnel-protocol): the control socket of
 * each connected node, and the requests waiting for their node to dial back.
 */
export class NodeTunnels {
  private readonly controls = new Map<string, WebSocket>();
  private readonly pending = new Map<string, Pending>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly pinger: NodeJS.Timeout;
  private readonly answerTimeoutMs: number;

  constructor(
    private readonly logger: Logger,
    options: NodeTunnelsOptions = {},
  ) {
    this.answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
    this.pinger = setInterval(() => this.ping(), options.pingIntervalMs ?? 20_000);
    this.pinger.unref();
  }

  connected(node: string): boolean {
    return this.controls.has(node);
  }

  get nodes(): string[] {
    return [...this.controls.keys()];
  }

  /** A node's control socket; a newer one replaces the old (the agent restarted or redialled). */
  attachControl(node: string, ws: WebSocket): void {
    const previous = this.controls.get(node);
    this.controls.set(node, ws);
    previous?.close(1000, 'replaced by a newer tunnel');
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('error', (err) => this.logger.debug({ err, node }, 'node tunnel control socket error'));
    ws.on('close', () => {
      if (this.controls.get(node) !== ws) return;
      this.controls.delete(node);
      this.logger.info({ node }, 'node tunnel closed');
    });
    this.logger.info({ node }, 'node tunnel open');
  }

  /** A node dialling back for request `id`; only the node the request went to may answer it. */
  attachDialBack(node: string, id: string, ws: WebSocket): void {
    // From the first moment: a socket's error nobody listens for would end the process.
    ws.on('error', (err) => this.logger.debug({ err, node }, 'node tunnel request socket error'));
    const pending = this.pending.get(id);
    if (!pending || pending.node !== node) {
      ws.close(1008, 'no such request');
      return;
    }
    this.pending.delete(id);
    pending.resolve(ws);
  }

  /**
   * Asks `node` to serve a request and waits for its dial-back socket and answer. Resolves with the
   * socket once the node has accepted; the node's refusal is thrown as its error.
   */
  async open<K extends TunnelKind>(node: string, kind: K, params: ParamsOf<K>): Promise<WebSocket> {
    const control = this.controls.get(node);
    if (!control) throw errors.unavailable(`node "${node}" has no tunnel to the API server (is its agent running?)`);
    const id = randomUUID();
    const deadline = Date.now() + this.answerTimeoutMs;
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(errors.unavailable(`node "${node}" did not answer the ${kind} request in ${this.answerTimeoutMs / 1000} s`));
      }, this.answerTimeoutMs);
      this.pending.set(id, {
        node,
        resolve: (socket) => {
          clearTimeout(timer);
          resolve(socket);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      control.send(JSON.stringify({ id, kind, params }));
    });
    let answer: TunnelAnswer;
    try {
      answer = await firstAnswer(ws, node, Math.max(0, deadline - Date.now()));
    } catch (err) {
      ws.terminate();
      throw err;
    }
    if (!answer.ok) {
      ws.close(1000);
      throw new BerthError(answer.reason, answer.message);
    }
    return ws;
  }

  /** A request whose answer is one text message (stats, top): that message, once the node has sent it. */
  async fetchMessage<K extends 'stats' | 'top'>(node: string, kind: K, params: ParamsOf<K>): Promise<string> {
    const ws = await this.open(node, kind, params);
    return new Promise((resolve, reject) => {
      ws.once('message', (data: Buffer, isBinary: boolean) => {
        ws.close(1000);
        if (isBinary) reject(errors.internal(`node "${node}" sent a binary ${kind} answer`));
        else resolve(data.toString('utf8'));
      });
      ws.once('close', () => reject(errors.unavailable(`node "${node}" closed the ${kind} request`)));
    });
  }

  /** Closes every control socket and fails every waiting request. */
  stop(): void {
    clearInterval(this.pinger);
    for (const ws of this.controls.values()) ws.close(1001, 'server shutting down');
    this.controls.clear();
    for (const pending of this.pending.values()) pending.reject(errors.unavailable('the API server is shutting down'));
    this.pending.clear();
  }

  private ping(): void {
    for (const [node, ws] of this.controls) {
      if (!this.alive.has(ws)) {
        this.logger.warn({ node }, 'node tunnel stopped answering pings; dropping it');
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }
}

function firstAnswer(ws: WebSocket, node: string, timeoutMs: number): Promise<TunnelAnswer> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      fn();
    };
    const onMessage = (data: Buffer, isBinary: boolean) =>
      done(() => {
        try {
          if (isBinary) throw new Error('binary');
          const answer = JSON.parse(data.toString('utf8')) as TunnelAnswer;
          if (typeof answer.ok !== 'boolean') throw new Error('no ok field');
          resolve(answer);
        } catch {
          reject(errors.internal(`node "${node}" sent a malformed tunnel answer`));
        }
      });
    const onClose = () => done(() => reject(errors.unavailable(`node "${node}" closed the request before answering`)));
    const timer = setTimeout(() => done(() => reject(errors.unavailable(`node "${node}" did not answer in time`))), timeoutMs);
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}
