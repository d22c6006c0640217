import { isPlacement, noFitMessage, placePod, type NoFit } from './algorithm';
import { REASON_AFFINITY, REASON_NOT_READY } from './filters';
import { podInfoOf } from './pod-info';
import { node, nodeInfo, pod } from './spec-helpers';

describe('placePod', () => {
  it('words the failure like Kubernetes, reasons sorted with their counts', () => {
    const reasons = new Map([[REASON_AFFINITY, 2], ['Insufficient cpu', 1]]);
    expect(noFitMessage(3, reasons)).toBe("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
    expect(noFitMessage(0, new Map())).toBe('no nodes available to schedule pods');
  });

  it('reports each node under the first filter it fails, every reason of that filter', () => {
    const nodes = [
      nodeInfo(node('down', { ready: false, labels: { disk: 'ssd' } })),
      nodeInfo(node('small', { cpu: '1', memory: '1Gi', labels: { disk: 'ssd' } })),
      nodeInfo(node('hdd', { labels: { disk: 'hdd' } })),
    ];
    const result = placePod(podInfoOf(pod('p', { cpu: '1500m', memory: '2Gi', spec: { nodeSelector: { disk: 'ssd' } } })), nodes) as NoFit;
    expect(isPlacement(result)).toBe(false);
    expect(result.message).toBe(
      `0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 ${REASON_AFFINITY}, 1 ${REASON_NOT_READY}.`,
    );
  });

  it('places on the best-scoring feasible node', () => {
    const nodes = [
      nodeInfo(node('busy'), [pod('x', { cpu: '1500m', nodeName: 'busy' })]),
      nodeInfo(node('idle')),
      nodeInfo(node('tainted', { taints: [{ key: 'k', effect: 'NoSchedule' }] })),
    ];
    expect(placePod(podInfoOf(pod('p', { cpu: '100m' })), nodes)).toEqual({ nodeName: 'idle' });
  });

  it('spreads siblings even when the other node is busier', () => {
    const nodes = [nodeInfo(node('a'), [pod('s1', { ownerUid: 'rs' })]), nodeInfo(node('b'), [pod('x', { cpu: '500m' })])];
    expect(placePod(podInfoOf(pod('s2', { ownerUid: 'rs' })), nodes)).toEqual({ nodeName: 'b' });
  });

  it('avoids PreferNoSchedule nodes when another fits equally', () => {
    const nodes = [nodeInfo(node('soft', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] })), nodeInfo(node('plain'))];
    expect(placePod(podInfoOf(pod('p')), nodes)).toEqual({ nodeName: 'plain' });
    // Never blocks: with no other choice the tainted node is used.
    expect(placePod(podInfoOf(pod('p')), nodes.slice(0, 1))).toEqual({ nodeName: 'soft' });
  });
});
