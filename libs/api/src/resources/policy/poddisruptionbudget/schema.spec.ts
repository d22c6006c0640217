import type { FieldCause } from '@berth/errors';
import { resourceForKind } from '../../../registry';
import { podDisruptionBudgetFixture } from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { validateObject } from '../../../validation';

function causes(obj: KubeObject): string[] {
  const type = resourceForKind(obj.apiVersion, obj.kind)!;
  return validateObject(type, obj, { fieldValidation: 'Strict' }).causes.map((c: FieldCause) => `${c.field}: ${c.message}`);
}

describe('PodDisruptionBudget validation', () => {
  const budget = (spec: Record<string, unknown>) => ({ ...podDisruptionBudgetFixture(), spec: { selector: { matchLabels: { app: 'web' } }, ...spec } });

  it('accepts counts and percentages, and neither', () => {
    for (const spec of [{ minAvailable: 2 }, { maxUnavailable: '25%' }, { maxUnavailable: 0 }, {}]) expect(causes(budget(spec))).toEqual([]);
  });

  it('refuses both bounds at once, negative counts, percentages over 100% and unknown policies', () => {
    expect(causes(budget({ minAvailable: 1, maxUnavailable: 1 }))).toEqual(['spec.maxUnavailable: Invalid value: 1: minAvailable and maxUnavailable cannot be both set']);
    expect(causes(budget({ minAvailable: -1 }))).toEqual(['spec.minAvailable: Invalid value: -1: must be greater than or equal to 0']);
    expect(causes(budget({ maxUnavailable: '150%' }))).toEqual(['spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%']);
    expect(causes(budget({ maxUnavailable: 'half' }))).toHaveLength(1);
    expect(causes(budget({ unhealthyPodEvictionPolicy: 'Never' }))[0]).toMatch(/^spec.unhealthyPodEvictionPolicy: Unsupported value: "Never"/);
    expect(causes({ ...podDisruptionBudgetFixture(), spec: undefined })).toEqual(['spec: Required value']);
  });
});
