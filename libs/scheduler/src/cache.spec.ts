import { SchedulerCache } from './cache';
import { podInfoOf } from './pod-info';
import { node, pod } from './spec-helpers';

describe('SchedulerCache', () => {
  function cacheWithNodes(...names: string[]) {
    const cache = new SchedulerCache(1000);
    for (const name of names) cache.setNode(node(name));
    return cache;
  }

  it('counts bound pods on their node and drops them when deleted or finished', () => {
    const cache = cacheWithNodes('n1');
    cache.syncPod('default/a', pod('a', { cpu: '1', nodeName: 'n1' }));
    expect(cache.getNode('n1')!.requested).toEqual({ milliCpu: 1000, memory: 0, pods: 1 });
    const done = pod('a', { cpu: '1', nodeName: 'n1' });
    done.status = { phase: 'Succeeded' };
    cache.syncPod('default/a', done);
    expect(cache.getNode('n1')!.requested.pods).toBe(0);
    cache.syncPod('default/a', pod('a', { cpu: '1', nodeName: 'n1' }));
    cache.syncPod('default/a', undefined);
    expect(cache.getNode('n1')!.podCount).toBe(0);
  });

  it('ignores pending pods', () => {
    const cache = cacheWithNodes('n1');
    cache.syncPod('default/a', pod('a', { cpu: '1' }));
    expect(cache.getNode('n1')!.podCount).toBe(0);
  });

  it('keeps an assumed pod counted until the informer shows it bound, then counts it once', () => {
    const cache = cacheWithNodes('n1');
    const pending = pod('a', { cpu: '1' });
    cache.assume(podInfoOf(pending), 'n1');
    expect(cache.isAssumed('default/a', 'uid-a')).toBe(true);
    cache.syncPod('default/a', pending);
    expect(cache.getNode('n1')!.requested.milliCpu).toBe(1000);
    cache.syncPod('default/a', pod('a', { cpu: '1', nodeName: 'n1' }));
    expect(cache.isAssumed('default/a', 'uid-a')).toBe(false);
    expect(cache.getNode('n1')!.requested).toEqual({ milliCpu: 1000, memory: 0, pods: 1 });
  });

  it('forgets an assumption whose binding failed', () => {
    const cache = cacheWithNodes('n1');
    cache.assume(podInfoOf(pod('a', { cpu: '1' })), 'n1');
    cache.forget('default/a');
    expect(cache.getNode('n1')!.requested.milliCpu).toBe(0);
    expect(cache.isAssumed('default/a', 'uid-a')).toBe(false);
  });

  it('lets an unconfirmed binding lapse after its time to live', () => {
    const cache = cacheWithNodes('n1');
    cache.assume(podInfoOf(pod('a', { cpu: '1' })), 'n1');
    expect(cache.expireAssumed(Date.now() + 1_000_000)).toBe(false);
    cache.finishBinding('default/a', 0);
    expect(cache.expireAssumed(999)).toBe(false);
    expect(cache.expireAssumed(1000)).toBe(true);
    expect(cache.getNode('n1')!.podCount).toBe(0);
  });

  it('does not keep an assumption for a recreated pod of the same name', () => {
    const cache = cacheWithNodes('n1');
    cache.assume(podInfoOf(pod('a', { cpu: '1' })), 'n1');
    const recreated = pod('a', { cpu: '1' });
    recreated.metadata.uid = 'other';
    cache.syncPod('default/a', recreated);
    expect(cache.getNode('n1')!.podCount).toBe(0);
  });

  it('offers only nodes that exist, keeping pods bound to a deleted node until they go', () => {
    const cache = cacheWithNodes('n1', 'n2');
    cache.syncPod('default/a', pod('a', { nodeName: 'n2' }));
    cache.removeNode('n2');
    expect([...cache.candidateNodes()].map((n) => n.name)).toEqual(['n1']);
    expect(cache.getNode('n2')!.podCount).toBe(1);
    cache.syncPod('default/a', undefined);
    expect(cache.getNode('n2')).toBeUndefined();
  });

  it('moves a pod whose node changed', () => {
    const cache = cacheWithNodes('n1', 'n2');
    cache.assume(podInfoOf(pod('a')), 'n1');
    cache.syncPod('default/a', pod('a', { nodeName: 'n2' }));
    expect(cache.getNode('n1')!.podCount).toBe(0);
    expect(cache.getNode('n2')!.podCount).toBe(1);
  });
});
