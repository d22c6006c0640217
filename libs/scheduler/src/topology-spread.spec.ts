import type { Pod, TopologySpreadConstraint } from '@berth/api';
import type { NodeInfo } from './node-info';
import { podInfoOf } from './pod-info';
import { node, nodeInfo, pod, type PodFields } from './spec-helpers';
import { podTopologySpreadPlugin, REASON_SPREAD, REASON_SPREAD_MISSING_LABEL } from './topology-spread';

const web = { app: 'web' };
const zoned = (name: string, zone?: string, labels: Record<string, string> = {}) => node(name, { labels: zone ? { zone, ...labels } : labels });
const webPod = (name: string, fields: PodFields = {}) => pod(name, { labels: web, ...fields });
const spread = (constraint: Partial<TopologySpreadConstraint> = {}, fields: PodFields = {}): Pod =>
  webPod('new', { ...fields, spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: web }, ...constraint }], ...fields.spec } });

function reasons(p: Pod, nodes: NodeInfo[]): Record<string, readonly string[]> {
  const prepared = podTopologySpreadPlugin.prepare(podInfoOf(p), nodes);
  return Object.fromEntries(nodes.map((n) => [n.name, prepared?.filter?.(n) ?? []]));
}

describe('topology spread, DoNotSchedule', () => {
  it('refuses the domains where the pod would make the skew exceed maxSkew', () => {
    const nodes = [nodeInfo(zoned('a', '1'), [webPod('w1')]), nodeInfo(zoned('b', '1')), nodeInfo(zoned('c', '2'))];
    expect(reasons(spread(), nodes)).toEqual({ a: [REASON_SPREAD], b: [REASON_SPREAD], c: [] });
    expect(reasons(spread({ maxSkew: 2 }), nodes)).toEqual({ a: [], b: [], c: [] });
  });

  it('refuses nodes without the topology key as Kubernetes words it', () => {
    expect(reasons(spread(), [nodeInfo(zoned('a', '1')), nodeInfo(zoned('x'))])).toEqual({ a: [], x: [REASON_SPREAD_MISSING_LABEL] });
  });

  it('counts only selected, live pods of the pod\'s namespace', () => {
    const nodes = [
      nodeInfo(zoned('a', '1'), [webPod('gone', { deleting: true }), webPod('elsewhere', { namespace: 'other' }), pod('db', { labels: { app: 'db' } })]),
      nodeInfo(zoned('c', '2')),
    ];
    expect(reasons(spread(), nodes)).toEqual({ a: [], c: [] });
  });

  it('with fewer domains than minDomains, the global minimum is 0', () => {
    const nodes = [nodeInfo(zoned('a', '1'), [webPod('w1')]), nodeInfo(zoned('b', '1'))];
    expect(reasons(spread(), nodes)).toEqual({ a: [], b: [] });
    expect(reasons(spread({ minDomains: 2 }), nodes)).toEqual({ a: [REASON_SPREAD], b: [REASON_SPREAD] });
  });

  it('honours the pod\'s node affinity when counting domains (nodeAffinityPolicy), unless told to ignore it', () => {
    // Zone 2 is only on a node the pod may not use: by default it is no domain, so zone 1 is the minimum.
    const nodes = [nodeInfo(zoned('a', '1', { disk: 'ssd' }), [webPod('w1')]), nodeInfo(zoned('c', '2', { disk: 'hdd' }))];
    const onSsd = { spec: { nodeSelector: { disk: 'ssd' } } };
    expect(reasons(spread({}, onSsd), nodes).a).toEqual([]);
    expect(reasons(spread({ nodeAffinityPolicy: 'Ignore' }, onSsd), nodes).a).toEqual([REASON_SPREAD]);
  });

  it('narrows the selector with matchLabelKeys taken from the pod', () => {
    const nodes = [nodeInfo(zoned('a', '1'), [webPod('old', { labels: { ...web, hash: 'v1' } })]), nodeInfo(zoned('c', '2'))];
    const p = spread({ matchLabelKeys: ['hash'] });
    p.metadata.labels = { ...web, hash: 'v2' };
    expect(reasons(p, nodes).a).toEqual([]);
    expect(reasons(spread(), nodes).a).toEqual([REASON_SPREAD]);
  });
});

describe('topology spread, ScheduleAnyway', () => {
  it('scores the emptier domain higher and never filters', () => {
    const nodes = [nodeInfo(zoned('a', '1'), [webPod('w1'), webPod('w2')]), nodeInfo(zoned('b', '1')), nodeInfo(zoned('c', '2'))];
    const prepared = podTopologySpreadPlugin.prepare(podInfoOf(spread({ whenUnsatisfiable: 'ScheduleAnyway' })), nodes)!;
    expect(prepared.filter).toBeUndefined();
    expect(prepared.score!(nodes)).toEqual([0, 0, 100]);
  });

  it('scores nodes without the topology key 0', () => {
    const nodes = [nodeInfo(zoned('a', '1')), nodeInfo(zoned('x'))];
    expect(podTopologySpreadPlugin.prepare(podInfoOf(spread({ whenUnsatisfiable: 'ScheduleAnyway' })), nodes)!.score!(nodes)).toEqual([100, 0]);
  });

  it('asks nothing of a pod without constraints', () => {
    expect(podTopologySpreadPlugin.prepare(podInfoOf(webPod('p')), [nodeInfo(zoned('a', '1'))])).toBeUndefined();
  });
});
