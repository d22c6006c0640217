/**
 * A stand-in for the host's resolvers: answers A queries from a table over UDP and TCP,
 * truncates chosen names over UDP (so they must be asked again over TCP) and never answers others.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { decodeMessage, type DnsMessage, encodeMessage, Rcode, RecordClass, RecordType, responseTo } from '@berth/dns';

export interface FakeUpstream {
  readonly address: string;
  readonly port: number;
  /** Every query received, with how it came. */
  readonly queries: Array<{ name: string; type: number; transport: 'udp' | 'tcp'; id: number }>;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions {
  /** Lower-case name → IPv4 addresses; other names get NXDOMAIN. */
  records: Record<string, string[]>;
  /** Names answered with an empty TC response over UDP. */
  truncateOverUdp?: string[];
  /** Names never answered. */
  silent?: string[];
  /** Where it listens; default 127.0.0.1. */
  host?: string;
}

function bindUdp(host: string): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => resolve(socket));
  });
}

export async function startFakeUpstream(options: FakeUpstreamOptions): Promise<FakeUpstream> {
  const host = options.host ?? '127.0.0.1';
  const queries: FakeUpstream['queries'] = [];

  const answer = (packet: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    const query: DnsMessage = decodeMessage(packet);
    const question = query.questions[0];
    const name = question.name.toLowerCase();
    queries.push({ name, type: question.type, transport, id: query.header.id });
    if (options.silent?.includes(name)) return undefined;
    const ips = options.records[name];
    const response = responseTo(query, ips ? Rcode.NOERROR : Rcode.NXDOMAIN);
    if (transport === 'udp' && options.truncateOverUdp?.includes(name)) {
      response.header.tc = true;
      return encodeMessage(response);
    }
    if (question.type === RecordType.A) {
      response.answers = (ips ?? []).map((address) => ({ name: question.name, type: RecordType.A, class: RecordClass.IN, ttl: 30, data: { kind: 'address', address } }));
    }
    return encodeMessage(response);
  };

  const connections = new Set<Socket>();
  const tcp: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const packet = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + packet.length);
        const response = answer(Buffer.from(packet), 'tcp');
        if (!response) continue;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(response.length);
        socket.write(Buffer.concat([length, response]));
      }
    });
  });
  // The UDP port the kernel picked may be taken for TCP; another pick is tried then.
  let udp: UdpSocket | undefined;
  for (let attempt = 0; !udp; attempt++) {
    const candidate = await bindUdp(host);
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(candidate.address().port, host, () => resolve(true));
    });
    if (listening) udp = candidate;
    else await new Promise<void>((resolve) => candidate.close(() => resolve()));
    if (!udp && attempt >= 10) throw new Error('no port free for both UDP and TCP');
  }
  tcp.removeAllListeners('error');
  const udpSocket = udp;
  udpSocket.on('message', (packet, from) => {
    const response = answer(packet, 'udp');
    if (response) udpSocket.send(response, from.port, from.address);
  });
  const port = udpSocket.address().port;

  return {
    address: host,
    port,
    queries,
    async close() {
      await new Promise<void>((resolve) => udpSocket.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
