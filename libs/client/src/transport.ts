import * as http from 'node:http';
import * as https from 'node:https';
import { BerthError } from '@berth/errors';
import type { ClusterConnection } from './kubeconfig';
import { errorFromResponse } from './status';

export type QueryValue = string | number | boolean | undefined;

export interface HttpRequest {
  method: string;
  /** Path below the server URL, starting with `/`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** More request headers (lower-case names). */
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TransportOptions {
  /** Gives up on a request (not a watch) that has not completed in this time. */
  requestTimeoutMs?: number;
  userAgent?: string;
  /** Told when the transport moves to another of its servers (the one it left cannot be reached). */
  onServerChange?: (server: string, from: string) => void;
}

/** Builds `?a=1&b=x` from the defined entries, in the order given. */
export function queryString(query: Record<string, QueryValue> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The Authorization header a connection's token or user and password make; none for a client certificate. */
export function authorization(connection: ClientCredentials): string | undefined {
  if (connection.token) return `Bearer ${connection.token}`;
  if (connection.username !== undefined) return `Basic ${Buffer.from(`${connection.username}:${connection.password ?? ''}`).toString('base64')}`;
  return undefined;
}

/** What authenticates a client; the rest of a connection (server, CA) stays as it was. */
export type ClientCredentials = Pick<ClusterConnection, 'clientCert' | 'clientKey' | 'token' | 'username' | 'password'>;

/** The keep-alive pool for a connection: its TLS client certificate and key are fixed when a socket is made. */
function agentFor(connection: ClusterConnection, secure: boolean): http.Agent {
  return secure
    ? new https.Agent({
        keepAlive: true,
        ca: connection.ca,
        cert: connection.clientCert,
        key: connection.clientKey,
        rejectUnauthorized: !connection.insecureSkipTLSVerify,
        servername: connection.tlsServerName,
      })
    : new http.Agent({ keepAlive: true });
}

/** Whether a pool still has a request (a watch, say) on one of its sockets. */
function busy(agent: http.Agent): boolean {
  return Object.values(agent.sockets).some((sockets) => (sockets?.length ?? 0) > 0);
}

/**
 * Lets a pool die out without cutting anything short: idle sockets close now, each busy one when its
 * request ends (Node's documented keepSocketAlive hook: false destroys the socket instead of pooling it).
 */
function retire(agent: http.Agent): void {
  agent.keepSocketAlive = () => false;
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

/** How long a client with other servers to try waits for a TCP connection before it tries the next. */
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * TCP keepalive on every socket, probing after this much idleness: a backstop under the watches' bookmark
 * bound and the requests' timeouts, for a peer that vanished while a socket was idle (Linux then gives up
 * after its probes go unanswered, and the socket fails with ETIMEDOUT).
 */
const KEEPALIVE_IDLE_MS = 10_000;

/** Socket errors that mean the request never reached the server, so that any other server may take it. */
const UNREACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNECTTIMEOUT']);
/** Socket errors that mean the server went away while it had the request (it may have acted on it). */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT']);

/** A request that failed because its server could not be reached or went away; `unreached`: it never got there. */
class ServerFailure extends Error {
  constructor(
    override readonly cause: Error & { code?: string },
    readonly unreached: boolean,
  ) {
    super(cause.message);
  }
}

function parseServer(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new BerthError('BadRequest', `invalid server URL ${JSON.stringify(server)} in the kubeconfig`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new BerthError('BadRequest', `invalid server URL ${JSON.stringify(server)}: must be http(s)`);
  return url;
}

/**
 * HTTP(S) to the API server with the connection's TLS material and credentials; errors become BerthErrors.
 *
 * Given several servers (`connection.servers`: one cluster's, sharing its CA and credentials), it uses one
 * at a time and moves to the next when that one cannot be reached or goes away (connection refused, reset,
 * no TCP connection in 5 s, no answer in the request timeout), as client-go's callers and k3s's client-side
 * load balancer do. A request that never reached its server is sent to the next at once (any method); a
 * GET whose server went away is sent again too; a write whose server went away is not (it may have been
 * applied), it fails with ServiceUnavailable and the caller's retry goes to the next server. Watches in
 * flight end with their server; the watch that follows goes to the next one. A server cut off the network
 * closes nothing: a watch notices by its missed bookmarks (see KubeClient's watch), a tunnel by its missed
 * pongs, and either reports the server (reportUnreachable) so that what follows goes to the next one. Every
 * request has a timeout until its answer's headers arrive; TCP keepalive runs on every socket.
 */
export class Transport {
  private readonly servers: string[];
  private readonly secure: boolean;
  private current: ClusterConnection;
  private agent: http.Agent;
  /** Pools of earlier credentials whose requests have not all ended; close() ends them too. */
  private readonly retired = new Set<http.Agent>();

  constructor(
    connection: ClusterConnection,
    private readonly options: TransportOptions = {},
  ) {
    this.servers = [...new Set([connection.server, ...(connection.servers ?? [])])];
    const urls = this.servers.map(parseServer);
    this.secure = urls[0]!.protocol === 'https:';
    if (urls.some((u) => (u.protocol === 'https:') !== this.secure)) throw new BerthError('BadRequest', `the servers ${this.servers.join(', ')} mix http and https`);
    this.current = { ...connection, servers: [...this.servers] };
    if (!connection.servers) delete this.current.servers;
    this.agent = agentFor(connection, this.secure);
  }

  /** The server requests go to now. */
  get server(): string {
    return this.current.server;
  }

  /** Every server this transport may use, the one in use among them. */
  get serverList(): string[] {
    return [...this.servers];
  }

  /** The connection new requests use: the one given, with the server in use and the latest credentials. */
  get connection(): ClusterConnection {
    return this.current;
  }

  /**
   * The servers to move between from now on (learned from the `kubernetes` Endpoints, say); the one in use
   * stays in the list and in use, so a list that omits it (a server not yet listed there) never strands the client.
   */
  setServers(servers: string[]): void {
    const urls = servers.map(parseServer);
    if (urls.some((u) => (u.protocol === 'https:') !== this.secure)) throw new BerthError('BadRequest', `server list ${servers.join(', ')}: every server must use ${this.secure ? 'https' : 'http'}`);
    const inUse = this.current.server;
    this.servers.splice(0, this.servers.length, ...new Set([inUse, ...servers]));
    this.current = { ...this.current, servers: [...this.servers] };
  }

  /**
   * Authenticates every request sent from now on with `credentials` (a renewed client certificate, say),
   * on new connections. Requests in flight, watches among them, go on over their connections with the
   * old credentials until they end; idle connections made with the old ones are closed.
   */
  updateCredentials(credentials: ClientCredentials): void {
    const { clientCert, clientKey, token, username, password } = credentials;
    this.current = { ...this.current, clientCert, clientKey, token, username, password };
    for (const agent of this.retired) if (!busy(agent)) this.retired.delete(agent);
    retire(this.agent);
    if (busy(this.agent)) this.retired.add(this.agent);
    this.agent = agentFor(this.current, this.secure);
  }

  /** Sends a request and reads the whole answer; a non-2xx answer is thrown as a StatusError. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const { response: res, server } = await this.send(req, this.options.requestTimeoutMs ?? 60_000);
    const body = await readBody(res).catch((err: Error & { code?: string }) => {
      this.moveOn(server);
      return Promise.reject(this.connectionError(err, server));
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromResponse(status, body);
    return { status, headers: res.headers, body };
  }

  /** Sends a request and hands back the open response for streaming (watches), with the server that answered; non-2xx is thrown. */
  async stream(req: HttpRequest): Promise<{ response: http.IncomingMessage; abort: () => void; server: string }> {
    const { response: res, server } = await this.send(req, this.options.requestTimeoutMs ?? 60_000, true);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromResponse(status, await readBody(res));
    return { response: res, abort: () => res.destroy(), server };
  }

  /**
   * `server` stopped answering on a connection that stayed open (a watch that missed its bookmarks, a tunnel
   * that missed its pongs): it is suspect, and requests from now on go to the next server, if there is one.
   */
  reportUnreachable(server: string): void {
    this.moveOn(server);
  }

  /** Drops idle keep-alive connections so a short-lived process can exit. */
  close(): void {
    this.agent.destroy();
    for (const agent of this.retired) agent.destroy();
    this.retired.clear();
  }

  /** Sends to the server in use, and on to the next ones as the class comment says. */
  /** `streaming`: the timeout holds until the answer's headers arrive; the stream that follows may be quiet for as long as it likes. */
  private async send(req: HttpRequest, timeoutMs: number, streaming = false): Promise<{ response: http.IncomingMessage; server: string }> {
    for (let attempt = 1; ; attempt++) {
      const server = this.current.server;
      try {
        return { response: await this.sendTo(server, req, timeoutMs, streaming), server };
      } catch (err) {
        if (!(err instanceof ServerFailure)) throw err;
        const others = this.servers.length > 1;
        if (others) this.moveOn(server);
        const again = others && attempt < this.servers.length && (err.unreached || req.method === 'GET');
        if (!again) throw this.connectionError(err.cause, server);
      }
    }
  }

  /** The server after `failed` becomes the one in use, unless another request moved on from it already. */
  private moveOn(failed: string): void {
    if (this.servers.length < 2 || this.current.server !== failed) return;
    const next = this.servers[(this.servers.indexOf(failed) + 1) % this.servers.length]!;
    this.current = { ...this.current, server: next };
    this.options.onServerChange?.(next, failed);
  }

  private sendTo(server: string, req: HttpRequest, timeoutMs: number, streaming: boolean, retried = false): Promise<http.IncomingMessage> {
    const base = new URL(server);
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers: http.OutgoingHttpHeaders = { ...req.headers, Accept: req.accept ?? 'application/json' };
    if (this.options.userAgent) headers['User-Agent'] = this.options.userAgent;
    if (body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const auth = authorization(this.current);
    if (auth) headers.Authorization = auth;
    const basePath = base.pathname.replace(/\/+$/, '');
    const options: http.RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port || (this.secure ? 443 : 80),
      path: `${basePath}${req.path}${queryString(req.query)}`,
      method: req.method,
      headers,
      agent: this.agent,
    };
    return new Promise((resolve, reject) => {
      const request = (this.secure ? https : http).request(options, (response) => {
        if (streaming) request.setTimeout(0);
        resolve(response);
      });
      request.on('error', (err: Error & { code?: string }) => {
        // A kept-alive connection the server closed as idle just as we reused it: the request never
        // reached the server, so sending it once more on a fresh connection is safe (Node's advice).
        if (request.reusedSocket && err.code === 'ECONNRESET' && !retried) return resolve(this.sendTo(server, req, timeoutMs, streaming, true));
        if (err instanceof BerthError && err.reason === 'Timeout') return reject(new ServerFailure(err, false));
        if (err.code && UNREACHED.has(err.code)) return reject(new ServerFailure(err, true));
        if (err.code && LOST.has(err.code)) return reject(new ServerFailure(err, false));
        reject(this.connectionError(err, server));
      });
      request.on('socket', (socket) => socket.setKeepAlive(true, KEEPALIVE_IDLE_MS));
      if (this.servers.length > 1) {
        // A host that is down answers nothing: without this, connect() waits for the kernel's SYN retries (minutes).
        request.on('socket', (socket) => {
          if (!socket.connecting) return;
          const timer = setTimeout(
            () => request.destroy(Object.assign(new Error(`no connection to ${base.host} in ${CONNECT_TIMEOUT_MS / 1000} s`), { code: 'ECONNECTTIMEOUT' })),
            CONNECT_TIMEOUT_MS,
          );
          socket.once('connect', () => clearTimeout(timer));
          socket.once('close', () => clearTimeout(timer));
        });
      }
      request.setTimeout(timeoutMs, () =>
        request.destroy(new BerthError('Timeout', `Unable to connect to the server: ${req.method} ${base.origin}${req.path}: timeout after ${timeoutMs} ms`)),
      );
      request.end(body);
    });
  }

  private connectionError(err: Error & { code?: string }, server: string): BerthError {
    if (err instanceof BerthError) return err;
    const base = new URL(server);
    const hostPort = `${base.hostname}:${base.port || (this.secure ? 443 : 80)}`;
    if (err.code === 'ECONNREFUSED') {
      return new BerthError('ServiceUnavailable', `The connection to the server ${hostPort} was refused - did you specify the right host or port?`);
    }
    return new BerthError('ServiceUnavailable', `Unable to connect to the server: ${err.message}`);
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
