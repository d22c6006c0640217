import type { Pod, Taint, Toleration } from '@berth/api';
import { evictionDelayMs, taintsForReadiness, TAINT_NOT_READY, TAINT_UNREACHABLE, tolerates } from './node-lifecycle';

const unreachable: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };

function podTolerating(...tolerations: Toleration[]): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [], tolerations } };
}

describe('taints and tolerations', () => {
  it('matches tolerations as Kubernetes does', () => {
    expect(tolerates({ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' }, unreachable)).toBe(true);
    expect(tolerates({ operator: 'Exists' }, unreachable)).toBe(true);
    expect(tolerates({ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoSchedule' }, unreachable)).toBe(false);
    expect(tolerates({ key: TAINT_NOT_READY, operator: 'Exists' }, unreachable)).toBe(false);
    expect(tolerates({ key: 'k', operator: 'Equal', value: 'v' }, { key: 'k', value: 'v', effect: 'NoExecute' })).toBe(true);
    expect(tolerates({ key: 'k', value: 'w' }, { key: 'k', value: 'v', effect: 'NoExecute' })).toBe(false);
  });

  it('evicts at once without a toleration, after tolerationSeconds with one, never with an unbounded one', () => {
    expect(evictionDelayMs(podTolerating(), unreachable)).toBe(0);
    expect(evictionDelayMs(podTolerating({ key: TAINT_UNREACHABLE, operator: 'Exists', tolerationSeconds: 5 }), unreachable)).toBe(5000);
    expect(evictionDelayMs(podTolerating({ operator: 'Exists' }), unreachable)).toBeUndefined();
  });

  it('picks the taint from the Ready condition', () => {
    expect(taintsForReadiness({ type: 'Ready', status: 'True' })).toBeUndefined();
    expect(taintsForReadiness({ type: 'Ready', status: 'False' })).toBe(TAINT_NOT_READY);
    expect(taintsForReadiness({ type: 'Ready', status: 'Unknown' })).toBe(TAINT_UNREACHABLE);
    expect(taintsForReadiness(undefined)).toBe(TAINT_UNREACHABLE);
  });
});
