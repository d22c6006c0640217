import type { FieldCause } from '@berth/errors';
import { resourceForKind } from '../../../registry';
import { serviceAccountFixture } from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { validateObject } from '../../../validation';

function causes(obj: KubeObject): string[] {
  const type = resourceForKind(obj.apiVersion, obj.kind)!;
  return validateObject(type, obj, { fieldValidation: 'Strict' }).causes.map((c: FieldCause) => `${c.field}: ${c.message}`);
}

describe('ServiceAccount validation', () => {
  it('checks the types of its fields', () => {
    expect(causes(serviceAccountFixture())).toEqual([]);
    expect(causes({ ...serviceAccountFixture(), automountServiceAccountToken: 'yes' })).toEqual(['automountServiceAccountToken: Invalid value: "yes": must be of type boolean']);
    expect(causes({ ...serviceAccountFixture(), secrets: [{ name: 3 }] })).toEqual(['secrets[0].name: Invalid value: 3: must be of type string']);
  });
});
