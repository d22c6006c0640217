import { isPublic, parseRequestTarget, parseRoute } from './routes';

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

describe('parseRequestTarget', () => {
  it('reads origin-form as a path, `//` and dot segments included, never normalized', () => {
    expect(parseRequestTarget('//a:99999/x?y=1')).toMatchObject({ pathname: '//a:99999/x' });
    expect(parseRequestTarget('/api/v1/namespaces/ns/configmaps/%2e%2e').pathname).toBe('/api/v1/namespaces/ns/configmaps/%2e%2e');
    expect(parseRequestTarget('/a/../b?watch=1&x=%zz').searchParams.get('watch')).toBe('1');
  });

  it('serves absolute-form by its path, and refuses what is not a path', () => {
    expect(parseRequestTarget('https://elsewhere:1/api/v1/pods?limit=1')).toMatchObject({ pathname: '/api/v1/pods' });
    for (const target of ['*', 'api/v1', 'ftp://x/y', '', 'http://[/', 'http://a:99999/api']) expect(() => parseRequestTarget(target)).toThrow('is not a path');
  });

  it('routes no segment that is, or decodes to, . or .. or holds a slash', () => {
    for (const path of ['/api/v1/namespaces/ns/configmaps/%2e%2e', '/api/v1/namespaces/ns/configmaps/..', '/api/v1/namespaces/%2E/pods', '/api/v1/namespaces/a%2Fb/pods', '/api/v1/namespaces/%zz/pods']) {
      expect(parseRoute(path)).toEqual({ kind: 'unknown' });
    }
  });
});
