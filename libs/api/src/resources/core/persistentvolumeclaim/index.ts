import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import { isAbsent } from '../../../schema/fields';
import type { KubeObject } from '../../../types';
import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { CONDITIONS, LABEL_SELECTOR, objectMerge, struct } from '../../merge';
import { child, isObj, quantitiesAsStrings, setDefault, type Obj } from '../../defaulting';
import { sameJson, specOf } from '../../immutable';
import { accessModesText } from '../persistentvolume';
import { PersistentVolumeClaimObject } from './schema';
import type { PersistentVolumeClaim } from './types';

export type * from './types';

/** A claim's spec as Kubernetes defaults it; StatefulSet claim templates get the same. */
export function defaultClaimSpec(spec: Obj): void {
  setDefault(spec, 'volumeMode', 'Filesystem');
  if (isObj(spec.resources)) {
    quantitiesAsStrings(spec.resources.requests);
    quantitiesAsStrings(spec.resources.limits);
  }
}

function printPersistentVolumeClaim(obj: KubeObject, now: Date): unknown[] {
  const { spec = {}, status = {} } = view<PersistentVolumeClaim>(obj);
  const bound = status.phase === 'Bound';
  return [
    obj.metadata.name,
    status.phase ?? '',
    spec.volumeName ?? '',
    bound ? (status.capacity?.storage ?? '') : '',
    bound ? accessModesText(status.accessModes) : '',
    spec.storageClassName ?? '',
    spec.volumeAttributesClassName || '<unset>',
    humanAge(obj.metadata.creationTimestamp, now),
    spec.volumeMode ?? '',
  ];
}

/** A claim's spec is fixed once made, but for a larger request, the volume the binder names and a class given to a claim without one. */
function specKept(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const comparable = {
    ...spec,
    resources: before.resources,
    // Retroactive default StorageClass assignment (Kubernetes 1.28+): a claim without a class gets the default later.
    storageClassName: isAbsent(before.storageClassName) ? before.storageClassName : spec.storageClassName,
    volumeName: isAbsent(before.volumeName) || before.volumeName === '' ? before.volumeName : spec.volumeName,
  };
  return sameJson(comparable, before) ? [] : [field.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims')];
}

export const persistentVolumeClaimResource = defineResource<PersistentVolumeClaim>({
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  shortNames: ['pvc'],
  subresources: ['status'],
  schema: PersistentVolumeClaimObject,
  mergeSchema: objectMerge({
    spec: struct({ selector: LABEL_SELECTOR }),
    status: struct({ conditions: CONDITIONS }),
  }),
  defaults: (pvc) => {
    const spec = child(pvc, 'spec');
    if (spec) defaultClaimSpec(spec);
  },
  table: table(
    [
      NAME,
      ['Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'],
      ['Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'],
      ['Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'],
      ['Access Modes', 'string', 'accessModes contains the desired access modes the volume should have.'],
      ['StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'],
      ['VolumeAttributesClass', 'string', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.'],
      AGE,
      ['VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', { wide: true }],
    ],
    printPersistentVolumeClaim,
  ),
  strategy: {
    // The PV controller binds claims: a new one is Pending.
    prepareForCreate: (pvc) => {
      pvc.status = { phase: 'Pending' };
    },
    validateUpdate: specKept,
  },
});
