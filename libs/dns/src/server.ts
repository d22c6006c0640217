import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { errors } from '@berth/errors';
import type { Logger } from 'pino';
import type { QueryHandler } from './handler';

export interface DnsListener {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A TCP client silent this long is disconnected (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNECTIONS = 256;
/** A connection's unanswered queries; a client pipelining more waits for TCP back-pressure. */
const MAX_TCP_PIPELINE = 32;

function bindUdp(address: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(server: Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Serves DNS on address:port over UDP and TCP (two-byte length prefixes, pipelined queries answered as they finish). */
export async function listenDns(handler: QueryHandler, address: string, port: number, logger: Logger): Promise<DnsListener> {
  const cannotListen = (err: unknown) => errors.unavailable(`node DNS cannot listen on ${address}:${port}: ${(err as Error).message}`);
  const udp = await bindUdp(address, port).catch((err) => {
    throw cannotListen(err);
  });
  const boundPort = udp.address().port;
  udp.on('error', (err) => logger.error({ err }, 'DNS UDP socket error'));
  let closed = false;
  udp.on('message', (packet, from) => {
    void handler.handle(packet, from.address, 'udp').then((answer) => {
      // Answers that were still upstream when the server closed have nowhere to go.
      if (answer && !closed) udp.send(answer, from.port, from.address, (err) => err && logger.debug({ err }, 'DNS UDP answer not sent'));
    });
  });

  const connections = new Set<Socket>();
  const tcp = createServer((socket) => {
    if (connections.size >= MAX_TCP_CONNECTIONS) return socket.destroy();
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveTcp(socket, handler, logger);
  });
  try {
    await listenTcp(tcp, address, boundPort);
  } catch (err) {
    udp.close();
    throw cannotListen(err);
  }
  tcp.on('error', (err) => logger.error({ err }, 'DNS TCP server error'));
  return {
    address,
    port: boundPort,
    async close() {
      closed = true;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

function serveTcp(socket: Socket, handler: QueryHandler, logger: Logger): void {
  let buffered = Buffer.alloc(0);
  let pending = 0;
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', (err) => logger.debug({ err }, 'DNS TCP connection error'));
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const packet = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + packet.length);
      pending++;
      if (pending >= MAX_TCP_PIPELINE) socket.pause();
      void handler.handle(Buffer.from(packet), socket.remoteAddress ?? '', 'tcp').then((answer) => {
        pending--;
        if (socket.isPaused() && pending < MAX_TCP_PIPELINE) socket.resume();
        if (socket.destroyed) return;
        // A frame that is no query gets no answer, and a client sending one is not worth keeping.
        if (!answer) return socket.destroy();
        const length = Buffer.alloc(2);
        length.writeUInt16BE(answer.length);
        socket.write(Buffer.concat([length, answer]));
      });
    }
  });
}
