import { randomBytes } from 'node:crypto';
import type { Service } from '@berth/api';
import { IndexedCache } from '@berth/controller';
import pino from 'pino';
import { ClusterView } from './cluster-view';
import { QueryHandler } from './handler';
import { decodeMessage, type DnsMessage, type DnsRecord, encodeMessage, optRecord, Rcode, RecordClass, RecordType, responseTo } from './message';
import { ClusterResolver } from './resolver';

const query = (name: string, type: number = RecordType.A, extra: Partial<DnsMessage> = {}): DnsMessage => ({
  header: { id: 0xbeef, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0 },
  questions: [{ name, type, class: RecordClass.IN }],
  answers: [],
  authority: [],
  additional: [],
  ...extra,
});

const a = (name: string, address: string): DnsRecord => ({ name, type: RecordType.A, class: RecordClass.IN, ttl: 60, data: { kind: 'address', address } });

/** Upstreams that answer from a table; a name missing from it times out. */
class TableForwarder {
  readonly forwarded: Buffer[] = [];
  constructor(private readonly table: Record<string, string[]>) {}

  private answerFor(q: DnsMessage): Buffer | undefined {
    const ips = this.table[q.questions[0].name.toLowerCase()];
    if (!ips) return undefined;
    const response = responseTo(q);
    response.answers = ips.map((ip) => a(q.questions[0].name, ip));
    return encodeMessage(response);
  }

  async forward(packet: Buffer): Promise<Buffer | undefined> {
    this.forwarded.push(packet);
    return this.answerFor(decodeMessage(packet));
  }

  async lookup(name: string, type: number): Promise<Buffer | undefined> {
    return this.answerFor(query(name, type));
  }
}

describe('DNS query handler', () => {
  const services = new IndexedCache<Service>();
  const put = (name: string, spec: Service['spec']) => services.set(`default/${name}`, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name }, spec });
  put('web', { clusterIP: '10.96.0.20' });
  put('ext', { type: 'ExternalName', externalName: 'example.com' });
  put('alias', { type: 'ExternalName', externalName: 'ext.default.svc.cluster.local' });
  const view = new ClusterView({ services, endpoints: new IndexedCache(), pods: new IndexedCache() });
  const resolver = new ClusterResolver(view, { clusterDomain: 'cluster.local', nameserverAddress: '169.254.20.10' });
  const upstream = new TableForwarder({ 'example.com': ['93.184.215.14'], 'big.example.com': Array.from({ length: 60 }, (_, i) => `10.1.${i}.1`) });
  const handler = new QueryHandler(resolver, upstream, pino({ level: 'silent' }));

  const ask = async (message: DnsMessage | Buffer, transport: 'udp' | 'tcp' = 'udp') => {
    const answer = await handler.handle(Buffer.isBuffer(message) ? message : encodeMessage(message), '10.88.0.5', transport);
    return answer && decodeMessage(answer);
  };

  it('answers cluster names authoritatively, with the client\'s id and question', async () => {
    const answer = await ask(query('web.default.svc.cluster.local'));
    expect(answer?.header).toMatchObject({ id: 0xbeef, qr: true, aa: true, rd: true, ra: true, tc: false, rcode: Rcode.NOERROR });
    expect(answer?.questions).toEqual(query('web.default.svc.cluster.local').questions);
    expect(answer?.answers.map((r) => r.data)).toEqual([{ kind: 'address', address: '10.96.0.20' }]);
  });

  it('forwards other names as they came and passes the answer back', async () => {
    const packet = encodeMessage(query('example.com'));
    const answer = await ask(packet);
    expect(upstream.forwarded.at(-1)).toEqual(packet);
    expect(answer?.header).toMatchObject({ id: 0xbeef, rcode: Rcode.NOERROR });
    expect(answer?.answers.map((r) => r.data)).toEqual([{ kind: 'address', address: '93.184.215.14' }]);
  });

  it('says SERVFAIL when no upstream answers', async () => {
    expect((await ask(query('nowhere.example')))?.header).toMatchObject({ id: 0xbeef, rcode: Rcode.SERVFAIL });
  });

  it('follows ExternalName CNAMEs through the cluster and the upstreams', async () => {
    const answer = await ask(query('alias.default.svc.cluster.local'));
    expect(answer?.answers.map((r) => [r.name, r.type, r.data])).toEqual([
      ['alias.default.svc.cluster.local', RecordType.CNAME, { kind: 'name', target: 'ext.default.svc.cluster.local' }],
      ['ext.default.svc.cluster.local', RecordType.CNAME, { kind: 'name', target: 'example.com' }],
      ['example.com', RecordType.A, { kind: 'address', address: '93.184.215.14' }],
    ]);
  });

  it('truncates a forwarded answer too large for the client\'s UDP size, and not over TCP', async () => {
    const overUdp = await ask(query('big.example.com'));
    expect(overUdp?.header.tc).toBe(true);
    expect(overUdp?.answers).toEqual([]);
    expect((await ask(query('big.example.com'), 'tcp'))?.answers).toHaveLength(60);
    const withEdns = await ask(query('big.example.com', RecordType.A, { additional: [optRecord(4096)] }));
    expect(withEdns?.header.tc).toBe(false);
    expect(withEdns?.answers).toHaveLength(60);
  });

  it('answers an EDNS0 query with an OPT record of its own', async () => {
    const answer = await ask(query('web.default.svc.cluster.local', RecordType.A, { additional: [optRecord(4096)] }));
    expect(answer?.additional).toEqual([optRecord(1232)]);
  });

  it('gives FORMERR to unreadable queries, NOTIMP to other opcodes, and drops responses and runts', async () => {
    const good = encodeMessage(query('web.default.svc.cluster.local'));
    const cut = good.subarray(0, good.length - 3);
    expect((await ask(cut))?.header).toMatchObject({ id: 0xbeef, qr: true, rcode: Rcode.FORMERR });
    expect((await ask({ ...query('x'), questions: [] }))?.header.rcode).toBe(Rcode.FORMERR);
    const notify = query('web.default.svc.cluster.local');
    notify.header.opcode = 4;
    expect((await ask(notify))?.header).toMatchObject({ opcode: 4, rcode: Rcode.NOTIMP });
    expect(await ask(encodeMessage(responseTo(query('example.com'))))).toBeUndefined();
    expect(await ask(Buffer.from([1, 2, 3]))).toBeUndefined();
  });

  it('answers or drops whatever arrives, without an internal failure', async () => {
    const logged: string[] = [];
    const recording = new QueryHandler(resolver, upstream, pino({ level: 'warn' }, { write: (line: string) => logged.push(line) }));
    const valid = encodeMessage(query('web.default.svc.cluster.local', RecordType.SRV, { additional: [optRecord(1232)] }));
    for (let i = 0; i < 1500; i++) {
      const packet = i % 2 ? randomBytes(i % 200) : Buffer.from(valid);
      if (i % 2 === 0) for (let n = 0; n < 3; n++) packet[Math.floor(Math.random() * packet.length)] = Math.floor(Math.random() * 256);
      // QR cleared, so most mutated packets are taken as queries and reach the resolver.
      if (packet.length > 2) packet[2] &= 0x7f;
      const answer = await recording.handle(packet, '10.88.0.5', i % 3 ? 'udp' : 'tcp');
      if (answer) expect(decodeMessage(answer).header).toMatchObject({ id: packet.readUInt16BE(0), qr: true });
      else expect(packet.length < 12).toBe(true);
    }
    expect(logged).toEqual([]);
  });
});
