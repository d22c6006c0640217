import { randomBytes } from 'node:crypto';
import { BerthError } from '@berth/errors';
import {
  canonicalName,
  decodeHeader,
  decodeMessage,
  type DnsMessage,
  type DnsRecord,
  ednsOf,
  encodeForUdp,
  encodeMessage,
  nameLabels,
  optRecord,
  Rcode,
  RecordClass,
  RecordType,
  responseTo,
  udpLimitOf,
} from './message';

const query = (name: string, type: number = RecordType.A, additional: DnsRecord[] = []): DnsMessage => ({
  header: { id: 0x1234, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0 },
  questions: [{ name, type, class: RecordClass.IN }],
  answers: [],
  authority: [],
  additional,
});

const rr = (name: string, type: number, data: DnsRecord['data']): DnsRecord => ({ name, type, class: RecordClass.IN, ttl: 5, data });

function sampleResponse(): DnsMessage {
  const response = responseTo(query('web.default.svc.cluster.local', RecordType.SRV), Rcode.NOERROR);
  response.header.aa = true;
  response.answers = [
    rr('web.default.svc.cluster.local', RecordType.SRV, { kind: 'srv', priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }),
    rr('alias.default.svc.cluster.local', RecordType.CNAME, { kind: 'name', target: 'example.com' }),
    rr('10.in-addr.arpa', RecordType.PTR, { kind: 'name', target: 'web.default.svc.cluster.local' }),
    rr('v6.example.com', RecordType.AAAA, { kind: 'raw', bytes: Buffer.alloc(16, 1) }),
  ];
  response.authority = [
    rr('cluster.local', RecordType.SOA, { kind: 'soa', mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 42, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 }),
    rr('cluster.local', RecordType.NS, { kind: 'name', target: 'ns.dns.cluster.local' }),
  ];
  response.additional = [rr('web.default.svc.cluster.local', RecordType.A, { kind: 'address', address: '10.96.0.10' }), optRecord(1232)];
  return response;
}

function expectMalformed(work: () => unknown): void {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).reason).toBe('BadRequest');
    return;
  }
  throw new Error('expected a BadRequest error');
}

describe('DNS message codec', () => {
  it('round-trips every record kind, the header flags and EDNS0', () => {
    const message = sampleResponse();
    const decoded = decodeMessage(encodeMessage(message));
    expect(decoded).toEqual(message);
    expect(ednsOf(decoded)).toEqual({ udpSize: 1232, version: 0 });
  });

  it('compresses repeated names, case-insensitively, and reads the pointers back', () => {
    const message = responseTo(query('WEB.default.svc.cluster.local'));
    message.answers = Array.from({ length: 10 }, (_, i) => rr('web.default.svc.cluster.local', RecordType.A, { kind: 'address', address: `10.0.0.${i}` }));
    const wire = encodeMessage(message);
    // Header 12 + question (31 + 4) + 10 answers of pointer 2 + 10 fixed + 4 data.
    expect(wire.length).toBe(12 + 35 + 10 * 16);
    expect(decodeMessage(wire).answers.map((a) => a.name)).toEqual(Array(10).fill('WEB.default.svc.cluster.local'));
  });

  it('reads a packet with hand-made pointers into the middle of a name', () => {
    // Question "a.example.com", answer owner = pointer to "example.com" inside the question.
    const question = Buffer.from([1, 0x61, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 1, 0, 1]);
    const answer = Buffer.from([0xc0, 14, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4]);
    const header = Buffer.from([0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    const decoded = decodeMessage(Buffer.concat([header, question, answer]));
    expect(decoded.questions[0].name).toBe('a.example.com');
    expect(decoded.answers[0]).toEqual(rr('example.com', RecordType.A, { kind: 'address', address: '1.2.3.4' }));
  });

  it('rejects pointer loops, forward pointers, unknown label types and truncation as BadRequest', () => {
    const header = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expectMalformed(() => decodeMessage(Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1, 0, 1])])));
    expectMalformed(() => decodeMessage(Buffer.concat([header, Buffer.from([0xc0, 14, 0, 0, 1, 0, 1])])));
    expectMalformed(() => decodeMessage(Buffer.concat([header, Buffer.from([0x40, 0, 0, 1, 0, 1])])));
    const wire = encodeMessage(sampleResponse());
    for (let length = 0; length < wire.length; length++) expectMalformed(() => decodeMessage(wire.subarray(0, length)));
  });

  it('escapes odd bytes in labels and reads them back', () => {
    const name = 'a\\.b.c\\\\d.\\000x';
    expect(nameLabels(name).map((l) => [...l])).toEqual([[0x61, 0x2e, 0x62], [0x63, 0x5c, 0x64], [0, 0x78]]);
    expect(decodeMessage(encodeMessage(query(name))).questions[0].name).toBe(name);
    expect(canonicalName('Web.Default.')).toBe('web.default');
    expect(canonicalName('dot\\.')).toBe('dot\\.');
    expect(nameLabels('example.com.')).toHaveLength(2);
    // A label holding a dot is another name than the two labels it looks like, also for compression.
    const response = responseTo(query('a.b'));
    response.answers = [rr('a\\.b', RecordType.A, { kind: 'address', address: '1.2.3.4' })];
    expect(decodeMessage(encodeMessage(response)).answers[0].name).toBe('a\\.b');
  });

  it('refuses to encode labels over 63 bytes, names over 255 and empty labels', () => {
    expectMalformed(() => encodeMessage(query(`${'a'.repeat(64)}.com`)));
    expectMalformed(() => encodeMessage(query(Array(64).fill('abc').join('.'))));
    expectMalformed(() => encodeMessage(query('a..b')));
  });

  it('truncates UDP answers over the limit to the question, TC and the OPT record', () => {
    const withEdns = query('big.example.com', RecordType.A, [optRecord(1232)]);
    const response = responseTo(withEdns);
    response.answers = Array.from({ length: 60 }, (_, i) => rr('big.example.com', RecordType.A, { kind: 'address', address: `10.0.${i}.1` }));
    response.additional = [optRecord(1232)];
    expect(udpLimitOf(query('x'), 4096)).toBe(512);
    expect(udpLimitOf(withEdns, 4096)).toBe(1232);

    const small = decodeMessage(encodeForUdp(response, 512));
    expect(small.header.tc).toBe(true);
    expect(small.answers).toEqual([]);
    expect(small.questions).toEqual(withEdns.questions);
    expect(ednsOf(small)?.udpSize).toBe(1232);

    const large = decodeMessage(encodeForUdp(response, 1232));
    expect(large.header.tc).toBe(false);
    expect(large.answers).toHaveLength(60);
  });

  it('never fails other than with BadRequest on random or mutated packets', () => {
    const valid = encodeMessage(sampleResponse());
    for (let i = 0; i < 10_000; i++) {
      let packet: Buffer;
      if (i % 2 === 0) {
        packet = randomBytes(Math.floor(Math.random() * 300));
      } else {
        packet = Buffer.from(valid);
        for (let flips = 1 + (i % 5); flips > 0; flips--) packet[Math.floor(Math.random() * packet.length)] = Math.floor(Math.random() * 256);
      }
      try {
        const decoded = decodeMessage(packet);
        expect(decodeHeader(packet)).toEqual(decoded.header);
      } catch (err) {
        if (!(err instanceof BerthError)) throw new Error(`packet ${packet.toString('hex')} threw ${String(err)}`);
      }
    }
  });
});
