/**
 * DNS messages (RFC 1035) as berth's node DNS needs them: header, questions and resource records, with
 * name compression read anywhere and written for owner names and the names inside CNAME/NS/PTR/SOA data.
 * Record data of other types is kept as bytes, which is safe to copy between messages because only those
 * well-known types may carry compressed names (RFC 3597).
 */
import { errors } from '@berth/errors';

export const RecordType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

export const RecordClass = { IN: 1, ANY: 255 } as const;

export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export const Opcode = { QUERY: 0 } as const;

/** The largest UDP answer a client that sends no EDNS0 size can take. */
export const CLASSIC_UDP_SIZE = 512;
const MAX_MESSAGE = 65_535;
const MAX_NAME = 255;
const MAX_LABEL = 63;
const HEADER_SIZE = 12;

export interface DnsHeader {
  id: number;
  /** True in responses. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
}

export interface DnsQuestion {
  /** Presentation form without the trailing dot ('' is the root): labels joined by '.', with '.', '\\' and odd bytes escaped. */
  name: string;
  type: number;
  class: number;
}

export type RecordData =
  | { kind: 'address'; address: string }
  | { kind: 'name'; target: string }
  | { kind: 'srv'; priority: number; weight: number; port: number; target: string }
  | { kind: 'soa'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { kind: 'raw'; bytes: Buffer };

export interface DnsRecord {
  name: string;
  type: number;
  /** For OPT: the sender's UDP payload size. */
  class: number;
  /** For OPT: extended rcode, version and flags. */
  ttl: number;
  data: RecordData;
}

export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
}

const malformed = (why: string) => errors.badRequest(`malformed DNS message: ${why}`);

// ---------------------------------------------------------------------------------------------------------
// names

function escapeLabel(label: Buffer): string {
  let out = '';
  for (const byte of label) {
    if (byte === 0x2e || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte > 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${String(byte).padStart(3, '0')}`;
  }
  return out;
}

/** The wire labels of a presentation-form name; a trailing dot is allowed. */
export function nameLabels(name: string): Buffer[] {
  const labels: Buffer[] = [];
  let current: number[] = [];
  if (name === '' || name === '.') return labels;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '.') {
      labels.push(Buffer.from(current));
      current = [];
    } else if (ch === '\\') {
      const digits = /^\d{3}/.exec(name.slice(i + 1));
      if (digits) {
        current.push(Number(digits[0]) & 0xff);
        i += 3;
      } else if (i + 1 < name.length) {
        current.push(name.charCodeAt(++i) & 0xff);
      }
    } else {
      current.push(name.charCodeAt(i) & 0xff);
    }
  }
  // A trailing dot (a fully qualified name) ends the last label rather than starting an empty one.
  if (current.length > 0 || !name.endsWith('.')) labels.push(Buffer.from(current));
  let length = 1;
  for (const label of labels) {
    if (label.length === 0 || label.length > MAX_LABEL) throw errors.badRequest(`invalid DNS name "${name}": labels must be 1 to ${MAX_LABEL} bytes`);
    length += label.length + 1;
  }
  if (length > MAX_NAME) throw errors.badRequest(`invalid DNS name "${name}": longer than ${MAX_NAME} bytes`);
  return labels;
}

/** Names compare case-insensitively (ASCII only, RFC 4343). */
export function canonicalName(name: string): string {
  const trailingBackslashes = /\\*\.$/.exec(name)?.[0].length ?? 0;
  // An unescaped trailing dot (an even number of backslashes before it) marks a fully qualified name.
  const trimmed = trailingBackslashes > 0 && (trailingBackslashes - 1) % 2 === 0 ? name.slice(0, -1) : name;
  return trimmed.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// ---------------------------------------------------------------------------------------------------------
// reading

class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (this.offset + n > this.buf.length) throw malformed(`truncated at byte ${this.offset}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  /** A name at the current offset, following compression pointers; each pointer must go backwards, so loops end. */
  name(): string {
    const labels: string[] = [];
    let length = 1;
    let at = this.offset;
    let resumeAt = -1;
    let lowestPointer = at;
    for (;;) {
      if (at >= this.buf.length) throw malformed('name runs past the end');
      const len = this.buf[at];
      if ((len & 0xc0) === 0xc0) {
        if (at + 1 >= this.buf.length) throw malformed('truncated compression pointer');
        const target = ((len & 0x3f) << 8) | this.buf[at + 1];
        if (target >= lowestPointer) throw malformed('compression pointer does not point backwards');
        if (resumeAt < 0) resumeAt = at + 2;
        lowestPointer = target;
        at = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw malformed(`unknown label type 0x${len.toString(16)}`);
      if (len === 0) {
        this.offset = resumeAt >= 0 ? resumeAt : at + 1;
        return labels.join('.');
      }
      if (at + 1 + len > this.buf.length) throw malformed('label runs past the end');
      length += len + 1;
      if (length > MAX_NAME) throw malformed(`name longer than ${MAX_NAME} bytes`);
      labels.push(escapeLabel(this.buf.subarray(at + 1, at + 1 + len)));
      at += 1 + len;
    }
  }
}

function readHeader(r: Reader): { header: DnsHeader; counts: number[] } {
  const id = r.u16();
  const flags = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()];
  return {
    header: {
      id,
      qr: !!(flags & 0x8000),
      opcode: (flags >> 11) & 0xf,
      aa: !!(flags & 0x0400),
      tc: !!(flags & 0x0200),
      rd: !!(flags & 0x0100),
      ra: !!(flags & 0x0080),
      ad: !!(flags & 0x0020),
      cd: !!(flags & 0x0010),
      rcode: flags & 0xf,
    },
    counts,
  };
}

/** The header alone, for answering messages whose body cannot be read. Undefined when even that is short. */
export function decodeHeader(buf: Buffer): DnsHeader | undefined {
  if (buf.length < HEADER_SIZE) return undefined;
  return readHeader(new Reader(buf)).header;
}

function readRecordData(r: Reader, type: number, length: number): RecordData {
  const end = r.offset + length;
  r.need(length);
  let data: RecordData;
  switch (type) {
    case RecordType.A:
      if (length !== 4) throw malformed('A record data is not 4 bytes');
      data = { kind: 'address', address: [...r.bytes(4)].join('.') };
      break;
    case RecordType.CNAME:
    case RecordType.NS:
    case RecordType.PTR:
      data = { kind: 'name', target: r.name() };
      break;
    case RecordType.SRV:
      data = { kind: 'srv', priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name() };
      break;
    case RecordType.SOA:
      data = { kind: 'soa', mname: r.name(), rname: r.name(), serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
      break;
    default:
      data = { kind: 'raw', bytes: r.bytes(length) };
  }
  if (r.offset !== end) throw malformed(`record data of type ${type} is not ${length} bytes`);
  return data;
}

function readRecord(r: Reader): DnsRecord {
  const name = r.name();
  const type = r.u16();
  const klass = r.u16();
  const ttl = r.u32();
  const length = r.u16();
  return { name, type, class: klass, ttl, data: readRecordData(r, type, length) };
}

/** Parses a whole message; throws BadRequest for anything malformed (never reads past the buffer). */
export function decodeMessage(buf: Buffer): DnsMessage {
  if (buf.length < HEADER_SIZE) throw malformed('shorter than a header');
  if (buf.length > MAX_MESSAGE) throw malformed('longer than 65535 bytes');
  const r = new Reader(buf);
  const { header, counts } = readHeader(r);
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) questions.push({ name: r.name(), type: r.u16(), class: r.u16() });
  const sections = counts.slice(1).map((count) => {
    const records: DnsRecord[] = [];
    for (let i = 0; i < count; i++) records.push(readRecord(r));
    return records;
  });
  return { header, questions, answers: sections[0], authority: sections[1], additional: sections[2] };
}

// ---------------------------------------------------------------------------------------------------------
// writing

class Writer {
  private buf = Buffer.alloc(512);
  length = 0;
  /** Lower-cased name suffix → offset where it was written, for compression. */
  private readonly suffixes = new Map<string, number>();

  private ensure(n: number): void {
    if (this.length + n > MAX_MESSAGE) throw errors.badRequest('DNS message longer than 65535 bytes');
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.min(MAX_MESSAGE, Math.max(this.buf.length * 2, this.length + n)));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }

  name(name: string, compress: boolean): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      // Length-prefixed, so labels holding dots cannot pass for other names.
      const suffix = labels.slice(i).map((l) => `${l.length}:${l.toString('latin1').toLowerCase()}`).join('');
      const known = compress ? this.suffixes.get(suffix) : undefined;
      if (known !== undefined) {
        this.u16(0xc000 | known);
        return;
      }
      // Pointers have 14 bits: suffixes written later in long messages are simply not offered.
      if (this.length < 0x4000) this.suffixes.set(suffix, this.length);
      this.u8(labels[i].length);
      this.bytes(labels[i]);
    }
    this.u8(0);
  }

  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

function writeRecordData(w: Writer, record: DnsRecord): void {
  const { data } = record;
  switch (data.kind) {
    case 'address': {
      const octets = data.address.split('.').map(Number);
      if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
        throw errors.badRequest(`invalid IPv4 address "${data.address}" in a DNS record`);
      }
      for (const o of octets) w.u8(o);
      return;
    }
    case 'name':
      return w.name(data.target, true);
    case 'srv':
      w.u16(data.priority);
      w.u16(data.weight);
      w.u16(data.port);
      // RFC 2782: the target is never compressed.
      return w.name(data.target, false);
    case 'soa':
      w.name(data.mname, true);
      w.name(data.rname, true);
      for (const v of [data.serial, data.refresh, data.retry, data.expire, data.minimum]) w.u32(v);
      return;
    case 'raw':
      return w.bytes(data.bytes);
  }
}

function writeRecord(w: Writer, record: DnsRecord): void {
  w.name(record.name, true);
  w.u16(record.type);
  w.u16(record.class);
  w.u32(record.ttl);
  const lengthAt = w.length;
  w.u16(0);
  writeRecordData(w, record);
  w.patchU16(lengthAt, w.length - lengthAt - 2);
}

export function encodeMessage(msg: DnsMessage): Buffer {
  const w = new Writer();
  const h = msg.header;
  w.u16(h.id);
  w.u16(
    (h.qr ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) | (h.rd ? 0x0100 : 0) |
      (h.ra ? 0x0080 : 0) | (h.ad ? 0x0020 : 0) | (h.cd ? 0x0010 : 0) | (h.rcode & 0xf),
  );
  for (const count of [msg.questions.length, msg.answers.length, msg.authority.length, msg.additional.length]) w.u16(count);
  for (const q of msg.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const record of [...msg.answers, ...msg.authority, ...msg.additional]) writeRecord(w, record);
  return w.result();
}

// ---------------------------------------------------------------------------------------------------------
// EDNS0 and truncation

export interface Edns {
  udpSize: number;
  version: number;
}

/** The EDNS0 OPT pseudo-record of a message, if it has one. */
export function ednsOf(msg: DnsMessage): Edns | undefined {
  const opt = msg.additional.find((r) => r.type === RecordType.OPT);
  return opt && { udpSize: opt.class, version: (opt.ttl >>> 16) & 0xff };
}

/** The OPT record a response carries when its query had one: our payload size, no options. */
export function optRecord(udpSize: number): DnsRecord {
  return { name: '', type: RecordType.OPT, class: udpSize, ttl: 0, data: { kind: 'raw', bytes: Buffer.alloc(0) } };
}

/** How large a UDP answer to this query may be (RFC 6891: never below 512). */
export function udpLimitOf(query: DnsMessage | undefined, ceiling: number): number {
  const size = query ? ednsOf(query)?.udpSize : undefined;
  return Math.max(CLASSIC_UDP_SIZE, Math.min(size ?? CLASSIC_UDP_SIZE, ceiling));
}

/**
 * Encodes a response for UDP: when it is larger than limit, the records are left out and TC set, so the
 * client asks again over TCP (the question and the OPT record stay).
 */
export function encodeForUdp(msg: DnsMessage, limit: number): Buffer {
  const full = encodeMessage(msg);
  if (full.length <= limit) return full;
  return encodeMessage({
    header: { ...msg.header, tc: true },
    questions: msg.questions,
    answers: [],
    authority: [],
    additional: msg.additional.filter((r) => r.type === RecordType.OPT),
  });
}

/** A response to query with nothing in it yet: same id, question, RD and CD, RA set. */
export function responseTo(query: DnsMessage, rcode: number = Rcode.NOERROR): DnsMessage {
  return {
    header: { id: query.header.id, qr: true, opcode: query.header.opcode, aa: false, tc: false, rd: query.header.rd, ra: true, ad: false, cd: query.header.cd, rcode },
    questions: query.questions,
    answers: [],
    authority: [],
    additional: [],
  };
}

/** A bare error response built from a header alone, for queries whose body could not be read. */
export function errorFromHeader(header: DnsHeader, rcode: number): Buffer {
  return encodeMessage({
    header: { ...header, qr: true, aa: false, tc: false, ra: true, ad: false, rcode },
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  });
}
