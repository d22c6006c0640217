import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import type { KubeObject } from '../../../types';
import { AGE, NAME, humanAge, table } from '../../columns';
import { defineResource } from '../../definition';
import { setDefault } from '../../defaulting';
import { sameJson } from '../../immutable';
import { StorageClassObject } from './schema';
import type { StorageClass } from './types';

export type * from './types';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';

export function isDefaultStorageClass(sc: Pick<KubeObject, 'metadata'>): boolean {
  const annotations = sc.metadata.annotations ?? {};
  return annotations[DEFAULT_CLASS_ANNOTATION] === 'true' || annotations[BETA_DEFAULT_CLASS_ANNOTATION] === 'true';
}

function printStorageClass(obj: KubeObject, now: Date): unknown[] {
  return [
    isDefaultStorageClass(obj) ? `${obj.metadata.name} (default)` : obj.metadata.name,
    (obj.provisioner as string | undefined) ?? '',
    (obj.reclaimPolicy as string | undefined) ?? 'Delete',
    (obj.volumeBindingMode as string | undefined) ?? 'Immediate',
    String(obj.allowVolumeExpansion === true),
    humanAge(obj.metadata.creationTimestamp, now),
  ];
}

function classKept(obj: KubeObject, old: KubeObject): FieldCause[] {
  return ['provisioner', 'parameters', 'reclaimPolicy', 'volumeBindingMode']
    .filter((name) => !sameJson(obj[name], old[name]))
    .map((name) => field.forbidden(name, `updates to ${name} are forbidden.`));
}

export const storageClassResource = defineResource<StorageClass>({
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  shortNames: ['sc'],
  namespaced: false,
  schema: StorageClassObject,
  defaults: (sc) => {
    setDefault(sc, 'reclaimPolicy', 'Delete');
    setDefault(sc, 'volumeBindingMode', 'Immediate');
  },
  table: table(
    [
      NAME,
      ['Provisioner', 'string', 'Indicates the type of the provisioner.'],
      ['ReclaimPolicy', 'string', 'Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy.'],
      ['VolumeBindingMode', 'string', 'VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'],
      ['AllowVolumeExpansion', 'string', 'AllowVolumeExpansion shows whether the storage class allow volume expand.'],
      AGE,
    ],
    printStorageClass,
  ),
  strategy: { validateUpdate: classKept },
});
