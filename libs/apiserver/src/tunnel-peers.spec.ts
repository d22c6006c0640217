import { RESOURCES, type Lease } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { MemoryStore } from '@berth/store';
import { freePort } from '@berth/testing';
import pino from 'pino';
import { ObjectService } from './objects';
import { TunnelPeerRelay, tunnelLeaseName } from './tunnel-peers';

const LEASES = RESOURCES.find((r) => r.kind === 'Lease')!;
const logger = pino({ level: 'silent' });

describe('TunnelPeerRelay: who holds each node tunnel', () => {
  let store: MemoryStore;
  let objects: ObjectService;
  const relayFor = (self: string) => new TunnelPeerRelay({ objects, self, caCertPem: '', adminToken: 't', logger, handshakeTimeoutMs: 2000 });
  const holder = async (node: string) =>
    ((await objects.get(LEASES, 'kube-system', tunnelLeaseName(node)!).catch(() => undefined)) as Lease | undefined)?.spec?.holderIdentity;

  beforeEach(async () => {
    store = new MemoryStore();
    objects = new ObjectService(store);
    await objects.ensureNamespace('kube-system');
  });
  afterEach(() => store.close());

  it('records the latest holder, and lets only the holder drop the record', async () => {
    const a = relayFor('https://10.0.0.1:6443');
    const b = relayFor('https://10.0.0.2:6443');
    await a.held('n1');
    expect(await holder('n1')).toBe('https://10.0.0.1:6443');
    // The agent moved to b; a's late release must not drop b's record.
    await b.held('n1');
    await a.released('n1');
    expect(await holder('n1')).toBe('https://10.0.0.2:6443');
    await b.released('n1');
    expect(await holder('n1')).toBeUndefined();
    // A node name too long for a Lease name is not recorded (relays to it are unavailable).
    expect(tunnelLeaseName('n'.repeat(250))).toBeUndefined();
    await a.held('n'.repeat(250));
  });

  it('is unavailable with no holder, or when the holder is itself, and names a holder that cannot be reached', async () => {
    const self = 'https://127.0.0.1:1';
    const a = relayFor(self);
    for (const node of ['none', 'mine']) {
      if (node === 'mine') await a.held('mine');
      const err = await a.relay(node, 'log', {}).catch((e: Error) => e);
      expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
      expect((err as Error).message).toBe(`node "${node}" has no tunnel to the API server (is its agent running?)`);
    }
    const gone = `https://127.0.0.1:${await freePort()}`;
    await relayFor(gone).held('n2');
    const err = await a.relay('n2', 'log', {}).catch((e: Error) => e);
    expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
    expect((err as Error).message).toContain(`node "n2"'s tunnel is held by the API server ${gone}, which cannot be reached`);
  });
});
