import { isBerthError } from '@berth/errors';
import { DEFAULT_LIMITS, InflightLimit, WatchBudget } from './limits';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
};

describe('limits', () => {
  it("defaults to Kubernetes' in-flight limits", () => {
    expect(DEFAULT_LIMITS).toMatchObject({ maxRequestsInflight: 400, maxMutatingRequestsInflight: 200 });
  });

  it('admits requests up to the limit and counts each out once', () => {
    const limit = new InflightLimit(2, 'read-only');
    const a = limit.admit();
    limit.admit();
    expect(isBerthError(refusal(() => limit.admit()), 'TooManyRequests')).toBe(true);
    a();
    a();
    const c = limit.admit();
    expect(isBerthError(refusal(() => limit.admit()), 'TooManyRequests')).toBe(true);
    c();
  });

  it('bounds watches in all and per client, and their unsent bytes per watch, per client and in all', () => {
    const budget = new WatchBudget({ ...DEFAULT_LIMITS, maxWatches: 3, maxWatchesPerClient: 2, maxUnsentBytesPerWatch: 100, maxUnsentBytesPerClient: 150, maxUnsentBytes: 200 });
    const a1 = budget.open('a');
    const a2 = budget.open('a');
    expect(refusal(() => budget.open('a'))).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
    const b1 = budget.open('b');
    expect((refusal(() => budget.open('c')) as Error).message).toContain('--max-watches');
    expect(a1.holds(100)).toBe(true);
    expect(a1.holds(101)).toBe(false);
    expect(a1.holds(90)).toBe(true);
    // Client a: 90 + 70 > 150.
    expect(a2.holds(70)).toBe(false);
    expect(a2.holds(50)).toBe(true);
    // In all: 90 + 50 + 70 > 200.
    expect(b1.holds(70)).toBe(false);
    a1.close();
    expect(b1.holds(70)).toBe(true);
    a2.close();
    a2.close();
    // Closing twice counts once: b1 and two more fit, a fourth does not.
    budget.open('a');
    budget.open('c');
    expect(isBerthError(refusal(() => budget.open('d')), 'TooManyRequests')).toBe(true);
  });
});
