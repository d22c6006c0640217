import { podInfoOf } from './pod-info';
import {
  freeShareScore,
  inverseCountScores,
  leastAllocatedScore,
  MAX_NODE_SCORE,
  ownerSpreadPlugin,
  pickHighest,
  preferNoSchedulePlugin,
  preferredAffinityWeight,
  preferredNodeAffinityPlugin,
  proportionalScores,
  totalScores,
  untoleratedPreferNoScheduleCount,
} from './scores';
import { node, nodeInfo, pod } from './spec-helpers';

describe('scores', () => {
  it('least allocated prefers the emptier node, averaging cpu and memory', () => {
    expect(freeShareScore(500, 2000)).toBe(75);
    expect(freeShareScore(3000, 2000)).toBe(0);
    expect(freeShareScore(0, 0)).toBe(0);
    const p = podInfoOf(pod('p', { cpu: '500m', memory: '1Gi' }));
    const empty = nodeInfo(node('a', { cpu: '2', memory: '4Gi' }));
    const busy = nodeInfo(node('b', { cpu: '2', memory: '4Gi' }), [pod('x', { cpu: '1', memory: '2Gi' })]);
    expect(leastAllocatedScore(p, empty)).toBe(75);
    expect(leastAllocatedScore(p, busy)).toBe(25);
  });

  it('counts pods without requests at the default requests when balancing', () => {
    const p = podInfoOf(pod('p'));
    const withBestEffortPods = nodeInfo(node('a'), [pod('x'), pod('y')]);
    expect(leastAllocatedScore(p, withBestEffortPods)).toBeLessThan(leastAllocatedScore(p, nodeInfo(node('b'))));
  });

  it('inverse counts give 100 to the least loaded and 0 to the most', () => {
    expect(inverseCountScores([0, 1, 2])).toEqual([100, 50, 0]);
    expect(inverseCountScores([0, 0])).toEqual([MAX_NODE_SCORE, MAX_NODE_SCORE]);
  });

  it('spreads pods of one controller away from nodes holding their siblings', () => {
    const sibling = (name: string) => pod(name, { ownerUid: 'rs-1' });
    const nodes = [nodeInfo(node('a'), [sibling('s1'), sibling('s2')]), nodeInfo(node('b'), [sibling('s3'), pod('other', { ownerUid: 'rs-2' })]), nodeInfo(node('c'))];
    expect(ownerSpreadPlugin.score(podInfoOf(sibling('new')), nodes)).toEqual([0, 50, 100]);
    expect(ownerSpreadPlugin.score(podInfoOf(pod('orphan')), nodes)).toEqual([100, 100, 100]);
  });

  it('penalises untolerated PreferNoSchedule taints only', () => {
    const taints = [
      { key: 'soft', effect: 'PreferNoSchedule' as const },
      { key: 'hard', effect: 'NoSchedule' as const },
    ];
    expect(untoleratedPreferNoScheduleCount(taints, [])).toBe(1);
    expect(untoleratedPreferNoScheduleCount(taints, [{ key: 'soft', operator: 'Exists' }])).toBe(0);
    expect(untoleratedPreferNoScheduleCount(taints, [{ key: 'soft', operator: 'Exists', effect: 'NoSchedule' }])).toBe(1);
    const nodes = [nodeInfo(node('a', { taints: [taints[0]] })), nodeInfo(node('b'))];
    expect(preferNoSchedulePlugin.score(podInfoOf(pod('p')), nodes)).toEqual([0, 100]);
  });

  it('prefers nodes matching heavier preferred node affinity terms', () => {
    expect(proportionalScores([0, 5, 10])).toEqual([0, 50, 100]);
    expect(proportionalScores([0, 0])).toEqual([0, 0]);
    const p = pod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
              { weight: 30, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
            ],
          },
        },
      },
    });
    const ssd = node('ssd', { labels: { disk: 'ssd' } });
    const both = node('both', { labels: { disk: 'ssd', zone: 'a' } });
    expect(preferredAffinityWeight(p, ssd)).toBe(10);
    expect(preferredAffinityWeight(p, both)).toBe(40);
    expect(preferredNodeAffinityPlugin.score(podInfoOf(p), [nodeInfo(node('none')), nodeInfo(ssd), nodeInfo(both)])).toEqual([0, 25, 100]);
  });

  it('weights and sums the plugins', () => {
    const p = podInfoOf(pod('p'));
    const nodes = [nodeInfo(node('a')), nodeInfo(node('b'))];
    const plugins = [
      { name: 'one', weight: 1, score: () => [10, 20] },
      { name: 'two', weight: 3, score: () => [5, 0] },
    ];
    expect(totalScores(p, nodes, plugins)).toEqual([25, 20]);
  });

  it('picks the highest and breaks ties at random', () => {
    expect(pickHighest([1, 5, 3])).toBe(1);
    expect(pickHighest([])).toBe(-1);
    // The second tied candidate replaces the first when the draw is below 1/2, the third when below 1/3.
    expect(pickHighest([7, 7, 2, 7], () => 0.9)).toBe(0);
    expect(pickHighest([7, 7, 2, 7], () => 0.1)).toBe(3);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(pickHighest([4, 4, 4]));
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});
