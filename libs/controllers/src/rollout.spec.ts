import type { Deployment, ReplicaSet } from '@berth/api';
import { newReplicaSetReplicas, oldReplicaSetScaleDown, podTemplateHash, proportionalScale, resolveFenceposts, scaledValue } from './rollout';
import { canonicalJson, POD_TEMPLATE_HASH_LABEL, pruneEmpty, templatesEqualIgnoringHash } from '@berth/api';

function deployment(replicas: number, maxSurge: number | string = '25%', maxUnavailable: number | string = '25%'): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'img:1' }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } },
    },
  };
}

function set(name: string, replicas: number, available: number, createdSecond: number, annotations: Record<string, string> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, annotations, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, createdSecond)).toISOString() },
    spec: { replicas, selector: {} },
    status: { replicas, availableReplicas: available },
  };
}

describe('rolling update arithmetic', () => {
  it('rounds surge up and unavailability down, and never lets both be 0', () => {
    expect(scaledValue('25%', 3, true, 'x')).toBe(1);
    expect(scaledValue('25%', 3, false, 'x')).toBe(0);
    expect(scaledValue(2, 10, false, 'x')).toBe(2);
    expect(resolveFenceposts(deployment(3))).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(resolveFenceposts(deployment(10, '30%', '30%'))).toEqual({ maxSurge: 3, maxUnavailable: 3 });
    expect(resolveFenceposts(deployment(4, 0, 0))).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(() => scaledValue('lots', 3, true, 'spec.strategy.rollingUpdate.maxSurge')).toThrow(/maxSurge/);
  });

  it('grows the new ReplicaSet only within replicas + maxSurge', () => {
    const d = deployment(4, 1, 1);
    const old = set('old', 4, 4, 0);
    expect(newReplicaSetReplicas(d, [old])).toBe(1);
    const fresh = set('new', 1, 0, 10);
    expect(newReplicaSetReplicas(d, [old, fresh], fresh)).toBe(1);
    expect(newReplicaSetReplicas(d, [set('old', 3, 3, 0), fresh], fresh)).toBe(2);
    expect(newReplicaSetReplicas(d, [], undefined)).toBe(4);
  });

  it('scales old ReplicaSets down without going below replicas - maxUnavailable available', () => {
    const d = deployment(4, 1, 1);
    // 4 old available + 1 new not yet available: may drop to 3 available, so one old pod goes.
    expect(oldReplicaSetScaleDown(d, [set('old', 4, 4, 0)], set('new', 1, 0, 10))).toEqual(new Map([['old', 3]]));
    // Nothing to spare: 3 available is the minimum.
    expect(oldReplicaSetScaleDown(d, [set('old', 3, 3, 0)], set('new', 2, 0, 10))).toEqual(new Map());
    // The new pods became available: the old ones may go down to what keeps 3 available.
    expect(oldReplicaSetScaleDown(d, [set('old', 3, 3, 0)], set('new', 2, 2, 10))).toEqual(new Map([['old', 1]]));
  });

  it('takes unavailable old pods first, as they cost no availability', () => {
    const d = deployment(4, 1, 1);
    const result = oldReplicaSetScaleDown(d, [set('older', 2, 0, 0), set('old', 3, 3, 5)], set('new', 0, 0, 10));
    expect(result.get('older')).toBe(0);
    expect(result.has('old')).toBe(false);
  });

  it('shares a mid-rollout scale-up among the active ReplicaSets in proportion to their size', () => {
    // Rolling from 10 (maxSurge 3): old at 8, new at 5 = 13 = previous max; scaling to 20 allows 26 (surge 5... 20+5).
    const d = deployment(20, '25%', '25%');
    const sizes = proportionalScale(d, [set('old', 8, 8, 0), set('new', 5, 0, 10)], 13);
    expect((sizes.get('old') ?? 8) + (sizes.get('new') ?? 5)).toBe(25);
    expect(sizes.get('old')).toBe(15);
    expect(sizes.get('new')).toBe(10);
  });

  it('shares a scale-down the same way, never below zero', () => {
    const d = deployment(2, 1, 0);
    const sizes = proportionalScale(d, [set('old', 6, 6, 0), set('new', 5, 0, 10)], 11);
    expect((sizes.get('old') ?? 6) + (sizes.get('new') ?? 5)).toBe(3);
    expect([...sizes.values()].every((n) => n >= 0)).toBe(true);
  });
});

describe('pod-template-hash', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'img:1' }] } };

  it('is stable whatever the key order, and ignores its own label', () => {
    const reordered = { spec: { containers: [{ image: 'img:1', name: 'c' }] }, metadata: { labels: { app: 'web' } } };
    expect(podTemplateHash(reordered)).toBe(podTemplateHash(template));
    const labelled = { ...template, metadata: { labels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: 'abc' } } };
    expect(podTemplateHash(labelled)).toBe(podTemplateHash(template));
    expect(templatesEqualIgnoringHash(labelled, template)).toBe(true);
    expect(podTemplateHash(template)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });

  it('changes with the template and with the collision count', () => {
    const changed = { ...template, spec: { containers: [{ name: 'c', image: 'img:2' }] } };
    expect(podTemplateHash(changed)).not.toBe(podTemplateHash(template));
    expect(templatesEqualIgnoringHash(changed, template)).toBe(false);
    expect(podTemplateHash(template, 1)).not.toBe(podTemplateHash(template));
  });

  it('ignores nulls and empty objects, which clients like kubectl rollout undo send for absent fields', () => {
    const asKubectlSendsIt = {
      metadata: { creationTimestamp: null, labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'img:1', resources: {} }] },
    };
    expect(templatesEqualIgnoringHash(asKubectlSendsIt as never, template)).toBe(true);
    expect(podTemplateHash(asKubectlSendsIt as never)).toBe(podTemplateHash(template));
    expect(pruneEmpty({ a: null, b: [], c: [{}], d: { e: {} }, f: 0, g: false, h: '' })).toEqual({ f: 0, g: false, h: '' });
  });

  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined }], c: 2 } })).toBe('{"a":{"c":2,"d":[1,{"z":1}]},"b":1}');
  });
});
