import { reconnectDelayMs, restartDelayMs } from './backoff';

describe('restartDelayMs', () => {
  const policy = { initialMs: 10_000, maxMs: 300_000 };

  it('restarts at once the first time, then doubles from the initial delay up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => restartDelayMs(policy, n, 1000))).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it('forgets the history after a run twice as long as the maximum', () => {
    expect(restartDelayMs(policy, 5, 600_000)).toBe(0);
    expect(restartDelayMs(policy, 5, 599_999)).toBe(160_000);
  });
});

describe('reconnectDelayMs', () => {
  it('waits twice as long after each failed attempt, up to a limit', () => {
    const policy = { initialMs: 500, maxMs: 10_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((failures) => reconnectDelayMs(failures, policy))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });
});
