import { applyDefaults } from '../../../defaults';
import * as fixtures from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { admitted, typeNamed } from '../../spec-helpers';

const rendered = (obj: KubeObject, old?: KubeObject) => admitted('persistentvolumes', obj, old);

describe('PersistentVolume', () => {
  it('is valid as a local volume pinned to a node', () => {
    expect(rendered(fixtures.persistentVolumeFixture())).toEqual([]);
  });

  it('defaults Retain and Filesystem', () => {
    const pv = fixtures.persistentVolumeFixture();
    applyDefaults(typeNamed('persistentvolumes'), pv);
    expect(pv.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Retain', volumeMode: 'Filesystem' });
  });

  it('wants a storage capacity, access modes, one source and node affinity for local', () => {
    const pv = fixtures.persistentVolumeFixture();
    pv.spec = { capacity: { cpu: '1' }, accessModes: ['ReadWriteEverywhere' as never], local: { path: 'relative/../x' } };
    expect(rendered(pv)).toEqual(
      expect.arrayContaining([
        'spec.capacity[storage]: Required value',
        expect.stringMatching(/^spec.accessModes\[0\]: Unsupported value: "ReadWriteEverywhere"/),
        'spec.local.path: Invalid value: "relative/../x": must be an absolute path without ".."',
        'spec.nodeAffinity: Required value: Local volume requires node affinity',
      ]),
    );
    pv.spec = { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] };
    expect(rendered(pv)).toEqual(['spec: Required value: must specify a volume type']);
    pv.spec = { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/a' }, local: { path: '/b' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }] } } };
    expect(rendered(pv)).toEqual(['spec.local: Forbidden: may not specify more than 1 volume type']);
  });

  it('keeps its source once made', () => {
    const old = fixtures.persistentVolumeFixture();
    applyDefaults(typeNamed('persistentvolumes'), old);
    const next = structuredClone(old);
    next.spec!.local = { path: '/elsewhere' };
    expect(rendered(next, old)).toEqual(['spec.local: Invalid value: {"path":"/elsewhere"}: field is immutable']);
  });
});
