import { RESOURCES, type Lease } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { MemoryStore } from '@berth/store';
import { freePort } from '@berth/testing';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import type WebSocket from 'ws';
import { ObjectService } from './objects';
import { NodeTunnels } from './node-tunnels';
import { TUNNEL_LEASE_DURATION_S, TUNNEL_RENEW_INTERVAL_MS, TunnelPeerRelay, tunnelLeaseName } from './tunnel-peers';

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

  describe('renewal (fake clock)', () => {
    // Only the clock and the timers are fake: the store's promises resolve as usual.
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());
    const lease = async (node: string) => (await objects.get(LEASES, 'kube-system', tunnelLeaseName(node)!).catch(() => undefined)) as Lease | undefined;
    /** A control socket as NodeTunnels uses it: events, and terminate() that closes it. */
    const fakeControl = () => {
      const ws = Object.assign(new EventEmitter(), { terminated: false, ping: () => undefined, close: () => undefined });
      return Object.assign(ws, { terminate: () => ((ws.terminated = true), ws.emit('close')) }) as unknown as WebSocket & { terminated: boolean };
    };
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };

    it('renews the record while the tunnel is held, brings a lost record back, and drops a socket another server took over', async () => {
      const a = relayFor('https://10.0.0.1:6443');
      const tunnels = new NodeTunnels(logger, { peers: a, renewIntervalMs: TUNNEL_RENEW_INTERVAL_MS });
      try {
        const control = fakeControl();
        tunnels.attachControl('n1', control);
        await settle();
        const first = await lease('n1');
        expect(first?.spec?.holderIdentity).toBe('https://10.0.0.1:6443');
        expect(first?.spec?.leaseDurationSeconds).toBe(TUNNEL_LEASE_DURATION_S);
        await jest.advanceTimersByTimeAsync(TUNNEL_RENEW_INTERVAL_MS);
        await settle();
        const renewed = await lease('n1');
        expect(Date.parse(renewed!.spec!.renewTime!) - Date.parse(first!.spec!.renewTime!)).toBe(TUNNEL_RENEW_INTERVAL_MS);
        expect(renewed?.spec?.acquireTime).toBe(first?.spec?.acquireTime);
        // The record is lost (a store outage, a wipe): the next renewal writes it again.
        await objects.delete(LEASES, 'kube-system', tunnelLeaseName('n1')!, { dryRun: false });
        await jest.advanceTimersByTimeAsync(TUNNEL_RENEW_INTERVAL_MS);
        await settle();
        expect((await lease('n1'))?.spec?.holderIdentity).toBe('https://10.0.0.1:6443');
        // The agent connected to b since (a's socket is dead and a has not noticed): a's renewal leaves b's
        // record alone and drops its own socket.
        await relayFor('https://10.0.0.2:6443').held('n1');
        await jest.advanceTimersByTimeAsync(TUNNEL_RENEW_INTERVAL_MS);
        await settle();
        expect((await lease('n1'))?.spec?.holderIdentity).toBe('https://10.0.0.2:6443');
        expect(control.terminated).toBe(true);
        expect(tunnels.connected('n1')).toBe(false);
      } finally {
        tunnels.stop();
      }
    });

    it('does not trust a record its holder stopped renewing: a relay fails at once with 503', async () => {
      const a = relayFor('https://10.0.0.1:6443');
      const b = relayFor('https://127.0.0.1:1');
      await b.held('n1');
      jest.advanceTimersByTime(TUNNEL_LEASE_DURATION_S * 1000 + 5_000);
      const err = await a.relay('n1', 'log', {}).catch((e: Error) => e);
      expect(isBerthError(err, 'ServiceUnavailable')).toBe(true);
      expect((err as Error).message).toBe(`node "n1" has no live tunnel: the API server https://127.0.0.1:1 last renewed its record 35 s ago (is it reachable, and is the agent running?)`);
      // A renewal may take a stale record back from another holder.
      expect(await a.held('n1', true)).toBe(true);
      expect(await holder('n1')).toBe('https://10.0.0.1:6443');
    });
  });
});
