import { kindPrefix, objectName, parseTargets, resolveKind, resolveKinds } from './kinds';

describe('kind resolution', () => {
  it.each([
    ['po', 'pods'], ['pod', 'pods'], ['Pods', 'pods'], ['deploy', 'deployments'], ['deployment.apps', 'deployments'],
    ['deployments.apps', 'deployments'], ['rs', 'replicasets'], ['svc', 'services'], ['ns', 'namespaces'], ['no', 'nodes'],
    ['cm', 'configmaps'], ['ev', 'events'], ['ep', 'endpoints'], ['secret', 'secrets'], ['leases.coordination.k8s.io', 'leases'],
  ])('%s is %s', (typed, plural) => {
    expect(resolveKind(typed).plural).toBe(plural);
  });

  it('rejects unknown types and wrong groups the way kubectl words it', () => {
    expect(() => resolveKind('foo')).toThrow('the server doesn\'t have a resource type "foo"');
    expect(() => resolveKind('pods.apps')).toThrow('the server doesn\'t have a resource type "pods.apps"');
  });

  it('expands comma lists and the all category without duplicates', () => {
    expect(resolveKinds('deploy,svc,deployments').map((t) => t.plural)).toEqual(['deployments', 'services']);
    expect(resolveKinds('all').map((t) => t.plural)).toEqual(['pods', 'services', 'deployments', 'replicasets', 'daemonsets', 'jobs', 'cronjobs', 'statefulsets', 'horizontalpodautoscalers']);
  });
});

describe('parseTargets', () => {
  it('reads KIND NAME... and KIND,KIND', () => {
    expect(parseTargets(['po', 'a', 'b']).map((t) => [t.type.plural, t.names])).toEqual([['pods', ['a', 'b']]]);
    expect(parseTargets(['cm,secret']).map((t) => [t.type.plural, t.names])).toEqual([['configmaps', []], ['secrets', []]]);
  });

  it('reads KIND/NAME forms, grouping names by type', () => {
    expect(parseTargets(['deploy/web', 'svc/web', 'deployment/api']).map((t) => [t.type.plural, t.names])).toEqual([
      ['deployments', ['web', 'api']],
      ['services', ['web']],
    ]);
    expect(() => parseTargets(['deploy/web', 'web'])).toThrow('resource/name form');
  });

  it('names objects like kubectl', () => {
    expect(objectName(resolveKind('deploy'), 'web')).toBe('deployment.apps/web');
    expect(kindPrefix(resolveKind('svc'))).toBe('service');
  });
});
