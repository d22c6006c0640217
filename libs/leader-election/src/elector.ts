import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import type { LeaderElectionRecord, ResourceLock } from './lease-lock';

/** client-go's: a candidate's retries are spread over retryPeriod × [1, 2.2). */
export const JITTER_FACTOR = 1.2;

export interface LeaderElectionTiming {
  /** How long a lock not renewed stays held, as seen by the other candidates' own clocks (default 15 s). */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading (default 10 s). */
  renewDeadlineMs: number;
  /** How long between attempts to acquire or renew (default 2 s; acquiring is jittered). */
  retryPeriodMs: number;
}

export const DEFAULT_TIMING: LeaderElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/**
 * Why a timing is unsafe, or undefined. As client-go: the leader must give up (renew deadline) before the
 * others may take over (lease duration), and must get more than one attempt within its deadline.
 */
export function timingProblem(t: LeaderElectionTiming): string | undefined {
  if (t.retryPeriodMs <= 0) return 'the retry period must be longer than 0';
  if (t.leaseDurationMs <= t.renewDeadlineMs) return 'the lease duration must be longer than the renew deadline';
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) return `the renew deadline must be longer than ${JITTER_FACTOR} × the retry period`;
  return undefined;
}

export interface LeaderElectorOptions extends LeaderElectionTiming {
  lock: ResourceLock;
  /** Unique among the candidates: `<hostname>_<uuid>`. */
  identity: string;
  logger: Logger;
  /** On stop() while leading, hand the lock back (holder '') so the next candidate takes it at once. */
  releaseOnCancel?: boolean;
  /** Injected for tests; Date.now and Math.random by default. */
  now?: () => number;
  random?: () => number;
}

export interface LeaderCallbacks {
  /** This candidate now holds the lock: start acting. */
  onStartedLeading(): void;
  /**
   * This candidate could not renew within the renew deadline: it must stop acting before returning
   * (kube-scheduler exits). Not called on stop().
   */
  onLostLeadership(): void;
  /** Someone (maybe this candidate) was seen holding the lock; '' when it was released. */
  onNewLeader?(identity: string): void;
}

/**
 * One candidate of a leader election through a lock object, with client-go's semantics:
 * - acquire and renew are a read then a compare-and-swap update; losing the race (Conflict,
 *   AlreadyExists) is just a failed attempt;
 * - another holder's timestamps are never trusted: a lock held by someone else is taken only once this
 *   candidate has seen the same record, unchanged, for the record's lease duration by its own clock;
 * - the leader renews every retry period; when no renewal succeeds within the renew deadline it stops
 *   leading at once (onLostLeadership), which is before any other candidate may take over, because the
 *   deadline is shorter than the lease duration;
 * - stop() ends the election and, with releaseOnCancel, empties the holder so the next one needn't wait.
 */
export class LeaderElector {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  /** The last record seen, and when (by this candidate's clock): the only basis for calling a lock expired. */
  private observed: { json: string; record: LeaderElectionRecord; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    const problem = timingProblem(options);
    if (problem) throw new Error(`leader election: ${problem}`);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.log = options.logger.child({ lock: options.lock.describe(), identity: options.identity });
  }

  get identity(): string {
    return this.options.identity;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen ('' for none), undefined before the lock was first read. */
  observedLeader(): string | undefined {
    return this.observed?.record.holderIdentity;
  }

  /** Starts competing; the callbacks say when this candidate leads. Once per elector. */
  run(callbacks: LeaderCallbacks): void {
    if (this.started) throw new Error('leader election: run() was already called');
    this.started = true;
    this.loop(callbacks).catch((err: unknown) => {
      // Nothing in the loop throws (each attempt catches); should it, a leader must not go on acting.
      this.log.error({ err }, 'leader election failed');
      if (this.leading) {
        this.leading = false;
        callbacks.onLostLeadership();
      }
    });
  }

  /**
   * Stops competing. The caller stops acting first; then, when this candidate leads and releaseOnCancel is
   * set, the lock is released (a failure to release is logged: the others then wait out the lease).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    const wasLeading = this.leading;
    this.leading = false;
    if (wasLeading && this.options.releaseOnCancel) await this.release();
  }

  private async loop(callbacks: LeaderCallbacks): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    let lastLeader: string | undefined;
    const noteLeader = () => {
      const holder = this.observedLeader();
      if (holder !== undefined && holder !== lastLeader) {
        lastLeader = holder;
        if (holder !== this.identity) this.log.info({ leader: holder }, 'new leader observed');
        callbacks.onNewLeader?.(holder);
      }
    };
    this.log.info('attempting to acquire the leader lease');
    for (;;) {
      const acquired = await this.tryAcquireOrRenew();
      noteLeader();
      if (this.stopped) {
        // Acquired while stopping: hand it back rather than hold it unused.
        if (acquired && this.options.releaseOnCancel) await this.release();
        return;
      }
      if (acquired) break;
      await this.sleep(retryPeriodMs * (1 + this.random() * JITTER_FACTOR));
    }
    this.leading = true;
    this.log.info('acquired the leader lease');
    callbacks.onStartedLeading();
    while (!this.stopped) {
      await this.sleep(retryPeriodMs);
      if (this.stopped) return;
      const deadline = this.now() + renewDeadlineMs;
      let renewed = false;
      while (!this.stopped && !renewed && this.now() < deadline) {
        renewed = await this.withDeadline(this.tryAcquireOrRenew(), deadline);
        const left = deadline - this.now();
        if (!renewed && !this.stopped && left > 0) await this.sleep(Math.min(retryPeriodMs, left));
      }
      if (this.stopped) return;
      noteLeader();
      if (!renewed) {
        this.leading = false;
        this.log.error({ renewDeadlineMs }, 'failed to renew the leader lease within the renew deadline: stopped leading');
        callbacks.onLostLeadership();
        return;
      }
    }
  }

  /** One attempt: true when this candidate holds the lock afterwards. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { lock, leaseDurationMs } = this.options;
    const mine = (acquireTime: number, now: number, leaseTransitions: number): LeaderElectionRecord => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime,
      renewTime: now,
      leaseTransitions,
    });
    try {
      const current = await lock.get();
      const now = this.now();
      if (!current) {
        const record = mine(now, now, 0);
        await lock.create(record);
        this.observe(record, now);
        return true;
      }
      const old = current.record;
      const json = JSON.stringify(old);
      if (this.observed?.json !== json) this.observe(old, now);
      const observedAt = this.observed!.at;
      if (old.holderIdentity !== '' && old.holderIdentity !== this.identity && observedAt + old.leaseDurationSeconds * 1000 > now) {
        return false;
      }
      const record = old.holderIdentity === this.identity ? mine(old.acquireTime, now, old.leaseTransitions) : mine(now, now, old.leaseTransitions + 1);
      await lock.update(record, current.version);
      this.observe(record, now);
      return true;
    } catch (err) {
      if (isBerthError(err, 'Conflict') || isBerthError(err, 'AlreadyExists')) this.log.debug('another candidate wrote the lock first');
      else this.log.warn({ err }, 'could not read or write the leader lease');
      return false;
    }
  }

  private observe(record: LeaderElectionRecord, at: number): void {
    this.observed = { json: JSON.stringify(record), record, at };
  }

  /** Empties the holder, keeping the transitions count; only if this candidate still holds the lock. */
  private async release(): Promise<void> {
    const { lock } = this.options;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const current = await lock.get();
        if (!current || current.record.holderIdentity !== this.identity) return;
        const now = this.now();
        await lock.update({ ...current.record, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now }, current.version);
        this.log.info('released the leader lease');
        return;
      } catch (err) {
        if (!isBerthError(err, 'Conflict')) {
          this.log.warn({ err }, 'could not release the leader lease; the next leader waits for it to expire');
          return;
        }
      }
    }
  }

  /** The attempt's answer, or false once the deadline passes (the attempt is then abandoned). */
  private withDeadline(attempt: Promise<boolean>, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, deadline - this.now()));
      void attempt.then((ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
