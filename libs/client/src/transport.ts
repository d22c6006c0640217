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

/** HTTP(S) to one API server with the connection's TLS material and credentials; errors become BerthErrors. */
export class Transport {
  private readonly base: URL;
  private readonly secure: boolean;
  private current: ClusterConnection;
  private agent: http.Agent;
  /** Pools of earlier credentials whose requests have not all ended; close() ends them too. */
  private readonly retired = new Set<http.Agent>();

  constructor(
    connection: ClusterConnection,
    private readonly options: TransportOptions = {},
  ) {
    try {
      this.base = new URL(connection.server);
    } catch {
      throw new BerthError('BadRequest', `invalid server URL ${JSON.stringify(connection.server)} in the kubeconfig`);
    }
    this.secure = this.base.protocol === 'https:';
    this.current = connection;
    this.agent = agentFor(connection, this.secure);
  }

  get server(): string {
    return this.current.server;
  }

  /** The connection new requests use: the one given, with the latest credentials. */
  get connection(): ClusterConnection {
    return this.current;
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
    const res = await this.send(req, this.options.requestTimeoutMs ?? 60_000);
    const body = await readBody(res).catch((err: Error) => Promise.reject(this.connectionError(err)));
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromResponse(status, body);
    return { status, headers: res.headers, body };
  }

  /** Sends a request and hands back the open response for streaming (watches); non-2xx is thrown. */
  async stream(req: HttpRequest): Promise<{ response: http.IncomingMessage; abort: () => void }> {
    const res = await this.send(req, undefined);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromResponse(status, await readBody(res));
    return { response: res, abort: () => res.destroy() };
  }

  /** Drops idle keep-alive connections so a short-lived process can exit. */
  close(): void {
    this.agent.destroy();
    for (const agent of this.retired) agent.destroy();
    this.retired.clear();
  }

  private send(req: HttpRequest, timeoutMs: number | undefined, retried = false): Promise<http.IncomingMessage> {
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers: http.OutgoingHttpHeaders = { Accept: req.accept ?? 'application/json' };
    if (this.options.userAgent) headers['User-Agent'] = this.options.userAgent;
    if (body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const auth = authorization(this.current);
    if (auth) headers.Authorization = auth;
    const basePath = this.base.pathname.replace(/\/+$/, '');
    const options: http.RequestOptions = {
      protocol: this.base.protocol,
      hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.base.port || (this.secure ? 443 : 80),
      path: `${basePath}${req.path}${queryString(req.query)}`,
      method: req.method,
      headers,
      agent: this.agent,
    };
    return new Promise((resolve, reject) => {
      const request = (this.secure ? https : http).request(options, resolve);
      request.on('error', (err: Error & { code?: string }) => {
        // A kept-alive connection the server closed as idle just as we reused it: the request never
        // reached the server, so sending it once more on a fresh connection is safe (Node's advice).
        if (request.reusedSocket && err.code === 'ECONNRESET' && !retried) resolve(this.send(req, timeoutMs, true));
        else reject(this.connectionError(err));
      });
      if (timeoutMs !== undefined) {
        request.setTimeout(timeoutMs, () =>
          request.destroy(new BerthError('Timeout', `Unable to connect to the server: ${req.method} ${this.base.origin}${req.path}: timeout after ${timeoutMs} ms`)),
        );
      }
      request.end(body);
    });
  }

  private connectionError(err: Error & { code?: string }): BerthError {
    if (err instanceof BerthError) return err;
    const hostPort = `${this.base.hostname}:${this.base.port || (this.secure ? 443 : 80)}`;
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
