import { applyDefaults } from '../defaults';
import { resourceForKind } from '../registry';
import type { KubeObject } from '../types';
import { validateObject } from '../validation';
import * as fixtures from './storage-fixtures';

function typeOf(obj: KubeObject) {
  return resourceForKind(obj.apiVersion, obj.kind)!;
}

function rendered(obj: KubeObject, old?: KubeObject): string[] {
  applyDefaults(typeOf(obj), obj);
  return validateObject(typeOf(obj), obj, { fieldValidation: 'Strict', old }).causes.map((c) => `${c.field}: ${c.message}`);
}

describe('PersistentVolume', () => {
  it('is valid as a local volume pinned to a node', () => {
    expect(rendered(fixtures.persistentVolumeFixture())).toEqual([]);
  });

  it('defaults Retain and Filesystem', () => {
    const pv = fixtures.persistentVolumeFixture();
    applyDefaults(typeOf(pv), pv);
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
    applyDefaults(typeOf(old), old);
    const next = structuredClone(old);
    next.spec!.local = { path: '/elsewhere' };
    expect(rendered(next, old)).toEqual(['spec.local: Invalid value: {"path":"/elsewhere"}: field is immutable']);
  });
});

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
    applyDefaults(typeOf(old), old);
    const bound = structuredClone(old);
    bound.spec!.volumeName = 'pvc-1';
    bound.spec!.resources = { requests: { storage: '2Gi' } };
    expect(rendered(bound, old)).toEqual([]);
    const changed = structuredClone(old);
    changed.spec!.accessModes = ['ReadWriteMany'];
    expect(rendered(changed, old)).toEqual([expect.stringMatching(/^spec: Forbidden: spec is immutable after creation/)]);
  });
});

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

describe('StatefulSet', () => {
  it('is valid, and defaults as Kubernetes does', () => {
    const sts = fixtures.statefulSetFixture();
    expect(rendered(sts)).toEqual([]);
    expect(sts.spec).toMatchObject({
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    expect(sts.spec!.volumeClaimTemplates![0].spec!.volumeMode).toBe('Filesystem');
  });

  it('wants claim templates named by distinct DNS labels', () => {
    const sts = fixtures.statefulSetFixture();
    const template = sts.spec!.volumeClaimTemplates![0];
    sts.spec!.volumeClaimTemplates = [template, structuredClone(template), { ...structuredClone(template), metadata: { name: 'Bad_Name' } }];
    expect(rendered(sts)).toEqual([
      expect.stringMatching(/^spec.volumeClaimTemplates\[2\].metadata.name: Invalid value: "Bad_Name"/),
      'spec.volumeClaimTemplates[1].metadata.name: Duplicate value: "www"',
    ]);
  });

  it('may change only replicas, template, update strategy and retention after creation', () => {
    const old = fixtures.statefulSetFixture();
    applyDefaults(typeOf(old), old);
    const scaled = structuredClone(old);
    scaled.spec!.replicas = 5;
    scaled.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    expect(rendered(scaled, old)).toEqual([]);
    const renamed = structuredClone(old);
    renamed.spec!.serviceName = 'other';
    expect(rendered(renamed, old)).toEqual([expect.stringMatching(/^spec: Forbidden: updates to statefulset spec for fields other than/)]);
  });
});
