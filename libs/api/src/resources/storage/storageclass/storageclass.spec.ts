import { applyDefaults } from '../../../defaults';
import { resourceForKind } from '../../../registry';
import type { KubeObject } from '../../../types';
import { validateObject } from '../../../validation';
import * as fixtures from '../../../schema/fixtures';

function typeOf(obj: KubeObject) {
  return resourceForKind(obj.apiVersion, obj.kind)!;
}

function rendered(obj: KubeObject, old?: KubeObject): string[] {
  applyDefaults(typeOf(obj), obj);
  return validateObject(typeOf(obj), obj, { fieldValidation: 'Strict', old }).causes.map((c) => `${c.field}: ${c.message}`);
}

describe('StorageClass', () => {
  it('is valid, and defaults Delete and Immediate', () => {
    const sc = fixtures.storageClassFixture();
    delete sc.reclaimPolicy;
    delete sc.volumeBindingMode;
    expect(rendered(sc)).toEqual([]);
    expect(sc).toMatchObject({ reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
  });

  it('refuses a change of provisioner or binding mode', () => {
    const old = fixtures.storageClassFixture();
    const next = { ...structuredClone(old), volumeBindingMode: 'Immediate' as const };
    expect(rendered(next, old)).toEqual(['volumeBindingMode: Forbidden: updates to volumeBindingMode are forbidden.']);
  });
});
