/**
 * Sends queries the cluster cannot answer to the upstream resolvers: over UDP from a fresh socket (a random
 * source port and id each time), again over TCP when the answer comes back truncated, to the next
 * upstream on a timeout or error.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP, Socket } from 'node:net';
import { errors } from '@berth/errors';
import { decodeHeader, type DnsMessage, encodeMessage, RecordClass } from './message';

export interface Upstream {
  host: string;
  port: number;
}

/** 'ip' or 'ip:port' (IPv4); port 53 when none is given. */
export function parseUpstream(text: string): Upstream {
  const match = /^([^:]+)(?::(\d+))?$/.exec(text.trim());
  const port = match?.[2] ? Number(match[2]) : 53;
  if (!match || isIP(match[1]) !== 4 || port < 1 || port > 65535) throw errors.badRequest(`invalid DNS upstream "${text}": expected an IPv4 address, optionally with :port`);
  return { host: match[1], port };
}

/** The IPv4 nameservers of a resolv.conf text. */
export function resolvConfNameservers(text: string): string[] {
  return text
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
    .filter((ip): ip is string => !!ip && isIP(ip) === 4);
}

export interface ForwarderOptions {
  /** How long one upstream gets to answer before the next is tried; default 2000 ms. */
  timeoutMs?: number;
  /** Queries waiting for upstreams at once; more are refused (SERVFAIL), so a flood cannot exhaust sockets. Default 1000. */
  maxInFlight?: number;
}

const MAX_TCP_MESSAGE = 65_535;

export class UpstreamForwarder {
  private inFlight = 0;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;

  constructor(private readonly upstreams: Upstream[], options: ForwarderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxInFlight = options.maxInFlight ?? 1000;
  }

  /**
   * Forwards a query as it came (EDNS0 and all) and resolves with the first answer, under the query's own
   * id; undefined when no upstream answered in time.
   */
  async forward(query: Buffer): Promise<Buffer | undefined> {
    if (this.inFlight >= this.maxInFlight) return undefined;
    this.inFlight++;
    try {
      for (const upstream of this.upstreams) {
        const answer = await this.exchange(upstream, query).catch(() => undefined);
        if (answer) {
          answer.writeUInt16BE(query.readUInt16BE(0), 0);
          return answer;
        }
      }
      return undefined;
    } finally {
      this.inFlight--;
    }
  }

  /** Asks the upstreams for name's records of type (recursion desired); undefined when none answered. */
  async lookup(name: string, type: number): Promise<Buffer | undefined> {
    const query: DnsMessage = {
      header: { id: 0, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0 },
      questions: [{ name, type, class: RecordClass.IN }],
      answers: [],
      authority: [],
      additional: [],
    };
    return this.forward(encodeMessage(query));
  }

  private async exchange(upstream: Upstream, query: Buffer): Promise<Buffer | undefined> {
    const outgoing = Buffer.from(query);
    const id = randomInt(0x10000);
    outgoing.writeUInt16BE(id, 0);
    const answer = await this.udp(upstream, outgoing, id);
    if (!decodeHeader(answer)?.tc) return answer;
    return this.tcp(upstream, outgoing, id);
  }

  private udp(upstream: Upstream, query: Buffer, id: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      let settled = false;
      const done = (err: Error | undefined, answer?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(answer!);
      };
      const timer = setTimeout(() => done(errors.timeout(`DNS upstream ${upstream.host}:${upstream.port} did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      socket.on('error', (err) => done(err));
      socket.on('message', (answer, from) => {
        // Anything but the upstream's answer to this query (a stray or spoofed packet) is ignored.
        if (from.address !== upstream.host || from.port !== upstream.port) return;
        const header = decodeHeader(answer);
        if (header?.qr && header.id === id) done(undefined, answer);
      });
      socket.send(query, upstream.port, upstream.host, (err) => err && done(err));
    });
  }

  private tcp(upstream: Upstream, query: Buffer, id: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      let received = Buffer.alloc(0);
      let settled = false;
      const done = (err: Error | undefined, answer?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve(answer!);
      };
      const timer = setTimeout(() => done(errors.timeout(`DNS upstream ${upstream.host}:${upstream.port} did not answer over TCP within ${this.timeoutMs} ms`)), this.timeoutMs);
      socket.on('error', (err) => done(err));
      socket.on('close', () => done(errors.unavailable(`DNS upstream ${upstream.host}:${upstream.port} closed the TCP connection without an answer`)));
      socket.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        if (received.length > MAX_TCP_MESSAGE + 2) return done(errors.badRequest('DNS upstream sent an oversized TCP message'));
        if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
        const answer = received.subarray(2, 2 + received.readUInt16BE(0));
        const header = decodeHeader(answer);
        if (header?.qr && header.id === id) done(undefined, Buffer.from(answer));
        else done(errors.badRequest(`DNS upstream ${upstream.host}:${upstream.port} answered another query over TCP`));
      });
      socket.connect(upstream.port, upstream.host, () => {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(query.length);
        socket.write(Buffer.concat([length, query]));
      });
    });
  }
}
