import { BerthError } from '@berth/errors';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import type { ClusterConnection } from './kubeconfig';
import { errorFromResponse } from './status';
import { authorization, queryString, type QueryValue } from './transport';

export interface WebSocketOptions {
  /** Repeated parameters (exec's `command`) as arrays. */
  query?: Record<string, QueryValue | string[]>;
  protocols?: string[];
  /** Gives up when the server has not answered the upgrade in this time; default 30 s. */
  handshakeTimeoutMs?: number;
}

function urlOf(connection: ClusterConnection, path: string, query: WebSocketOptions['query'] = {}): string {
  const base = new URL(connection.server);
  const scalars: Record<string, QueryValue> = {};
  const repeated = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const v of value) repeated.append(key, v);
    else scalars[key] = value;
  }
  const single = queryString(scalars);
  const more = repeated.toString();
  const search = single && more ? `${single}&${more}` : single || (more ? `?${more}` : '');
  return `${base.origin.replace(/^http/, 'ws')}${base.pathname.replace(/\/+$/, '')}${path}${search}`;
}

/**
 * Opens a WebSocket to the API server with the connection's TLS material and credentials (exec, attach,
 * the node tunnel). Resolves once open; an answer other than the upgrade is thrown as its Status error.
 * Attach message listeners right after the await: messages are delivered one per event-loop turn.
 */
export function openWebSocket(connection: ClusterConnection, path: string, options: WebSocketOptions = {}): Promise<WebSocket> {
  const auth = authorization(connection);
  // ws hands these on to tls.connect; its types leave servername out.
  const tls: WebSocket.ClientOptions & { servername?: string } = {
    ca: connection.ca,
    cert: connection.clientCert,
    key: connection.clientKey,
    rejectUnauthorized: !connection.insecureSkipTLSVerify,
    servername: connection.tlsServerName,
    headers: auth ? { Authorization: auth } : {},
    handshakeTimeout: options.handshakeTimeoutMs ?? 30_000,
    perMessageDeflate: false,
    // One message per event-loop turn: code that resumes after an await (this one, or one a message
    // handler resolved) attaches its listeners before the next message is emitted.
    allowSynchronousEvents: false,
  };
  // ws loads with the first WebSocket, not with @berth/client: most `berth` calls open none.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const WebSocketClient = require('ws') as typeof WebSocket;
  const ws = new WebSocketClient(urlOf(connection, path, options.query), options.protocols ?? [], tls);
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      ws.removeAllListeners('open');
      reject(err instanceof BerthError ? err : new BerthError('ServiceUnavailable', `Unable to connect to the server: ${err.message}`));
    };
    ws.once('open', () => {
      ws.removeAllListeners('unexpected-response');
      ws.removeListener('error', fail);
      resolve(ws);
    });
    ws.once('error', fail);
    ws.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        ws.removeAllListeners('error');
        // The aborted handshake still reports an error; it is the Status that explains it.
        ws.on('error', () => undefined);
        reject(errorFromResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      });
      res.on('error', fail);
    });
  });
}

/**
 * A plain HTTP upgrade (kubectl's `Upgrade: SPDY/3.1` for port-forward) with the connection's TLS
 * material and credentials: resolves with the upgraded socket once the server answers 101, any other
 * answer is thrown as its Status error. For protocols a WebSocket cannot name (`ws` refuses subprotocols
 * with a `/`, as RFC 6455's token rule says).
 */
export function openUpgrade(connection: ClusterConnection, method: string, path: string, headers: Record<string, string>): Promise<Duplex> {
  const base = new URL(connection.server);
  const auth = authorization(connection);
  const secure = base.protocol === 'https:';
  const options: https.RequestOptions & { servername?: string } = {
    host: base.hostname,
    port: base.port || (secure ? 443 : 80),
    method,
    path: `${base.pathname.replace(/\/+$/, '')}${path}`,
    headers: { Connection: 'Upgrade', ...headers, ...(auth ? { Authorization: auth } : {}) },
    ...(secure ? { ca: connection.ca, cert: connection.clientCert, key: connection.clientKey, rejectUnauthorized: !connection.insecureSkipTLSVerify, servername: connection.tlsServerName } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options);
    req.once('upgrade', (_res, socket: Duplex, head: Buffer) => {
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(errorFromResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
    });
    req.once('error', (err) => reject(new BerthError('ServiceUnavailable', `Unable to connect to the server: ${err.message}`)));
    req.end();
  });
}
