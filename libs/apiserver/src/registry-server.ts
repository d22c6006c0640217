import { errors } from '@berth/errors';
import { wireError } from '@berth/registry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { InflightLimit, type ServerLimits } from './limits';
import { REGISTRY_TOKEN_PATH, type RegistryAuth } from './registry-auth';

/** A token request's form (docker's OAuth2 POST) is a few fields: anything larger is not one. */
const MAX_TOKEN_FORM_BYTES = 64 * 1024;
/**
 * A connection that sends and receives nothing this long is cut: a client that stalls mid-upload holds
 * a socket (its bytes so far are on disk, never in memory) for this long at most.
 */
const IDLE_TIMEOUT_MS = 120_000;
/** How long stop() lets requests in flight finish before their connections are cut. */
const SHUTDOWN_GRACE_MS = 2000;

/** Answers one registry request (@berth/registry's handler); never rejects. */
export type RegistryListener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface RegistryServerOptions {
  port: number;
  bindAddress: string;
  /** The API server's serving certificate and key, and the cluster CA (node client certificates are checked against it). */
  tls: { cert: string; key: string; ca: string };
  auth: Pick<RegistryAuth, 'issueToken'>;
  /** The distribution API (`/v2/...`), with `auth.authorize` as its hook. */
  registry: RegistryListener;
  /** The API server's in-flight limits, counted separately for the registry. */
  limits: Pick<ServerLimits, 'maxRequestsInflight' | 'maxMutatingRequestsInflight'>;
  logger: Logger;
  /** Told of every request answered, when it is done (the background GC counts deletes). */
  onResponse?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** The spec's error body and status for a failure outside the distribution handler (the token endpoint, the limits). */
function sendError(res: ServerResponse, err: unknown): void {
  const wire = wireError(err);
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ errors: [{ code: wire.code, message: wire.message, ...(wire.detail !== undefined ? { detail: wire.detail } : {}) }] });
  res.writeHead(wire.status, {
    ...wire.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Docker-Distribution-API-Version': 'registry/2.0',
  });
  res.end(body);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw errors.badRequest('a token request body must be application/x-www-form-urlencoded');
  const chunks: Buffer[] = [];
  let size = 0;
  // An oversized form is still read (up to a bound, and dropped) so the client, still sending, gets the 413.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_TOKEN_FORM_BYTES) chunks.push(chunk);
    else if (size > 16 * MAX_TOKEN_FORM_BYTES) break;
  }
  if (size > MAX_TOKEN_FORM_BYTES) throw errors.tooLarge(MAX_TOKEN_FORM_BYTES);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The cluster registry's HTTPS listener: the token endpoint (`/v2/token`) and, for everything else, the
 * distribution API. It asks for client certificates (not requires them: tokens and passwords authenticate
 * too) as the API server does, so nodes pull with theirs. Requests in flight are bounded like the API
 * server's (reads and writes apart; more is 429), headers must arrive within a minute, and an idle
 * connection is cut after two; bodies are never buffered here (uploads stream to disk in the handler).
 */
export class RegistryServer {
  private readonly sockets = new Set<Socket>();
  private readonly reads: InflightLimit;
  private readonly writes: InflightLimit;

  private constructor(
    private readonly server: Server,
    private readonly options: RegistryServerOptions,
  ) {
    this.reads = new InflightLimit(options.limits.maxRequestsInflight, 'read-only registry');
    this.writes = new InflightLimit(options.limits.maxMutatingRequestsInflight, 'mutating registry');
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: RegistryServerOptions): Promise<RegistryServer> {
    const { tls } = options;
    const server = createServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false });
    const registry = new RegistryServer(server, options);
    server.on('request', registry.listener);
    // A layer upload may take long: no limit on a whole request, but on silence.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 55_000;
    server.timeout = IDLE_TIMEOUT_MS;
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.bindAddress, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return registry;
  }

  /** The port it listens on. */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  private readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const client = req.socket.remoteAddress;
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Never the Authorization header: it carries the admin token.
      this.options.logger.debug({ method: req.method, url: req.url, code: res.statusCode, client, seconds }, 'registry request');
      this.options.onResponse?.(req, res);
    });
    let release: (() => void) | undefined;
    try {
      release = (req.method === 'GET' || req.method === 'HEAD' ? this.reads : this.writes).admit();
    } catch (err) {
      res.setHeader('Connection', 'close');
      return sendError(res, err);
    }
    res.on('close', release);
    this.serve(req, res).catch((err: unknown) => {
      if (wireError(err).status >= 500) this.options.logger.error({ err, method: req.method, url: req.url }, 'registry request failed');
      if (!req.complete) res.setHeader('Connection', 'close');
      sendError(res, err);
    });
  };

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const question = target.indexOf('?');
    const path = question < 0 ? target : target.slice(0, question);
    if (path !== REGISTRY_TOKEN_PATH) return this.options.registry(req, res);
    let params: URLSearchParams;
    if (req.method === 'GET') params = new URLSearchParams(question < 0 ? '' : target.slice(question + 1));
    else if (req.method === 'POST') params = await readForm(req);
    else throw errors.methodNotAllowed(`${req.method} is not supported on ${REGISTRY_TOKEN_PATH}`);
    const body = JSON.stringify(this.options.auth.issueToken(req, params));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const cut = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(cut);
  }
}
