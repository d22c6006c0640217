import { applyDefaults } from '../../../defaults';
import * as fixtures from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { admitted, typeNamed } from '../../spec-helpers';

const rendered = (obj: KubeObject, old?: KubeObject) => admitted('persistentvolumeclaims', obj, old);

describe('PersistentVolumeClaim', () => {
  it('is valid with access modes and a storage request', () => {
    expect(rendered(fixtures.persistentVolumeClaimFixture())).toEqual([]);
  });

  it('wants a storage request', () => {
    const pvc = fixtures.persistentVolumeClaimFixture();
    pvc.spec!.resources = { requests: {} };
    expect(rendered(pvc)).toEqual(['spec.resources.requests[storage]: Required value']);
  });

  it('may not change its spec but for the request and the volume the binder names', () => {
    const old = fixtures.persistentVolumeClaimFixture();
    applyDefaults(typeNamed('persistentvolumeclaims'), old);
    const bound = structuredClone(old);
    bound.spec!.volumeName = 'pvc-1';
    bound.spec!.resources = { requests: { storage: '2Gi' } };
    expect(rendered(bound, old)).toEqual([]);
    const changed = structuredClone(old);
    changed.spec!.accessModes = ['ReadWriteMany'];
    expect(rendered(changed, old)).toEqual([expect.stringMatching(/^spec: Forbidden: spec is immutable after creation/)]);
  });
});
