import { nodeTunnelPath, openWebSocket, TUNNEL_REQUEST_PARAM, type ClusterConnection, type TunnelRequest } from '@berth/client';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { reconnectDelayMs, type ReconnectPolicy } from './backoff';
import { serveTunnelRequest, type TunnelRuntime } from './node-tunnel-serve';
import { StatsSampler, type HostReader } from './node-tunnel-stats';

/** Opens a WebSocket to the API server at `path` (with the agent's credential). */
export type TunnelDialer = (path: string, query?: Record<string, string>) => Promise<WebSocket>;

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialMs: 500, maxMs: 10_000 };
/**
 * The control socket is given up when nothing (a pong, a ping, a request) came from the server for this long.
 * The agent pings every third of it, so a live server is heard from three times per bound, whatever the
 * server's own ping interval: the same bound as a berth watch's three missed bookmarks.
 */
export const DEFAULT_TUNNEL_SILENCE_MS = 15_000;

export interface NodeTunnelOptions {
  nodeName: string;
  runtime: TunnelRuntime;
  logger: Logger;
  /**
   * The API server and credential; or `dial` for a custom transport. A function is asked at every dial,
   * so that a renewed credential is used from the next (re)connection on.
   */
  connection?: ClusterConnection | (() => ClusterConnection);
  dial?: TunnelDialer;
  reconnect?: Partial<ReconnectPolicy>;
  /** The control socket is given up (and redialled) when the server has not been heard from for this long; default DEFAULT_TUNNEL_SILENCE_MS. */
  silenceMs?: number;
  /**
   * Told the server whose control socket went silent (cut off, not closed), before the tunnel redials: the
   * agent's client moves on from it, so the redial goes to the next server.
   */
  onSilence?: (server: string | undefined) => void;
  /** For tests: where the host's usage comes from. */
  readHost?: HostReader;
}

/**
 * The agent's end of the node tunnel (see @berth/client's node-tunnel-protocol): keeps a control socket
 * open to the API server, redialling with back-off when it drops or goes silent (a server cut off the
 * network closes nothing), and for each request the server sends on it dials back and serves the request
 * through runtimed.
 */
export class NodeTunnel {
  private readonly dial: TunnelDialer;
  /** The server the next dial goes to, when the tunnel dials with a connection (not a custom dialer). */
  private readonly serverOf: () => string | undefined;
  private readonly policy: ReconnectPolicy;
  private readonly stats: StatsSampler;
  private readonly active = new Set<WebSocket>();
  private control: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** How many times the control socket has connected. */
  connections = 0;

  constructor(private readonly options: NodeTunnelOptions) {
    const { connection } = options;
    if (!options.dial && !connection) throw new Error('NodeTunnel needs a connection or a dialer');
    const current = typeof connection === 'function' ? connection : () => connection!;
    this.dial = options.dial ?? ((path, query) => openWebSocket(current(), path, { query }));
    this.serverOf = options.dial ? () => undefined : () => current().server;
    this.policy = { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.stats = new StatsSampler(options.runtime, options.readHost);
  }

  get connected(): boolean {
    return this.control !== undefined;
  }

  /** Dials the control socket in the background; a server not reachable yet is retried. */
  start(): void {
    this.connect();
  }

  /** Closes the control socket and every request in flight; nothing redials. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.control?.close(1001);
    for (const ws of this.active) ws.terminate();
  }

  private connect(): void {
    if (this.stopped) return;
    const { logger } = this.options;
    const server = this.serverOf();
    this.dial(nodeTunnelPath(this.options.nodeName)).then(
      (ws) => {
        if (this.stopped) return ws.close(1001);
        const connectedAt = Date.now();
        this.control = ws;
        this.connections++;
        logger.info({ attempts: this.failures + 1 }, 'node tunnel connected');
        const silenceMs = this.options.silenceMs ?? DEFAULT_TUNNEL_SILENCE_MS;
        const silent = () => {
          logger.warn({ server, silenceMs }, 'node tunnel: nothing from the API server in time; giving up its connection');
          this.options.onSilence?.(server);
          ws.terminate();
        };
        let silence = setTimeout(silent, silenceMs);
        const heard = () => {
          clearTimeout(silence);
          silence = setTimeout(silent, silenceMs);
        };
        // Our pings make a live server answer (pong) well within the bound, even if it pings rarely itself.
        const pinger = setInterval(() => ws.ping(), Math.max(1, Math.floor(silenceMs / 3)));
        ws.on('ping', heard);
        ws.on('pong', heard);
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          heard();
          if (!isBinary) this.onRequest(data.toString('utf8'));
        });
        ws.on('error', (err) => logger.debug({ err }, 'node tunnel control socket error'));
        ws.on('close', () => {
          clearTimeout(silence);
          clearInterval(pinger);
          this.control = undefined;
          if (this.stopped) return;
          // A socket that stayed up a while was a success: the next attempt starts the back-off over.
          if (Date.now() - connectedAt >= this.policy.maxMs) this.failures = 0;
          logger.warn('node tunnel disconnected; redialling');
          this.scheduleReconnect();
        });
      },
      (err: Error) => {
        if (this.failures === 0) logger.warn({ err: err.message }, 'node tunnel: cannot reach the API server; retrying');
        this.scheduleReconnect();
      },
    );
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const wait = reconnectDelayMs(this.failures++, this.policy);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  private onRequest(text: string): void {
    let request: TunnelRequest;
    try {
      request = JSON.parse(text) as TunnelRequest;
      if (typeof request.id !== 'string' || typeof request.kind !== 'string') throw new Error('no id or kind');
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'node tunnel: ignoring a malformed request');
      return;
    }
    void this.serve(request);
  }

  private async serve(request: TunnelRequest): Promise<void> {
    const { logger } = this.options;
    let ws: WebSocket;
    try {
      ws = await this.dial(nodeTunnelPath(this.options.nodeName), { [TUNNEL_REQUEST_PARAM]: request.id });
    } catch (err) {
      logger.warn({ err: (err as Error).message, kind: request.kind }, 'node tunnel: cannot dial back for a request');
      return;
    }
    if (this.stopped) return void ws.terminate();
    this.active.add(ws);
    ws.on('error', (err) => logger.debug({ err }, 'node tunnel request socket error'));
    ws.once('close', () => this.active.delete(ws));
    await serveTunnelRequest(ws, request, { runtime: this.options.runtime, stats: this.stats, logger });
  }
}

const TUNNEL_RUNTIME_CALLS = ['listContainers', 'logs', 'exec', 'attach', 'stats', 'top', 'listPodSandboxes'] as const;

/**
 * The tunnel an agent with this client and runtime can serve: the client must carry its connection (a
 * KubeClient does) and the runtime the streaming calls (a RuntimeClient has them); otherwise none. It
 * dials with the client's connection of the moment, so a credential the client was updated to.
 */
export function nodeTunnelFor(client: object, runtime: object, options: Omit<NodeTunnelOptions, 'runtime' | 'connection'>): NodeTunnel | undefined {
  const connectionOf = () => (client as { connection?: ClusterConnection }).connection;
  const reportUnreachable = (client as { reportUnreachable?: (server: string) => void }).reportUnreachable?.bind(client);
  const capable = TUNNEL_RUNTIME_CALLS.every((call) => typeof (runtime as Record<string, unknown>)[call] === 'function');
  if (!capable || (!options.dial && typeof connectionOf()?.server !== 'string')) return undefined;
  const onSilence = (server: string | undefined) => {
    options.onSilence?.(server);
    if (server && reportUnreachable) reportUnreachable(server);
  };
  return new NodeTunnel({ ...options, onSilence, connection: () => connectionOf()!, runtime: runtime as TunnelRuntime });
}
