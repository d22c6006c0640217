import { namespaceFixture } from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { namespaceResource } from '.';

const strategy = namespaceResource.strategy;

describe('namespace strategy', () => {
  it('refuses to delete the namespaces Kubernetes keeps', () => {
    for (const name of ['default', 'kube-system', 'kube-public']) {
      const ns = { ...namespaceFixture(), metadata: { name } };
      expect(() => strategy.deletion!(ns, undefined, new Date())).toThrow(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
    }
  });

  it('keeps a deleted namespace, Terminating, for the namespace reconciler to empty', () => {
    const plan = strategy.deletion!(namespaceFixture(), undefined, new Date());
    if (plan.kind !== 'keep') throw new Error(`expected keep, got ${plan.kind}`);
    const marked: KubeObject = { ...namespaceFixture(), status: { phase: 'Active' } };
    plan.prepare(marked);
    expect(marked.status).toEqual({ phase: 'Terminating' });
  });

  it('leaves a namespace that is terminating as it is', () => {
    const ns = namespaceFixture();
    ns.metadata.deletionTimestamp = '2026-12-07T10:00:00Z';
    expect(strategy.deletion!(ns, undefined, new Date())).toEqual({ kind: 'pending' });
  });

  it('lets spec.finalizers change only through termination', () => {
    const old: KubeObject = { ...namespaceFixture(), spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
    const next: KubeObject = { ...namespaceFixture(), spec: { finalizers: [] }, status: { phase: 'Terminating' } };
    strategy.prepareForUpdate!(next, old, undefined);
    expect(next.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(next.status).toEqual({ phase: 'Active' });
    const status: KubeObject = { ...namespaceFixture(), status: { phase: 'Terminating' } };
    strategy.prepareForUpdate!(status, old, 'status');
    expect(status.status).toEqual({ phase: 'Terminating' });
  });

  it('names a namespace as a DNS label', () => {
    expect(namespaceResource.nameErrors('a.b')).not.toEqual([]);
    expect(namespaceResource.nameErrors('team-a')).toEqual([]);
  });
});
