import { applyDefaults } from '../../../defaults';
import * as fixtures from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { admitted, typeNamed } from '../../spec-helpers';

const rendered = (obj: KubeObject, old?: KubeObject) => admitted('statefulsets', obj, old);

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
    applyDefaults(typeNamed('statefulsets'), old);
    const scaled = structuredClone(old);
    scaled.spec!.replicas = 5;
    scaled.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    expect(rendered(scaled, old)).toEqual([]);
    const renamed = structuredClone(old);
    renamed.spec!.serviceName = 'other';
    expect(rendered(renamed, old)).toEqual([expect.stringMatching(/^spec: Forbidden: updates to statefulset spec for fields other than/)]);
  });
});
