/** What an update of a storage kind or a StatefulSet may not change (Kubernetes' ValidateXUpdate). */
import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import type { KubeObject } from '../types';
import { isAbsent, isPlainObject } from './fields';
import { sameJson } from './updates';


function specOf(obj: KubeObject): Record<string, unknown> {
  return isPlainObject(obj.spec) ? obj.spec : {};
}

/** A claim's spec is fixed once made, but for a larger request and the volume the binder names. */
export function persistentVolumeClaimUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const comparable = {
    ...spec,
    resources: before.resources,
    // A claim without a class gets the default one later (retroactive default StorageClass assignment).
    storageClassName: isAbsent(before.storageClassName) ? before.storageClassName : spec.storageClassName,
    volumeName: isAbsent(before.volumeName) || before.volumeName === '' ? before.volumeName : spec.volumeName };
  if (!sameJson(comparable, before)) return [field.forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims')];
  return [];
}

/** A PersistentVolume's source, once made, is what the data is: it may not move. */
export function persistentVolumeUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const causes: FieldCause[] = [];
  for (const name of ['hostPath', 'local', 'nodeAffinity']) {
    if (!sameJson(spec[name], before[name])) causes.push(field.invalid(`spec.${name}`, spec[name] ?? null, 'field is immutable'));
  }
  return causes;
}

export function storageClassUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  return ['provisioner', 'parameters', 'reclaimPolicy', 'volumeBindingMode']
    .filter((name) => !sameJson(obj[name], old[name]))
    .map((name) => field.forbidden(name, 'updates to ' + name + ' are forbidden.'));
}

const STATEFULSET_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'revisionHistoryLimit'];

export function statefulSetUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = { ...specOf(obj) };
  const before = { ...specOf(old) };
  for (const name of STATEFULSET_MUTABLE) {
    delete spec[name];
    delete before[name];
  }
  if (sameJson(spec, before)) return [];
  return [
    field.forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export const STORAGE_UPDATE_RULES: Readonly<Record<string, (obj: KubeObject, old: KubeObject) => FieldCause[]>> = {
  '/PersistentVolume': persistentVolumeUpdate,
  '/PersistentVolumeClaim': persistentVolumeClaimUpdate,
  'storage.k8s.io/StorageClass': storageClassUpdate,
  'apps/StatefulSet': statefulSetUpdate,
};
