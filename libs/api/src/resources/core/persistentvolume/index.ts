import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import type { KubeObject } from '../../../types';
import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { child, isObj, quantitiesAsStrings, setDefault } from '../../defaulting';
import { sameJson, specOf } from '../../immutable';
import { PersistentVolumeObject } from './schema';
import type { PersistentVolume } from './types';

export type * from './types';

/** Kubernetes' short names of access modes, as kubectl prints them. */
const ACCESS_MODE_SHORT: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

export function accessModesText(modes: unknown): string {
  return Array.isArray(modes) ? modes.map((mode) => ACCESS_MODE_SHORT[String(mode)] ?? String(mode)).join(',') : '';
}

function printPersistentVolume(obj: KubeObject, now: Date): unknown[] {
  const { spec = {}, status = {} } = view<PersistentVolume>(obj);
  const claim = spec.claimRef?.name ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name}` : '';
  return [
    obj.metadata.name,
    spec.capacity?.storage ?? '',
    accessModesText(spec.accessModes),
    spec.persistentVolumeReclaimPolicy ?? '',
    status.phase ?? '',
    claim,
    spec.storageClassName ?? '',
    spec.volumeAttributesClassName || '<unset>',
    status.reason ?? '',
    humanAge(obj.metadata.creationTimestamp, now),
    spec.volumeMode ?? '',
  ];
}

/** A PersistentVolume's source, once made, is where the data is: it may not move. */
function sourceKept(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  return ['hostPath', 'local', 'nodeAffinity']
    .filter((name) => !sameJson(spec[name], before[name]))
    .map((name) => field.invalid(`spec.${name}`, spec[name] ?? null, 'field is immutable'));
}

export const persistentVolumeResource = defineResource<PersistentVolume>({
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  shortNames: ['pv'],
  namespaced: false,
  subresources: ['status'],
  schema: PersistentVolumeObject,
  defaults: (pv) => {
    const spec = child(pv, 'spec');
    if (!spec) return;
    setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
    setDefault(spec, 'volumeMode', 'Filesystem');
    if (isObj(spec.hostPath)) setDefault(spec.hostPath, 'type', '');
    quantitiesAsStrings(spec.capacity);
  },
  table: table(
    [
      NAME,
      ['Capacity', 'string', "capacity is the description of the persistent volume's resources and capacity."],
      ['Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'],
      ['Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'],
      ['Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'],
      ['Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'],
      ['StorageClass', 'string', 'storageClassName is the name of StorageClass to which this persistent volume belongs.'],
      ['VolumeAttributesClass', 'string', 'Name of VolumeAttributesClass to which this persistent volume belongs.'],
      ['Reason', 'string', 'reason is a brief CamelCase string that describes any failure.'],
      AGE,
      ['VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', { wide: true }],
    ],
    printPersistentVolume,
  ),
  strategy: {
    // The PV controller decides the phase: a new volume is Pending until it has looked at it.
    prepareForCreate: (pv) => {
      pv.status = { phase: 'Pending' };
    },
    validateUpdate: sourceKept,
  },
});
