import { podFixture } from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import type { Pod } from './types';
import { admitted } from '../../spec-helpers';
import { podStrategy, POD_UPDATE_FORBIDDEN, SCHEDULING_GATED_CONDITION } from './strategy';

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

  describe('scheduling gates', () => {
    function gated(...names: string[]): Pod {
      const pod = podFixture();
      pod.spec!.schedulingGates = names.map((name) => ({ name }));
      return pod;
    }
    /** A copy of pod as the apiserver stored it: defaulted. */
    const clone = (pod: KubeObject) => {
      const stored = JSON.parse(JSON.stringify(pod)) as KubeObject;
      admitted('pods', stored);
      return stored;
    };

    it('accepts gates at creation, each name once and qualified', () => {
      expect(admitted('pods', gated('example.com/a', 'b'))).toEqual([]);
      const twice = admitted('pods', gated('example.com/a', 'example.com/a'));
      expect(twice).toEqual([`spec.schedulingGates[1].name: Duplicate value: "example.com/a"`]);
      expect(admitted('pods', gated('not a name'))).toEqual([expect.stringMatching(/^spec\.schedulingGates\[0\]\.name: Invalid value/)]);
    });

    it('refuses a pod created bound to a node and gated, as Kubernetes', () => {
      const pod = gated('example.com/a');
      pod.spec!.nodeName = 'node-1';
      expect(admitted('pods', pod)).toEqual(['spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared']);
      const bound = podFixture();
      bound.spec!.nodeName = 'node-1';
      expect(admitted('pods', bound)).toEqual([]);
    });

    it('refuses an update that binds a pod still gated, and allows it once the gates are gone', () => {
      const bound = gated('example.com/a');
      bound.spec!.nodeName = 'node-1';
      expect(admitted('pods', bound, clone(gated('example.com/a')))).toEqual(['spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared']);
      const released = gated();
      released.spec!.nodeName = 'node-1';
      expect(admitted('pods', released, clone(gated()))).toEqual([]);
    });

    it('lets an update remove gates, one or all, but never add or rename one', () => {
      const old = gated('example.com/a', 'example.com/b');
      expect(admitted('pods', gated('example.com/b'), clone(old))).toEqual([]);
      expect(admitted('pods', gated(), clone(old))).toEqual([]);
      const released = podFixture();
      delete released.spec!.schedulingGates;
      expect(admitted('pods', released, clone(old))).toEqual([]);
      expect(admitted('pods', gated('example.com/a', 'example.com/b', 'x'), clone(old))).toEqual([
        "spec.schedulingGates[2].name: Forbidden: only deletion is allowed, but found new scheduling gate 'x'",
      ]);
      expect(admitted('pods', gated('example.com/c'), clone(old))).toEqual([
        "spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/c'",
      ]);
      expect(admitted('pods', gated('example.com/a'), clone(podFixture()))).toEqual([
        "spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/a'",
      ]);
    });

    it('still refuses other spec changes of a gated pod', () => {
      const next = gated('example.com/a');
      next.spec!.restartPolicy = 'Never';
      expect(admitted('pods', next, clone(gated('example.com/a', 'example.com/b')))).toEqual([`spec: Forbidden: ${POD_UPDATE_FORBIDDEN}`]);
    });

    it('says SchedulingGated in a gated pod\'s PodScheduled condition from its creation', () => {
      const pod = gated('example.com/a');
      podStrategy.prepareForCreate!(pod);
      expect(pod.status).toEqual({ phase: 'Pending', conditions: [{ ...SCHEDULING_GATED_CONDITION, lastTransitionTime: expect.any(String) }] });
      const empty = gated();
      podStrategy.prepareForCreate!(empty);
      expect(empty.status).toEqual({ phase: 'Pending' });
    });

    it('refuses to bind a pod a gate still holds back', () => {
      const bind = podStrategy.subresourceWrites!.binding!;
      expect(() => bind(gated('example.com/a'), { target: { name: 'node-1' } })).toThrow('pod web-1 has non-empty .spec.schedulingGates');
    });
  });
});
