import { SpdySession, type SpdyStream } from '@berth/spdy';
import type { Logger } from 'pino';
import WebSocket from 'ws';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** kubectl 1.31+ tunnels the SPDY session in WebSocket binary messages under this subprotocol. */
export const TUNNELED_PORT_FORWARD_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

/** Opens the pod end of one forwarded connection: the node's dial-back socket (see PortForwardParams). */
export type PortDialer = (port: number) => Promise<WebSocket>;

/** How long the first of a connection's two streams waits for the other (kubelet's stream creation timeout). */
const PAIR_TIMEOUT_MS = 30_000;
/** Unsent bytes above which the client's stream is paused until the node has taken them. */
const HIGH_WATER_BYTES = 256 * 1024;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * The portforward.k8s.io protocol on a SPDY session, as kubelet serves it: each forwarded connection is
 * an `error` and a `data` stream with the same requestID and port; the data stream is joined to a
 * connection to the pod's port, and why that failed is written on the error stream before both close.
 */
export function servePortForward(session: SpdySession, dial: PortDialer, logger: Logger): void {
  const pairs = new Map<string, Pair>();
  session.on('stream', (stream) => {
    stream.reply();
    const type = stream.headers['streamtype'];
    const requestId = stream.headers['requestid'] ?? '';
    if ((type !== 'error' && type !== 'data') || !requestId) return stream.reset();
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(requestId);
        pair?.error?.reset();
        pair?.data?.reset();
      }, PAIR_TIMEOUT_MS);
      pairs.set(requestId, (pair = { timer }));
    }
    if (pair[type]) return stream.reset();
    pair[type] = stream;
    const { error, data } = pair;
    if (!error || !data) return;
    clearTimeout(pair.timer);
    pairs.delete(requestId);
    void forward(error, data, dial).catch((err: Error) => logger.warn({ err: err.message }, 'port forward failed'));
  });
  session.on('close', () => {
    for (const pair of pairs.values()) clearTimeout(pair.timer);
    pairs.clear();
  });
  session.on('error', (err) => logger.debug({ err: err.message }, 'port forward session error'));
}

/** Ends the error stream with `message` (nothing on success) and the data stream, once. */
function finish(error: SpdyStream, data: SpdyStream, message?: string): void {
  if (!error.writableEnded && !error.destroyed) error.end(message);
  if (!data.writableEnded && !data.destroyed) data.end();
}

async function forward(error: SpdyStream, data: SpdyStream, dial: PortDialer): Promise<void> {
  const port = Number(data.headers['port']);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return finish(error, data, `invalid port ${JSON.stringify(data.headers['port'] ?? '')}`);
  let upstream: WebSocket;
  try {
    upstream = await dial(port);
  } catch (err) {
    return finish(error, data, (err as Error).message);
  }
  if (data.destroyed) return void upstream.close(1000);
  // Client to pod; the client's FIN is passed on as the empty message.
  data.on('data', (chunk: Buffer) => {
    if (upstream.readyState !== WebSocket.OPEN) return;
    if (upstream.bufferedAmount < HIGH_WATER_BYTES) return upstream.send(chunk, { binary: true });
    data.pause();
    upstream.send(chunk, { binary: true }, () => data.resume());
  });
  data.on('end', () => upstream.readyState === WebSocket.OPEN && upstream.send(Buffer.alloc(0), { binary: true }));
  // Pod to client: the pod's FIN ends the data stream, and the connection is done (kubelet's too).
  upstream.on('message', (chunk: Buffer, isBinary: boolean) => {
    // After the pod's FIN (or the client's reset) anything more the node sends has nowhere to go.
    if (!isBinary || data.writableEnded || data.destroyed) return;
    if (chunk.length === 0) return finish(error, data);
    if (!data.write(chunk)) {
      upstream.pause();
      data.once('drain', () => upstream.resume());
    }
  });
  upstream.on('close', (code: number, reason: Buffer) => finish(error, data, code === 1000 || code === 1005 ? undefined : reason.toString() || `the node closed the connection (${code})`));
  upstream.on('error', () => undefined);
  // The client reset the stream or went away: the pod's connection goes too.
  data.on('close', () => upstream.readyState === WebSocket.OPEN && upstream.close(1000));
}
