import { RESOURCES } from '@berth/api';
import { fixedResolver, kindPrefix, objectName, parseTargets, resolveKinds } from './kinds';

const served = fixedResolver(RESOURCES);
const resolveKind = (typed: string) => served.resolve(typed);

describe('kind resolution', () => {
  it.each([
    ['po', 'pods'], ['pod', 'pods'], ['Pods', 'pods'], ['deploy', 'deployments'], ['deployment.apps', 'deployments'],
    ['deployments.apps', 'deployments'], ['rs', 'replicasets'], ['svc', 'services'], ['ns', 'namespaces'], ['no', 'nodes'],
    ['cm', 'configmaps'], ['ev', 'events'], ['ep', 'endpoints'], ['secret', 'secrets'], ['leases.coordination.k8s.io', 'leases'],
  ])('%s is %s', async (typed, plural) => {
    expect((await resolveKind(typed)).plural).toBe(plural);
  });

  it('rejects unknown types and wrong groups the way kubectl words it', async () => {
    await expect(resolveKind('foo')).rejects.toThrow('the server doesn\'t have a resource type "foo"');
    await expect(resolveKind('pods.apps')).rejects.toThrow('the server doesn\'t have a resource type "pods.apps"');
  });

  it('expands comma lists and the all category without duplicates', async () => {
    expect((await resolveKinds('deploy,svc,deployments', served)).map((t) => t.plural)).toEqual(['deployments', 'services']);
    // A fixed set of kinds: the served list grows as kinds are added (DaemonSets are in `all` too).
    const some = fixedResolver(RESOURCES.filter((t) => ['pods', 'services', 'deployments', 'replicasets', 'configmaps'].includes(t.plural)));
    expect((await resolveKinds('all,pods', some)).map((t) => t.plural)).toEqual(['pods', 'services', 'deployments', 'replicasets']);
  });
});

describe('parseTargets', () => {
  it('reads KIND NAME... and KIND,KIND', async () => {
    expect((await parseTargets(['po', 'a', 'b'], served)).map((t) => [t.type.plural, t.names])).toEqual([['pods', ['a', 'b']]]);
    expect((await parseTargets(['cm,secret'], served)).map((t) => [t.type.plural, t.names])).toEqual([['configmaps', []], ['secrets', []]]);
  });

  it('reads KIND/NAME forms, grouping names by type', async () => {
    expect((await parseTargets(['deploy/web', 'svc/web', 'deployment/api'], served)).map((t) => [t.type.plural, t.names])).toEqual([
      ['deployments', ['web', 'api']],
      ['services', ['web']],
    ]);
    await expect(parseTargets(['deploy/web', 'web'], served)).rejects.toThrow('resource/name form');
  });

  it('names objects like kubectl', async () => {
    expect(objectName(await resolveKind('deploy'), 'web')).toBe('deployment.apps/web');
    expect(kindPrefix(await resolveKind('svc'))).toBe('service');
  });
});
