import * as fixtures from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { admitted } from '../../spec-helpers';

const rendered = (obj: KubeObject, old?: KubeObject) => admitted('storageclasses', obj, old);

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
