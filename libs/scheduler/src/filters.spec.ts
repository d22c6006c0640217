import type { NodeSelectorRequirement, Taint } from '@berth/api';
import {
  firstUntoleratedTaint,
  hostPortFilter,
  hostPortsConflict,
  insufficient,
  nodeAffinityFilter,
  nodeReadyFilter,
  nodeSchedulableFilter,
  podMatchesNode,
  REASON_AFFINITY,
  REASON_HOST_PORTS,
  REASON_NOT_READY,
  REASON_TOO_MANY_PODS,
  REASON_UNSCHEDULABLE,
  requirementMatches,
  resourcesFilter,
  taintTolerationFilter,
  toleratesTaint,
} from './filters';
import { podInfoOf } from './pod-info';
import { node, nodeInfo, pod } from './spec-helpers';

const fits = (reasons: readonly string[]) => reasons.length === 0;

describe('node readiness and schedulability', () => {
  it('rejects nodes whose Ready condition is not True', () => {
    expect(fits(nodeReadyFilter(podInfoOf(pod('p')), nodeInfo(node('n'))))).toBe(true);
    expect(nodeReadyFilter(podInfoOf(pod('p')), nodeInfo(node('n', { ready: false })))).toEqual([REASON_NOT_READY]);
    const noConditions = node('n');
    noConditions.status!.conditions = [];
    expect(nodeReadyFilter(podInfoOf(pod('p')), nodeInfo(noConditions))).toEqual([REASON_NOT_READY]);
  });

  it('rejects cordoned nodes unless the pod tolerates the unschedulable taint', () => {
    const cordoned = nodeInfo(node('n', { unschedulable: true }));
    expect(nodeSchedulableFilter(podInfoOf(pod('p')), cordoned)).toEqual([REASON_UNSCHEDULABLE]);
    const tolerant = pod('p', { spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } });
    expect(fits(nodeSchedulableFilter(podInfoOf(tolerant), cordoned))).toBe(true);
  });
});

describe('resources', () => {
  it('fits requests into allocatable minus what bound pods request', () => {
    const full = nodeInfo(node('n', { cpu: '2', memory: '4Gi' }), [pod('a', { cpu: '1500m', memory: '3Gi' })]);
    expect(fits(resourcesFilter(podInfoOf(pod('p', { cpu: '500m', memory: '1Gi' })), full))).toBe(true);
    expect(resourcesFilter(podInfoOf(pod('p', { cpu: '501m' })), full)).toEqual([insufficient('cpu')]);
    expect(resourcesFilter(podInfoOf(pod('p', { cpu: '1', memory: '2Gi' })), full)).toEqual([insufficient('cpu'), insufficient('memory')]);
  });

  it('lets pods requesting nothing onto a full node but counts pods', () => {
    const full = nodeInfo(node('n', { cpu: '1', pods: '2' }), [pod('a', { cpu: '1' })]);
    expect(fits(resourcesFilter(podInfoOf(pod('p')), full))).toBe(true);
    full.addPod(podInfoOf(pod('b')));
    expect(resourcesFilter(podInfoOf(pod('p')), full)).toEqual([REASON_TOO_MANY_PODS]);
  });
});

describe('node selector and required node affinity', () => {
  const labelled = node('n1', { labels: { disk: 'ssd', zone: 'a', cores: '8' } });
  const req = (key: string, operator: NodeSelectorRequirement['operator'], values?: string[]): NodeSelectorRequirement => ({ key, operator, values });

  it('evaluates each operator', () => {
    const labels = { disk: 'ssd', cores: '8' };
    expect(requirementMatches(req('disk', 'In', ['ssd', 'nvme']), labels)).toBe(true);
    expect(requirementMatches(req('disk', 'In', ['hdd']), labels)).toBe(false);
    expect(requirementMatches(req('disk', 'NotIn', ['hdd']), labels)).toBe(true);
    expect(requirementMatches(req('gpu', 'NotIn', ['x']), labels)).toBe(true);
    expect(requirementMatches(req('disk', 'NotIn', ['ssd']), labels)).toBe(false);
    expect(requirementMatches(req('disk', 'Exists'), labels)).toBe(true);
    expect(requirementMatches(req('gpu', 'Exists'), labels)).toBe(false);
    expect(requirementMatches(req('gpu', 'DoesNotExist'), labels)).toBe(true);
    expect(requirementMatches(req('disk', 'DoesNotExist'), labels)).toBe(false);
    expect(requirementMatches(req('cores', 'Gt', ['4']), labels)).toBe(true);
    expect(requirementMatches(req('cores', 'Gt', ['8']), labels)).toBe(false);
    expect(requirementMatches(req('cores', 'Lt', ['10']), labels)).toBe(true);
    expect(requirementMatches(req('cores', 'Lt', ['8']), labels)).toBe(false);
    expect(requirementMatches(req('disk', 'Gt', ['1']), labels)).toBe(false);
    expect(requirementMatches(req('gpu', 'Lt', ['1']), labels)).toBe(false);
  });

  it('requires every nodeSelector label', () => {
    expect(podMatchesNode(pod('p', { spec: { nodeSelector: { disk: 'ssd', zone: 'a' } } }), labelled)).toBe(true);
    expect(podMatchesNode(pod('p', { spec: { nodeSelector: { disk: 'hdd' } } }), labelled)).toBe(false);
    expect(nodeAffinityFilter(podInfoOf(pod('p', { spec: { nodeSelector: { gpu: 'yes' } } })), nodeInfo(labelled))).toEqual([REASON_AFFINITY]);
  });

  it('ORs the terms and ANDs the requirements within one, matching fields by metadata.name', () => {
    const withTerms = (...nodeSelectorTerms: object[]) =>
      pod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } } } } });
    expect(podMatchesNode(withTerms({ matchExpressions: [req('zone', 'In', ['b'])] }, { matchExpressions: [req('disk', 'Exists')] }), labelled)).toBe(true);
    expect(podMatchesNode(withTerms({ matchExpressions: [req('disk', 'Exists'), req('zone', 'In', ['b'])] }), labelled)).toBe(false);
    expect(podMatchesNode(withTerms({ matchFields: [req('metadata.name', 'In', ['n1'])] }), labelled)).toBe(true);
    expect(podMatchesNode(withTerms({ matchFields: [req('metadata.name', 'NotIn', ['n1'])] }), labelled)).toBe(false);
    expect(podMatchesNode(withTerms({}), labelled)).toBe(false);
    expect(podMatchesNode(withTerms(), labelled)).toBe(false);
  });

  it('needs both nodeSelector and affinity to hold', () => {
    const p = pod('p', {
      spec: {
        nodeSelector: { disk: 'hdd' },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [req('zone', 'In', ['a'])] }] } } },
      },
    });
    expect(podMatchesNode(p, labelled)).toBe(false);
  });
});

describe('taints and tolerations', () => {
  const taint = (key: string, effect: Taint['effect'], value?: string): Taint => ({ key, value, effect });

  it('matches tolerations as Kubernetes does', () => {
    const t = taint('dedicated', 'NoSchedule', 'db');
    expect(toleratesTaint({ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }, t)).toBe(true);
    expect(toleratesTaint({ key: 'dedicated', value: 'db' }, t)).toBe(true);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Equal', value: 'web' }, t)).toBe(false);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists' }, t)).toBe(true);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, t)).toBe(false);
    expect(toleratesTaint({ operator: 'Exists' }, t)).toBe(true);
    expect(toleratesTaint({ key: 'other', operator: 'Exists' }, t)).toBe(false);
  });

  it('blocks NoSchedule and NoExecute taints that are not tolerated, never PreferNoSchedule', () => {
    const tainted = (t: Taint) => nodeInfo(node('n', { taints: [t] }));
    expect(taintTolerationFilter(podInfoOf(pod('p')), tainted(taint('a', 'NoSchedule', 'x')))).toEqual(['node(s) had untolerated taint {a: x}']);
    expect(taintTolerationFilter(podInfoOf(pod('p')), tainted(taint('b', 'NoExecute')))).toEqual(['node(s) had untolerated taint {b: }']);
    expect(fits(taintTolerationFilter(podInfoOf(pod('p')), tainted(taint('c', 'PreferNoSchedule'))))).toBe(true);
    const tolerant = pod('p', { spec: { tolerations: [{ key: 'a', operator: 'Exists' }] } });
    expect(fits(taintTolerationFilter(podInfoOf(tolerant), tainted(taint('a', 'NoSchedule', 'x'))))).toBe(true);
    expect(firstUntoleratedTaint([taint('a', 'NoSchedule'), taint('b', 'NoSchedule')], [{ key: 'a', operator: 'Exists' }], ['NoSchedule'])?.key).toBe('b');
  });
});

describe('host ports', () => {
  const withPort = (name: string, hostPort: number, protocol?: 'TCP' | 'UDP', hostIP?: string) =>
    pod(name, { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort, protocol, hostIP }] }] });

  it('clashes on the same port and protocol when an address overlaps', () => {
    const tcp = (hostIP: string) => ({ protocol: 'TCP', hostIP, port: 8080 });
    expect(hostPortsConflict(tcp('0.0.0.0'), tcp('10.0.0.1'))).toBe(true);
    expect(hostPortsConflict(tcp('10.0.0.1'), tcp('10.0.0.1'))).toBe(true);
    expect(hostPortsConflict(tcp('10.0.0.1'), tcp('10.0.0.2'))).toBe(false);
    expect(hostPortsConflict(tcp('0.0.0.0'), { ...tcp('0.0.0.0'), protocol: 'UDP' })).toBe(false);
    expect(hostPortsConflict(tcp('0.0.0.0'), { ...tcp('0.0.0.0'), port: 8081 })).toBe(false);
  });

  it('rejects a node where a bound pod holds the port', () => {
    const busy = nodeInfo(node('n'), [withPort('a', 8080)]);
    expect(hostPortFilter(podInfoOf(withPort('p', 8080)), busy)).toEqual([REASON_HOST_PORTS]);
    expect(fits(hostPortFilter(podInfoOf(withPort('p', 8080, 'UDP')), busy))).toBe(true);
    expect(fits(hostPortFilter(podInfoOf(withPort('p', 9090)), busy))).toBe(true);
    expect(fits(hostPortFilter(podInfoOf(pod('p')), busy))).toBe(true);
  });

  it('treats container ports as host ports under hostNetwork', () => {
    const hostNet = pod('h', { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }], spec: { hostNetwork: true } });
    expect(hostPortFilter(podInfoOf(hostNet), nodeInfo(node('n'), [withPort('a', 8080)]))).toEqual([REASON_HOST_PORTS]);
  });
});
