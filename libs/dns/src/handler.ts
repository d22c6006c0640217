import type { Logger } from 'pino';
import type { UpstreamForwarder } from './forwarder';
import {
  decodeHeader,
  decodeMessage,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  ednsOf,
  encodeForUdp,
  encodeMessage,
  errorFromHeader,
  Opcode,
  optRecord,
  Rcode,
  RecordType,
  responseTo,
  udpLimitOf,
} from './message';
import type { ClusterResolver, Resolution } from './resolver';

export type Transport = 'udp' | 'tcp';

/** The UDP payload size this server offers and accepts (the DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;
/** CNAMEs followed for one answer (ExternalName to ExternalName ...) before giving up. */
const MAX_CHASE = 8;

/**
 * One query in, one answer out (or nothing, for packets that are not queries): cluster names from the
 * resolver, everything else through the upstreams. Never throws: what cannot be read gets FORMERR.
 */
export class QueryHandler {
  constructor(
    private readonly resolver: ClusterResolver,
    private readonly forwarder: Pick<UpstreamForwarder, 'forward' | 'lookup'>,
    private readonly logger: Logger,
  ) {}

  async handle(packet: Buffer, clientIP: string, transport: Transport): Promise<Buffer | undefined> {
    try {
      return await this.answer(packet, clientIP, transport);
    } catch (err) {
      this.logger.warn({ err, clientIP }, 'DNS query failed');
      const header = decodeHeader(packet);
      return header && !header.qr ? errorFromHeader(header, Rcode.SERVFAIL) : undefined;
    }
  }

  private async answer(packet: Buffer, clientIP: string, transport: Transport): Promise<Buffer | undefined> {
    const header = decodeHeader(packet);
    // Responses and runts are dropped: answering them could start a loop or an amplification.
    if (!header || header.qr) return undefined;
    let query: DnsMessage;
    try {
      query = decodeMessage(packet);
    } catch {
      return errorFromHeader(header, Rcode.FORMERR);
    }
    if (header.opcode !== Opcode.QUERY) return this.encode(query, responseTo(query, Rcode.NOTIMP), transport);
    if (query.questions.length !== 1) return this.encode(query, responseTo(query, Rcode.FORMERR), transport);
    const [question] = query.questions;
    const resolution = this.resolver.resolve(question, clientIP);
    if (resolution.action === 'forward') return this.forward(packet, query, transport);
    const response = responseTo(query, resolution.rcode);
    response.header.aa = resolution.rcode === Rcode.NOERROR || resolution.rcode === Rcode.NXDOMAIN;
    response.answers = [...resolution.answers, ...(resolution.chase ? await this.chase(resolution.chase, question, clientIP) : [])];
    response.authority = resolution.authority;
    response.additional = resolution.additional;
    return this.encode(query, response, transport);
  }

  /** The records of an ExternalName's target, from the cluster or the upstreams; none when they cannot be had. */
  private async chase(target: string, question: DnsQuestion, clientIP: string, depth = 1): Promise<DnsRecord[]> {
    if (depth > MAX_CHASE) return [];
    const resolution: Resolution = this.resolver.resolve({ ...question, name: target }, clientIP);
    if (resolution.action === 'answer') {
      return [...resolution.answers, ...(resolution.chase ? await this.chase(resolution.chase, question, clientIP, depth + 1) : [])];
    }
    const answer = await this.forwarder.lookup(target, question.type);
    if (!answer) return [];
    try {
      return decodeMessage(answer).answers;
    } catch {
      return [];
    }
  }

  private async forward(packet: Buffer, query: DnsMessage, transport: Transport): Promise<Buffer> {
    const answer = await this.forwarder.forward(packet);
    if (!answer) return this.encode(query, responseTo(query, Rcode.SERVFAIL), transport);
    const limit = udpLimitOf(query, EDNS_UDP_SIZE);
    if (transport === 'tcp' || answer.length <= limit) return answer;
    // Upstream answered in full over TCP; the client asked over UDP and can take less, so it is told to ask over TCP.
    try {
      return encodeForUdp(decodeMessage(answer), limit);
    } catch {
      return truncated(query);
    }
  }

  private encode(query: DnsMessage, response: DnsMessage, transport: Transport): Buffer {
    if (ednsOf(query)) response.additional = [...response.additional.filter((r) => r.type !== RecordType.OPT), optRecord(EDNS_UDP_SIZE)];
    return transport === 'tcp' ? encodeMessage(response) : encodeForUdp(response, udpLimitOf(query, EDNS_UDP_SIZE));
  }
}

/** An empty truncated answer: the client retries over TCP. */
function truncated(query: DnsMessage): Buffer {
  const response = responseTo(query);
  response.header.tc = true;
  return encodeMessage(response);
}
