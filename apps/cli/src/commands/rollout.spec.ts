import type { Deployment } from '@berth/api';
import { rolloutStatusOf } from './rollout';

function deployment(generation: number, status: Deployment['status'], replicas = 3): Deployment {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation }, spec: { replicas, selector: {}, template: {} }, status };
}

describe('rollout status lines, as kubectl prints them', () => {
  it('waits for the controller to see the spec', () => {
    expect(rolloutStatusOf(deployment(2, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }))).toEqual({
      message: 'Waiting for deployment spec update to be observed...',
      done: false,
    });
  });

  it('follows updated, old and available replicas to the end', () => {
    const at = (status: Deployment['status']) => rolloutStatusOf(deployment(2, { observedGeneration: 2, ...status }));
    expect(at({ replicas: 3, updatedReplicas: 1, availableReplicas: 3 }).message).toBe('Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...');
    expect(at({ replicas: 4, updatedReplicas: 3, availableReplicas: 3 }).message).toBe('Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...');
    expect(at({ replicas: 3, updatedReplicas: 3, availableReplicas: 2 }).message).toBe('Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...');
    expect(at({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 })).toEqual({ message: 'deployment "web" successfully rolled out', done: true });
  });

  it('is complete at once for a deployment scaled to 0', () => {
    expect(rolloutStatusOf(deployment(1, { observedGeneration: 1 }, 0)).done).toBe(true);
  });

  it('fails once the progress deadline is exceeded', () => {
    const stuck = deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] });
    expect(() => rolloutStatusOf(stuck)).toThrow('deployment "web" exceeded its progress deadline');
  });
});
