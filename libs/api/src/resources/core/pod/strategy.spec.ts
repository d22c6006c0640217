import { podFixture } from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { podStrategy } from './strategy';

const NOW = new Date('2026-12-07T10:00:00Z');

function boundPod(extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  const pod = podFixture();
  pod.spec!.nodeName = 'node-1';
  pod.metadata = { ...pod.metadata, ...extra };
  return pod;
}

describe('pod strategy', () => {
  describe('deletion', () => {
    const deletion = podStrategy.deletion!;

    it('removes an unbound pod at once: no node would finish a graceful deletion', () => {
      expect(deletion(podFixture(), undefined, NOW)).toEqual({ kind: 'now' });
    });

    it('gives a running pod its terminationGracePeriodSeconds (30 by default)', () => {
      expect(deletion(boundPod(), undefined, NOW)).toEqual({ kind: 'graceful', deletionTimestamp: '2026-12-07T10:00:30Z', graceSeconds: 30 });
    });

    it('honours a requested grace period, a negative one counting as 1 second', () => {
      expect(deletion(boundPod(), 5, NOW)).toMatchObject({ graceSeconds: 5, deletionTimestamp: '2026-12-07T10:00:05Z' });
      expect(deletion(boundPod(), -3, NOW)).toMatchObject({ graceSeconds: 1 });
    });

    it('lets a later request only shorten the grace period, counted from the first request', () => {
      const deleting = boundPod({ deletionTimestamp: '2026-12-07T10:00:30Z', deletionGracePeriodSeconds: 30 });
      expect(deletion(deleting, 60, NOW)).toEqual({ kind: 'pending' });
      expect(deletion(deleting, undefined, NOW)).toEqual({ kind: 'pending' });
      expect(deletion(deleting, 10, NOW)).toEqual({ kind: 'graceful', deletionTimestamp: '2026-12-07T10:00:10Z', graceSeconds: 10 });
    });

    it('removes a finished pod at once', () => {
      const done = boundPod();
      done.status = { phase: 'Succeeded' };
      expect(deletion(done, undefined, NOW)).toEqual({ kind: 'now' });
    });
  });

  describe('binding', () => {
    const bind = podStrategy.subresourceWrites!.binding!;

    it('assigns the node named by the Binding target', () => {
      const bound = bind(podFixture(), { target: { kind: 'Node', name: 'node-2' } });
      expect((bound.spec as { nodeName?: string }).nodeName).toBe('node-2');
    });

    it.each([[undefined], [{}], [{ target: {} }], [{ target: { name: 7 } }], ['node-2']])('refuses a Binding without a target name: %j', (body) => {
      expect(() => bind(podFixture(), body)).toThrow(expect.objectContaining({ reason: 'Invalid' }));
    });

    it('refuses to move a pod bound already, or one being deleted', () => {
      expect(() => bind(boundPod(), { target: { name: 'node-2' } })).toThrow('pod web-1 is already assigned to node "node-1"');
      const deleting = podFixture();
      deleting.metadata.deletionTimestamp = '2026-12-07T10:00:00Z';
      expect(() => bind(deleting, { target: { name: 'node-2' } })).toThrow('pod is being deleted');
    });
  });

  it('starts every new pod Pending, whatever status the client sent', () => {
    const pod = podFixture();
    pod.status = { phase: 'Running', podIP: '10.0.0.9' };
    podStrategy.prepareForCreate!(pod);
    expect(pod.status).toEqual({ phase: 'Pending' });
  });
});
