import type { Pod } from '@berth/api';
import { compareByDeletionPreference, isPodActive, isPodAvailable, podsToDelete } from './pods';

interface PodShape {
  name: string;
  node?: string;
  phase?: 'Pending' | 'Running' | 'Unknown' | 'Succeeded' | 'Failed';
  readySince?: number;
  restarts?: number;
  created?: number;
}

function pod({ name, node, phase = 'Running', readySince, restarts = 0, created = 0 }: PodShape): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, creationTimestamp: new Date(created * 1000).toISOString() },
    spec: { containers: [{ name: 'c' }], ...(node ? { nodeName: node } : {}) },
    status: {
      phase,
      conditions: readySince === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(readySince * 1000).toISOString() }],
      containerStatuses: [{ name: 'c', ready: readySince !== undefined, restartCount: restarts, image: '', imageID: '' }],
    },
  };
}

const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);

describe('deletion preference', () => {
  it('deletes unscheduled, then pending, then not ready pods first', () => {
    const pods = [
      pod({ name: 'ready', node: 'n', readySince: 10 }),
      pod({ name: 'unscheduled', phase: 'Pending' }),
      pod({ name: 'notready', node: 'n' }),
      pod({ name: 'pending', node: 'n', phase: 'Pending' }),
    ];
    expect(names([...pods].sort(compareByDeletionPreference))).toEqual(['unscheduled', 'pending', 'notready', 'ready']);
  });

  it('among ready pods prefers the recently ready, then more restarts, then the newest', () => {
    const pods = [
      pod({ name: 'long-ready', node: 'n', readySince: 10 }),
      pod({ name: 'just-ready', node: 'n', readySince: 50 }),
      pod({ name: 'restarted', node: 'n', readySince: 10, restarts: 3 }),
      pod({ name: 'newer', node: 'n', readySince: 10, created: 5 }),
    ];
    expect(names(podsToDelete(pods, 3))).toEqual(['just-ready', 'restarted', 'newer']);
  });

  it('counts availability after minReadySeconds and ignores finished or deleting pods', () => {
    const ready = pod({ name: 'r', node: 'n', readySince: 100 });
    expect(isPodAvailable(ready, 0, 100_000)).toBe(true);
    expect(isPodAvailable(ready, 10, 105_000)).toBe(false);
    expect(isPodAvailable(ready, 10, 110_000)).toBe(true);
    expect(isPodActive(pod({ name: 'done', phase: 'Succeeded' }))).toBe(false);
    expect(isPodActive({ ...ready, metadata: { ...ready.metadata, deletionTimestamp: new Date().toISOString() } })).toBe(false);
    expect(isPodActive(ready)).toBe(true);
  });
});
