import type { Pod } from '@berth/api';
import { parseMetricsPath } from './node-metrics';
import { containerOf } from './node-proxy';

function pod(containers: string[], initContainers: string[] = []): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: containers.map((name) => ({ name, image: 'busybox' })), initContainers: initContainers.map((name) => ({ name, image: 'busybox' })) },
  };
}

describe('containerOf', () => {
  it('defaults to the only container and accepts any named one, init containers too', () => {
    expect(containerOf(pod(['main']), null)).toBe('main');
    expect(containerOf(pod(['main', 'side'], ['setup']), 'side')).toBe('side');
    expect(containerOf(pod(['main', 'side'], ['setup']), 'setup')).toBe('setup');
  });

  it('words its refusals as the Kubernetes apiserver does', () => {
    expect(() => containerOf(pod(['main']), 'x')).toThrow('container "x" is not valid for pod "p"');
    expect(() => containerOf(pod(['a', 'b']), null)).toThrow('a container name must be specified for pod p, choose one of: [a b]');
    expect(() => containerOf(pod(['a', 'b'], ['i']), '')).toThrow('a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]');
  });
});

describe('parseMetricsPath', () => {
  it('reads the metrics.k8s.io paths kubectl top uses', () => {
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/nodes')).toEqual({ resource: 'nodes', name: undefined });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/nodes/n1')).toEqual({ resource: 'nodes', name: 'n1' });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/pods')).toEqual({ resource: 'pods' });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods')).toEqual({ resource: 'pods', namespace: 'default', name: undefined });
    expect(parseMetricsPath('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web')).toEqual({ resource: 'pods', namespace: 'default', name: 'web' });
  });

  it('leaves every other path alone', () => {
    for (const path of ['/apis/metrics.k8s.io/v1beta1', '/apis/metrics.k8s.io/v1beta1/widgets', '/apis/metrics.k8s.io/v1beta1/namespaces/a/pods/b/c', '/api/v1/pods', '/apis/metrics.k8s.io/v1/nodes']) {
      expect(parseMetricsPath(path)).toBeUndefined();
    }
  });
});
