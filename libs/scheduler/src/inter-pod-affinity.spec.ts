import type { Affinity, Pod, PodAffinityTerm } from '@berth/api';
import { isPlacement, placePod, type NoFit } from './algorithm';
import { SchedulerCache } from './cache';
import { interPodAffinityPlugin, REASON_EXISTING_ANTI_AFFINITY, REASON_POD_AFFINITY, REASON_POD_ANTI_AFFINITY } from './inter-pod-affinity';
import type { NodeInfo } from './node-info';
import { podInfoOf } from './pod-info';
import { node, nodeInfo, pod, type PodFields } from './spec-helpers';

const HOSTNAME = 'kubernetes.io/hostname';
const web = { app: 'web' };
const term = (topologyKey: string, matchLabels: Record<string, string>, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ topologyKey, labelSelector: { matchLabels }, ...extra });
const withAffinity = (name: string, affinity: Affinity, fields: PodFields = {}): Pod => pod(name, { labels: web, ...fields, spec: { affinity, ...fields.spec } });
const antiAffinityTo = (labels: Record<string, string>, extra: Partial<PodAffinityTerm> = {}): Affinity => ({
  podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term(HOSTNAME, labels, extra)] },
});

/** Each node's filter reasons (none: fits) for the pod. */
function reasons(p: Pod, nodes: NodeInfo[], namespaceLabels?: (ns: string) => Record<string, string> | undefined): Record<string, readonly string[]> {
  const info = podInfoOf(p);
  const prepared = interPodAffinityPlugin(namespaceLabels).prepare(info, nodes);
  return Object.fromEntries(nodes.map((n) => [n.name, prepared?.filter?.(n) ?? []]));
}

describe('required pod anti-affinity', () => {
  it('keeps a pod out of the topology domains holding the pods it selects', () => {
    const nodes = [nodeInfo(node('a'), [pod('web-1', { labels: web })]), nodeInfo(node('b'))];
    expect(reasons(withAffinity('web-2', antiAffinityTo(web)), nodes)).toEqual({ a: [REASON_POD_ANTI_AFFINITY], b: [] });
    expect(placePod(podInfoOf(withAffinity('web-2', antiAffinityTo(web))), nodes)).toEqual({ nodeName: 'b' });
  });

  it('leaves the pod pending with Kubernetes\' message when every node holds one', () => {
    const nodes = [nodeInfo(node('a'), [pod('web-1', { labels: web })]), nodeInfo(node('b'), [pod('web-2', { labels: web })])];
    const result = placePod(podInfoOf(withAffinity('web-3', antiAffinityTo(web))), nodes) as NoFit;
    expect(isPlacement(result)).toBe(false);
    expect(result.message).toBe("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
  });

  it('spans the whole domain of a coarser topology key', () => {
    const zone = (name: string, z: string) => node(name, { labels: { zone: z } });
    const nodes = [nodeInfo(zone('a', '1'), [pod('web-1', { labels: web })]), nodeInfo(zone('b', '1')), nodeInfo(zone('c', '2'))];
    const p = withAffinity('web-2', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('zone', web)] } });
    expect(reasons(p, nodes)).toEqual({ a: [REASON_POD_ANTI_AFFINITY], b: [REASON_POD_ANTI_AFFINITY], c: [] });
  });

  it('is symmetric: a placed pod\'s anti-affinity keeps out the pods it selects, even ones without affinity', () => {
    const guard = withAffinity('guard', antiAffinityTo(web), { labels: { app: 'guard' } });
    const nodes = [nodeInfo(node('a'), [guard]), nodeInfo(node('b'))];
    expect(reasons(pod('web-1', { labels: web }), nodes)).toEqual({ a: [REASON_EXISTING_ANTI_AFFINITY], b: [] });
    expect(reasons(pod('other', { labels: { app: 'other' } }), nodes)).toEqual({ a: [], b: [] });
  });

  it('looks in the pod\'s own namespace unless told which, by name or by namespace labels', () => {
    const nodes = [nodeInfo(node('a'), [pod('web-1', { labels: web, namespace: 'other' })]), nodeInfo(node('b'))];
    expect(reasons(withAffinity('web-2', antiAffinityTo(web)), nodes).a).toEqual([]);
    expect(reasons(withAffinity('web-2', antiAffinityTo(web, { namespaces: ['other'] })), nodes).a).toEqual([REASON_POD_ANTI_AFFINITY]);
    expect(reasons(withAffinity('web-2', antiAffinityTo(web, { namespaceSelector: {} })), nodes).a).toEqual([REASON_POD_ANTI_AFFINITY]);
    const bySelector = withAffinity('web-2', antiAffinityTo(web, { namespaceSelector: { matchLabels: { team: 'x' } } }));
    expect(reasons(bySelector, nodes).a).toEqual([]);
    expect(reasons(bySelector, nodes, (ns): Record<string, string> => (ns === 'other' ? { team: 'x' } : {})).a).toEqual([REASON_POD_ANTI_AFFINITY]);
  });

  it('a term without a label selector selects no pod, an empty one every pod', () => {
    const nodes = [nodeInfo(node('a'), [pod('x', { labels: { any: 'thing' } })])];
    expect(reasons(withAffinity('p', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOSTNAME }] } }), nodes).a).toEqual([]);
    expect(reasons(withAffinity('p', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOSTNAME, labelSelector: {} }] } }), nodes).a).toEqual([REASON_POD_ANTI_AFFINITY]);
  });
});

describe('which pods count', () => {
  const jobLabels = { 'job-name': 'once' };
  const once = (name: string, fields: PodFields = {}) => withAffinity(name, antiAffinityTo(jobLabels), { labels: jobLabels, ...fields });

  it('a pod that succeeded on a node still keeps its Job\'s next pod off it, but holds no room; a failed one neither', () => {
    const cache = new SchedulerCache();
    for (const name of ['a', 'b', 'c']) cache.setNode(node(name, { pods: '1' }));
    cache.syncPod('default/once-1', once('once-1', { nodeName: 'a', phase: 'Succeeded' }));
    cache.syncPod('default/once-2', once('once-2', { nodeName: 'b', phase: 'Failed' }));
    expect(cache.getNode('a')!.podCount).toBe(0);
    const nodes = [...cache.candidateNodes()];
    expect(reasons(once('once-3'), nodes)).toEqual({ a: [REASON_POD_ANTI_AFFINITY], b: [], c: [] });
    // Symmetry holds for it too: its own anti-affinity keeps a matching pod out.
    expect(reasons(pod('plain', { labels: jobLabels }), nodes).a).toEqual([REASON_EXISTING_ANTI_AFFINITY]);
    cache.syncPod('default/once-1', undefined);
    expect(reasons(once('once-3'), [...cache.candidateNodes()]).a).toEqual([]);
  });

  it('pods assumed but not yet bound count, as do terminating ones', () => {
    const cache = new SchedulerCache();
    cache.setNode(node('a'));
    cache.setNode(node('b'));
    cache.assume(podInfoOf(once('once-1')), 'a');
    cache.syncPod('default/once-2', once('once-2', { nodeName: 'b', deleting: true }));
    const result = placePod(podInfoOf(once('once-3')), cache.candidateNodes()) as NoFit;
    expect(result.message).toBe("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
  });
});

describe('required pod affinity', () => {
  const zoned = (name: string, z?: string) => node(name, { labels: z ? { zone: z } : {} });
  const nearDb: Affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('zone', { app: 'db' })] } };

  it('admits only the domains holding a selected pod; a node without the topology key never', () => {
    const nodes = [nodeInfo(zoned('a', '1'), [pod('db', { labels: { app: 'db' } })]), nodeInfo(zoned('b', '1')), nodeInfo(zoned('c', '2')), nodeInfo(zoned('d'))];
    expect(reasons(withAffinity('web', nearDb), nodes)).toEqual({ a: [], b: [], c: [REASON_POD_AFFINITY], d: [REASON_POD_AFFINITY] });
  });

  it('lets the first pod of a group with affinity to itself go anywhere its topology key exists', () => {
    const together: Affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('zone', web)] } };
    const nodes = [nodeInfo(zoned('a', '1')), nodeInfo(zoned('b', '2')), nodeInfo(zoned('c'))];
    expect(reasons(withAffinity('web-1', together), nodes)).toEqual({ a: [], b: [], c: [REASON_POD_AFFINITY] });
    expect(reasons(withAffinity('lone', nearDb), nodes)).toEqual({ a: [REASON_POD_AFFINITY], b: [REASON_POD_AFFINITY], c: [REASON_POD_AFFINITY] });
  });
});

describe('preferred pod (anti-)affinity scores', () => {
  const score = (p: Pod, nodes: NodeInfo[]) => interPodAffinityPlugin().prepare(podInfoOf(p), nodes)?.score?.(nodes);

  it('favours nodes without the pods it prefers to avoid, and with those it prefers to join', () => {
    const nodes = [nodeInfo(node('a'), [pod('web-1', { labels: web })]), nodeInfo(node('b'))];
    const avoid: Affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term(HOSTNAME, web) }] } };
    const join: Affinity = { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term(HOSTNAME, web) }] } };
    expect(score(withAffinity('p', avoid), nodes)).toEqual([0, 100]);
    expect(score(withAffinity('p', join), nodes)).toEqual([100, 0]);
    expect(placePod(podInfoOf(withAffinity('p', avoid)), nodes)).toEqual({ nodeName: 'b' });
  });

  it('counts the placed pods\' preferences and required affinity towards the incoming pod', () => {
    const fan = withAffinity('fan', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term(HOSTNAME, { app: 'star' })] } }, { labels: { app: 'fan' } });
    const nodes = [nodeInfo(node('a')), nodeInfo(node('b'), [fan])];
    expect(score(pod('star', { labels: { app: 'star' } }), nodes)).toEqual([0, 100]);
  });

  it('scores nothing when no pod has terms', () => {
    expect(score(pod('p', { labels: web }), [nodeInfo(node('a'), [pod('x', { labels: web })])])).toBeUndefined();
  });
});
