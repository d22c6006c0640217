import type { Node } from '@berth/api';
import { nodeTopTable, podTopTable, type PodMetrics } from './top';

const metrics: PodMetrics[] = [
  {
    apiVersion: 'metrics.k8s.io/v1beta1',
    kind: 'PodMetrics',
    metadata: { name: 'web-1', namespace: 'default' },
    containers: [
      { name: 'app', usage: { cpu: '1500000n', memory: '3Mi' } },
      { name: 'side', usage: { cpu: '2m', memory: '1048576' } },
    ],
  },
];

describe('berth top', () => {
  it('sums containers into a pod, in kubectl\'s units (millicores rounded up, whole Mi)', () => {
    expect(podTopTable(metrics, { withNamespace: false, containers: false })).toEqual([
      ['NAME', 'CPU(cores)', 'MEMORY(bytes)'],
      ['web-1', '4m', '4Mi'],
    ]);
  });

  it('lists containers apart with --containers, namespaces with -A', () => {
    expect(podTopTable(metrics, { withNamespace: true, containers: true })).toEqual([
      ['NAMESPACE', 'POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)'],
      ['default', 'web-1', 'app', '2m', '3Mi'],
      ['default', 'web-1', 'side', '2m', '1Mi'],
    ]);
  });

  it('gives node usage as a share of allocatable', () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { allocatable: { cpu: '2', memory: '4Gi' } } } as Node;
    const table = nodeTopTable([{ apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics', metadata: { name: 'n1' }, usage: { cpu: '500m', memory: '1Gi' } }, { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics', metadata: { name: 'gone' }, usage: { cpu: '1', memory: '1Mi' } }], [node]);
    expect(table).toEqual([
      ['NAME', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)'],
      ['n1', '500m', '25%', '1024Mi', '25%'],
      ['gone', '1000m', '<unknown>', '1Mi', '<unknown>'],
    ]);
  });
});
