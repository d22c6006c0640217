import { effectiveBehavior } from '@berth/api';
import { emptyHistory, normalizeWithBehavior, recordScale, type ScalingHistory } from './hpa-behavior';

/** A fake clock in seconds, and one autoscaler's history, driven as the controller drives them. */
class Autoscaler {
  readonly history: ScalingHistory = emptyHistory();
  seconds = 0;
  current: number;

  constructor(
    current: number,
    private readonly behavior = effectiveBehavior(undefined),
    private readonly bounds = { minReplicas: 1, maxReplicas: 10 },
  ) {
    this.current = current;
  }

  /** One sync `after` seconds after the last, with the metrics asking for `desired`; returns what is set. */
  sync(after: number, desired: number) {
    this.seconds += after;
    const now = this.seconds * 1000;
    const decision = normalizeWithBehavior(this.history, { ...this.behavior, ...this.bounds, currentReplicas: this.current, desiredReplicas: desired }, now);
    recordScale(this.history, this.current, decision.replicas, this.behavior, now);
    this.current = decision.replicas;
    return decision;
  }
}

describe('HPA behavior (stabilisation window and rate policies)', () => {
  it('scales down only to the highest recommendation of the last 300 s by default', () => {
    const hpa = new Autoscaler(4);
    expect(hpa.sync(0, 4).replicas).toBe(4);
    const held = hpa.sync(15, 1);
    expect(held.replicas).toBe(4);
    expect(held.ableToScale.reason).toBe('ScaleDownStabilized');
    expect(hpa.sync(150, 2).replicas).toBe(4);
    // 300 s after the recommendation of 4, only 1 and 2 are left in the window.
    expect(hpa.sync(151, 1).replicas).toBe(2);
    expect(hpa.sync(150, 1).replicas).toBe(1);
  });

  it('scales down at once with a window of 0, and waits for a short window', () => {
    const now = new Autoscaler(3, effectiveBehavior({ scaleDown: { stabilizationWindowSeconds: 0 } }));
    expect(now.sync(0, 1).replicas).toBe(1);
    const short = new Autoscaler(3, effectiveBehavior({ scaleDown: { stabilizationWindowSeconds: 20 } }));
    expect(short.sync(0, 3).replicas).toBe(3);
    expect(short.sync(15, 1).replicas).toBe(3);
    expect(short.sync(15, 1).replicas).toBe(1);
  });

  it('scales up by at most max(+4 pods, +100%) per 15 s by default, and never past maxReplicas', () => {
    const hpa = new Autoscaler(1, effectiveBehavior(undefined), { minReplicas: 1, maxReplicas: 20 });
    const first = hpa.sync(0, 20);
    expect(first.replicas).toBe(5);
    expect(first.scalingLimited).toMatchObject({ status: 'True', reason: 'ScaleUpLimit' });
    // Within the same 15 s period the 4 pods just added count against the limit.
    expect(hpa.sync(5, 20).replicas).toBe(5);
    expect(hpa.sync(11, 20).replicas).toBe(10);
    expect(hpa.sync(15, 20).replicas).toBe(20);
    const capped = hpa.sync(15, 30);
    expect(capped.replicas).toBe(20);
    expect(capped.scalingLimited.reason).toBe('TooManyReplicas');
  });

  it('follows selectPolicy Min and Disabled, and Pods policies down', () => {
    const slow = new Autoscaler(
      10,
      effectiveBehavior({
        scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }, { type: 'Percent', value: 50, periodSeconds: 60 }] },
      }),
    );
    // Min of the changes: -2 pods rather than -50%.
    expect(slow.sync(0, 1).replicas).toBe(8);
    expect(slow.sync(30, 1).replicas).toBe(8);
    expect(slow.sync(31, 1).replicas).toBe(6);
    const frozen = new Autoscaler(2, effectiveBehavior({ scaleUp: { selectPolicy: 'Disabled' } }));
    expect(frozen.sync(0, 8).replicas).toBe(2);
  });

  it('holds to minReplicas', () => {
    const hpa = new Autoscaler(3, effectiveBehavior({ scaleDown: { stabilizationWindowSeconds: 0 } }), { minReplicas: 2, maxReplicas: 5 });
    const decision = hpa.sync(0, 1);
    expect(decision.replicas).toBe(2);
    expect(decision.scalingLimited.reason).toBe('TooFewReplicas');
  });
});
