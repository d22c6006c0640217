import type { ContainerRef, ExecParams, LogParams, PortForwardParams, TunnelAnswer, TunnelKind } from '@berth/client';
import { BerthError, errors, isBerthError } from '@berth/errors';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { TUNNEL_RENEW_INTERVAL_MS, type TunnelPeers } from './tunnel-peers';

export interface NodeTunnelsOptions {
  /** How long a node has to dial back and answer a request; default 10 s. */
  answerTimeoutMs?: number;
  /** How often control sockets are pinged; one that missed a whole period is dropped. Default 20 s. */
  pingIntervalMs?: number;
  /** How often the records of the tunnels held here are renewed (see TunnelPeers.held); default TUNNEL_RENEW_INTERVAL_MS. */
  renewIntervalMs?: number;
  /**
   * The other API servers of the cluster: told which tunnels this one holds, and asked for a node whose
   * tunnel this one does not hold. Absent: a single server, which reaches only the nodes connected to it.
   */
  peers?: TunnelPeers;
}

/** The kinds of request a tunnel serves, for checking a relayed one. */
const TUNNEL_KINDS: readonly TunnelKind[] = ['log', 'exec', 'attach', 'stats', 'portforward', 'top'];
/** A relayed request's first message (its kind and parameters) is small. */
const MAX_RELAY_REQUEST_BYTES = 256 * 1024;

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
  private readonly renewer: NodeJS.Timeout;
  private readonly answerTimeoutMs: number;
  private readonly peers: TunnelPeers | undefined;

  constructor(
    private readonly logger: Logger,
    options: NodeTunnelsOptions = {},
  ) {
    this.answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
    this.peers = options.peers;
    this.pinger = setInterval(() => this.ping(), options.pingIntervalMs ?? 20_000);
    this.pinger.unref();
    this.renewer = setInterval(() => this.renew(), options.renewIntervalMs ?? TUNNEL_RENEW_INTERVAL_MS);
    this.renewer.unref();
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
      this.peers?.released(node).catch((err: Error) => this.logger.warn({ err: err.message, node }, 'could not drop the record of the node tunnel'));
    });
    this.logger.info({ node }, 'node tunnel open');
    this.peers?.held(node).catch((err: Error) => this.logger.warn({ err: err.message, node }, 'could not record that this server holds the node tunnel'));
  }

  /**
   * Another server relaying one request for `node` (see TunnelPeers): its first message names the request;
   * it is served only through a tunnel this server holds (never relayed again, so nothing goes round), the
   * answer sent on, then the node's stream spliced to it.
   */
  attachRelay(node: string, ws: WebSocket, splice: (client: WebSocket, upstream: WebSocket) => void): void {
    ws.on('error', (err) => this.logger.debug({ err, node }, 'relayed tunnel request socket error'));
    const refuse = (err: unknown) => {
      const answer: TunnelAnswer = isBerthError(err) ? { ok: false, reason: err.reason, message: err.message } : { ok: false, reason: 'InternalError', message: String(err) };
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(answer));
      ws.close(1000);
    };
    const timer = setTimeout(() => refuse(errors.badRequest('no relayed request arrived')), this.answerTimeoutMs);
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer);
      let kind: TunnelKind;
      let params: unknown;
      try {
        if (isBinary || data.length > MAX_RELAY_REQUEST_BYTES) throw new Error('not a small text message');
        const request = JSON.parse(data.toString('utf8')) as unknown;
        if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new Error('not an object');
        ({ kind, params } = request as { kind: TunnelKind; params: unknown });
        if (!TUNNEL_KINDS.includes(kind)) throw new Error(`unknown kind ${JSON.stringify(kind)}`);
        if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new Error('params is not an object');
      } catch (err) {
        return refuse(errors.badRequest(`a malformed relayed tunnel request: ${(err as Error).message}`));
      }
      this.openLocal(node, kind, params as ParamsOf<typeof kind>).then(
        (upstream) => {
          if (ws.readyState !== WebSocket.OPEN) return void upstream.terminate();
          ws.send(JSON.stringify({ ok: true } satisfies TunnelAnswer));
          splice(ws, upstream);
        },
        refuse,
      );
    });
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
    if (this.controls.has(node) || !this.peers) return this.openLocal(node, kind, params);
    const deadline = Date.now() + this.answerTimeoutMs;
    return this.answered(await this.peers.relay(node, kind, params), node, deadline);
  }

  /** open() through a tunnel this server holds. */
  private async openLocal<K extends TunnelKind>(node: string, kind: K, params: ParamsOf<K>): Promise<WebSocket> {
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
    return this.answered(ws, node, deadline);
  }

  /** The socket once its first message, the answer, says the request was accepted; its refusal thrown as its error. */
  private async answered(ws: WebSocket, node: string, deadline: number): Promise<WebSocket> {
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
    clearInterval(this.renewer);
    for (const ws of this.controls.values()) ws.close(1001, 'server shutting down');
    this.controls.clear();
    for (const pending of this.pending.values()) pending.reject(errors.unavailable('the API server is shutting down'));
    this.pending.clear();
  }

  /** Renews the record of every tunnel held here, so a lost one comes back and the others see it is live. */
  private renew(): void {
    for (const [node, ws] of this.controls) {
      this.peers?.held(node, true).then(
        (stillHeld) => {
          if (stillHeld || this.controls.get(node) !== ws) return;
          // The agent connected to another server since: this socket is dead (its server was cut off, say).
          this.logger.warn({ node }, 'node tunnel taken over by another API server; dropping this one');
          ws.terminate();
        },
        (err: Error) => this.logger.warn({ err: err.message, node }, 'could not renew the record of the node tunnel'),
      );
    }
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
