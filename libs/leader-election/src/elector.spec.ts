import type { Lease, ResourceType } from '@berth/api';
import { BerthError, errors } from '@berth/errors';
import pino from 'pino';
import { LeaderElector, timingProblem } from './elector';
import { type LeaseClient, LeaseLock, recordOfLease } from './lease-lock';

/** An API holding Leases, with resourceVersion compare-and-swap as the apiserver's; it can be made to fail or hang. */
class MemoryLeases implements LeaseClient {
  private readonly leases = new Map<string, Lease>();
  private revision = 0;
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  writes = 0;
  /** While set, every call waits for it. */
  gate: Promise<void> | undefined;

  private async check(): Promise<void> {
    await this.gate;
    if (this.mode === 'fail') throw new BerthError('ServiceUnavailable', 'the API is down');
    if (this.mode === 'hang') await new Promise(() => undefined);
  }

  lease(name = 'lock'): Lease | undefined {
    const lease = this.leases.get(`kube-system/${name}`);
    return lease && structuredClone(lease);
  }

  put(lease: Lease): void {
    this.leases.set(`${lease.metadata.namespace}/${lease.metadata.name}`, { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.revision) } });
  }

  async get<T>(_type: ResourceType, name: string, opts: { namespace?: string } = {}): Promise<T> {
    await this.check();
    const lease = this.leases.get(`${opts.namespace}/${name}`);
    if (!lease) throw errors.notFound('leases', name, 'coordination.k8s.io');
    return structuredClone(lease) as T;
  }

  async create<T>(_type: ResourceType, obj: T): Promise<T> {
    await this.check();
    const lease = obj as Lease;
    if (this.leases.has(`${lease.metadata.namespace}/${lease.metadata.name}`)) throw errors.alreadyExists('leases', lease.metadata.name!, 'coordination.k8s.io');
    this.writes++;
    this.put(lease);
    return this.lease(lease.metadata.name) as T;
  }

  async update<T>(_type: ResourceType, obj: T): Promise<T> {
    await this.check();
    const lease = obj as Lease;
    const current = this.leases.get(`${lease.metadata.namespace}/${lease.metadata.name}`);
    if (!current) throw errors.notFound('leases', lease.metadata.name!, 'coordination.k8s.io');
    if (current.metadata.resourceVersion !== lease.metadata.resourceVersion) {
      throw errors.conflict('leases', lease.metadata.name!, 'the object has been modified; please apply your changes to the latest version and try again', 'coordination.k8s.io');
    }
    this.writes++;
    this.put(lease);
    return this.lease(lease.metadata.name) as T;
  }
}

const logger = pino({ level: 'silent' });

interface Candidate {
  elector: LeaderElector;
  /** What happened to it, in order. */
  log: string[];
}

describe('LeaderElector', () => {
  let api: MemoryLeases;
  let candidates: Candidate[];
  /** Every start and loss of every candidate, in order, across candidates. */
  let history: string[];

  const candidate = (identity: string, random = () => 0.5): Candidate => {
    const log: string[] = [];
    const elector = new LeaderElector({
      lock: new LeaseLock(api, 'kube-system', 'lock'),
      identity,
      logger,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
      random,
    });
    elector.run({
      onStartedLeading: () => {
        log.push('started');
        history.push(`${identity} started`);
      },
      onLostLeadership: () => {
        log.push('lost');
        history.push(`${identity} lost`);
      },
    });
    const c = { elector, log };
    candidates.push(c);
    return c;
  };
  /**
   * Moves the fake clock in 100 ms steps, letting every promise the timers settled run on after each (a
   * timer set by what a fired timer resolved is then set at the time it would be, not after the jump).
   */
  const advance = async (ms: number) => {
    for (let left = ms; ; left -= 100) {
      await jest.advanceTimersByTimeAsync(Math.min(100, left));
      for (let i = 0; i < 20; i++) await Promise.resolve();
      if (left <= 100) return;
    }
  };
  const spec = () => api.lease()?.spec;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    jest.setSystemTime(new Date('2026-12-07T12:00:00Z'));
    api = new MemoryLeases();
    candidates = [];
    history = [];
  });

  afterEach(async () => {
    api.mode = 'ok';
    for (const c of candidates) await c.elector.stop();
    jest.useRealTimers();
  });

  it('acquires a missing lease by creating it: holder, 15 s, MicroTimes, no transitions', async () => {
    const a = candidate('host-a_1');
    await advance(0);
    expect(a.log).toEqual(['started']);
    expect(a.elector.isLeader()).toBe(true);
    expect(api.lease()?.spec).toEqual({
      holderIdentity: 'host-a_1',
      leaseDurationSeconds: 15,
      acquireTime: '2026-12-07T12:00:00.000000Z',
      renewTime: '2026-12-07T12:00:00.000000Z',
      leaseTransitions: 0,
    });
  });

  it('renews every retry period, keeping acquireTime; a second candidate never leads meanwhile', async () => {
    const a = candidate('a');
    await advance(0);
    const b = candidate('b');
    await advance(2_000);
    expect(spec()).toMatchObject({ holderIdentity: 'a', acquireTime: '2026-12-07T12:00:00.000000Z', renewTime: '2026-12-07T12:00:02.000000Z' });
    await advance(60_000);
    expect(spec()).toMatchObject({ holderIdentity: 'a', acquireTime: '2026-12-07T12:00:00.000000Z', renewTime: '2026-12-07T12:01:02.000000Z', leaseTransitions: 0 });
    expect(a.log).toEqual(['started']);
    expect(b.log).toEqual([]);
    expect(b.elector.observedLeader()).toBe('a');
  });

  it('two candidates starting at once: exactly one leads (the other loses the compare-and-swap)', async () => {
    const a = candidate('a');
    const b = candidate('b');
    await advance(30_000);
    expect([a.elector.isLeader(), b.elector.isLeader()].sort()).toEqual([false, true]);
    expect(history).toHaveLength(1);
  });

  it('stops leading once renewals fail for the renew deadline, before anyone else may take over', async () => {
    const a = candidate('a');
    await advance(0);
    api.mode = 'fail';
    // The renewal round starts one retry period after the last success; it gives up 10 s later.
    await advance(2_000 + 9_999);
    expect(a.log).toEqual(['started']);
    await advance(1);
    expect(a.log).toEqual(['started', 'lost']);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('gives up a renewal that hangs at the renew deadline', async () => {
    const a = candidate('a');
    await advance(0);
    api.mode = 'hang';
    await advance(2_000 + 10_000);
    expect(a.log).toEqual(['started', 'lost']);
  });

  it('a leader cut off from the API loses before a candidate that still reaches it takes over', async () => {
    const a = candidate('a');
    await advance(0);
    const b = candidate('b');
    await advance(1_000);
    // a can no longer write: its lock keeps the last renewal, which b sees unchanged from now on.
    const lock = (a.elector as unknown as { options: { lock: LeaseLock } }).options.lock;
    jest.spyOn(lock, 'get').mockRejectedValue(new BerthError('ServiceUnavailable', 'cut off'));
    await advance(40_000);
    expect(history).toEqual(['a started', 'a lost', 'b started']);
    expect(spec()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('takes over an expired lease only after seeing it unchanged for the lease duration by its own clock', async () => {
    // Renewed "an hour ago" by the holder's clock: not trusted, the wait starts when b first sees it.
    api.put({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'lock', namespace: 'kube-system' },
      spec: { holderIdentity: 'gone', leaseDurationSeconds: 15, acquireTime: '2026-12-07T11:00:00.000000Z', renewTime: '2026-12-07T11:00:00.000000Z', leaseTransitions: 4 },
    });
    const b = candidate('b', () => 0);
    await advance(14_000);
    expect(b.log).toEqual([]);
    expect(b.elector.observedLeader()).toBe('gone');
    // The holder renews once: the wait starts again from that renewal.
    const renewed = api.lease()!;
    renewed.spec!.renewTime = '2026-12-07T12:00:14.000000Z';
    api.put(renewed);
    await advance(14_000);
    expect(b.log).toEqual([]);
    await advance(4_000);
    expect(b.log).toEqual(['started']);
    expect(spec()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 5 });
  });

  it('releases on stop: holder empty, and the next candidate takes over at its next attempt', async () => {
    const a = candidate('a');
    await advance(0);
    const b = candidate('b', () => 0);
    await advance(1_000);
    await a.elector.stop();
    expect(spec()).toMatchObject({ holderIdentity: '', leaseTransitions: 0 });
    expect(a.log).toEqual(['started']);
    await advance(2_000);
    expect(b.log).toEqual(['started']);
    expect(spec()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('never starts leading after stop(), even when its attempt in flight succeeds, and hands that lease back', async () => {
    let open!: () => void;
    api.gate = new Promise((resolve) => (open = resolve));
    const a = candidate('a');
    await advance(0);
    await a.elector.stop();
    open();
    await advance(60_000);
    expect(a.log).toEqual([]);
    expect(api.writes).toBe(2);
    expect(spec()).toMatchObject({ holderIdentity: '' });
  });
});

describe('timings and hostile Leases', () => {
  it('refuses timings that could let two lead at once', () => {
    expect(timingProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toBeUndefined();
    expect(timingProblem({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toMatch(/lease duration must be longer/);
    expect(timingProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toMatch(/renew deadline must be longer than 1.2/);
    expect(() => new LeaderElector({ lock: new LeaseLock(new MemoryLeases(), 'kube-system', 'x'), identity: 'a', logger, leaseDurationMs: 1, renewDeadlineMs: 2, retryPeriodMs: 1 })).toThrow(
      'leader election: the lease duration must be longer than the renew deadline',
    );
  });

  it('reads whatever a Lease holds without trusting its types', () => {
    const hostile = { metadata: { name: 'x' }, spec: { holderIdentity: 7, leaseDurationSeconds: -3, renewTime: 'yesterday', acquireTime: { a: 1 }, leaseTransitions: 1.5 } } as unknown as Lease;
    expect(recordOfLease(hostile)).toEqual({ holderIdentity: '', leaseDurationSeconds: 0, acquireTime: 0, renewTime: 0, leaseTransitions: 0 });
    expect(recordOfLease({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x' } })).toEqual({ holderIdentity: '', leaseDurationSeconds: 0, acquireTime: 0, renewTime: 0, leaseTransitions: 0 });
  });
});
