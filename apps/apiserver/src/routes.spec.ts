import { isPublic, parseRoute } from './routes';

function target(path: string) {
  const route = parseRoute(path);
  if (route.kind !== 'resource') return route.kind;
  const { type, namespace, name, subresource } = route.target;
  return { plural: type.plural, namespace, name, subresource };
}

describe('parseRoute', () => {
  test('namespaced and cluster-scoped resources, items and subresources', () => {
    expect(target('/api/v1/namespaces/default/pods')).toEqual({ plural: 'pods', namespace: 'default' });
    expect(target('/api/v1/pods')).toEqual({ plural: 'pods' });
    expect(target('/apis/apps/v1/namespaces/x/deployments/web/scale')).toEqual({ plural: 'deployments', namespace: 'x', name: 'web', subresource: 'scale' });
    expect(target('/api/v1/namespaces')).toEqual({ plural: 'namespaces' });
    expect(target('/api/v1/namespaces/foo')).toEqual({ plural: 'namespaces', name: 'foo' });
    expect(target('/api/v1/namespaces/foo/status')).toEqual({ plural: 'namespaces', name: 'foo', subresource: 'status' });
    expect(target('/api/v1/nodes/n1/status')).toEqual({ plural: 'nodes', name: 'n1', subresource: 'status' });
    expect(target('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1')).toEqual({
      plural: 'leases',
      namespace: 'kube-node-lease',
      name: 'n1',
    });
  });

  test('discovery, openapi and unknown paths', () => {
    expect(parseRoute('/api').kind).toBe('coreDiscovery');
    expect(parseRoute('/apis/').kind).toBe('groupsDiscovery');
    expect(parseRoute('/apis/apps')).toEqual({ kind: 'groupDiscovery', group: 'apps' });
    expect(parseRoute('/apis/apps/v1')).toEqual({ kind: 'groupVersionDiscovery', group: 'apps', version: 'v1' });
    expect(parseRoute('/openapi/v3/apis/apps/v1')).toEqual({ kind: 'openapiDocument', group: 'apps', version: 'v1' });
    expect(parseRoute('/openapi/v3/api/v1')).toEqual({ kind: 'openapiDocument', group: '', version: 'v1' });
    expect(parseRoute('/readyz').kind).toBe('health');
    expect(parseRoute('/cacerts').kind).toBe('cacerts');
    expect(isPublic(parseRoute('/cacerts'))).toBe(true);
    expect(isPublic(parseRoute('/api'))).toBe(false);
    for (const path of ['/', '/foo', '/api/v1/widgets', '/api/v1/pods/x', '/api/v1/namespaces/a/pods/b/c/d', '/api/v1/namespaces/%zz', '/api/v1/namespaces/a%2Fb/pods']) {
      expect(parseRoute(path).kind).toBe('unknown');
    }
  });
});
