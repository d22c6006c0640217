/** core/v1 PersistentVolume, and the rules its claims share (access modes, a storage amount). */
import { field } from '@berth/errors';
import { isQuantity, parseQuantity } from '../../../quantity';
import type { Check } from '../../../schema/fields';
import { isPlainObject, problem, required, t, Field, Nested } from '../../../schema/fields';
import { exactlyOneOf, oneOf, quantities } from '../../../schema/checks';
import { ObjectReference, TypedObject } from '../../../schema/meta';
import { HostPathVolumeSource, NodeSelector } from '../pod/schema';
import type { KindShape } from '../../definition';
import type * as types from './types';

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;
export const RECLAIM_POLICIES = ['Retain', 'Delete'] as const;

export const accessModes: Check<string[]> = (modes) => {
  const problems = modes.flatMap((mode, i) => (ACCESS_MODES.includes(mode as never) ? [] : [problem(field.notSupported('', mode, ACCESS_MODES), `[${i}]`)]));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) problems.push(problem(field.forbidden('', 'may not use ReadWriteOncePod with other access modes')));
  return problems;
};

/** `storage` is the one resource a volume has; it must be a positive quantity. */
export const storageAmount: Check<Record<string, string | number>> = (list) => {
  const storage = list.storage;
  if (storage === undefined || storage === null) return problem(field.required('', ''), '[storage]');
  if (isQuantity(storage) && parseQuantity(storage) <= 0) return problem(field.invalid('', storage, 'must be greater than zero'), '[storage]');
  return Object.keys(list)
    .filter((name) => name !== 'storage')
    .map((name) => problem(field.notSupported('', name, ['storage']), `[${name}]`));
};

export const nonEmptyList: Check<unknown[]> = (list) => (list.length ? undefined : problem(field.required('', '')));

const absolutePath: Check<string> = (path) =>
  path.startsWith('/') && !path.split('/').includes('..') ? undefined : problem(field.invalid('', path, 'must be an absolute path without ".."'));

export class LocalVolumeSource implements types.LocalVolumeSource {
  @Field(t.string, required, absolutePath) path!: string;
  @Field(t.string) fsType?: string;
}

export class VolumeNodeAffinity implements types.VolumeNodeAffinity {
  @Nested(() => NodeSelector) required?: NodeSelector;
}

const pvSource = exactlyOneOf(['hostPath', 'local'], 'must specify a volume type', 'may not specify more than 1 volume type');
/** The sources berth's nodes can mount: a directory of the node (hostPath, local). */
const oneSource: Check<Record<string, unknown>> = (spec) => pvSource(spec, '');

/** A local volume is on one node: which one is part of the volume. */
const localNeedsAffinity: Check<Record<string, unknown>> = (spec) =>
  !isPlainObject(spec.local) || (isPlainObject(spec.nodeAffinity) && isPlainObject(spec.nodeAffinity.required))
    ? undefined
    : problem(field.required('', 'Local volume requires node affinity'), '.nodeAffinity');

const hostPathAbsolute: Check<Record<string, unknown>> = (hostPath) =>
  typeof hostPath.path === 'string' && absolutePath(hostPath.path, hostPath) ? problem(field.invalid('', hostPath.path, 'must be an absolute path without ".."'), '.path') : undefined;

export class PersistentVolumeSpec implements types.PersistentVolumeSpec {
  @Field(t.quantityMap, required, quantities, storageAmount) capacity?: Record<string, string>;
  @Field(t.stringList, required, nonEmptyList, accessModes) accessModes?: types.PersistentVolumeAccessMode[];
  @Nested(() => ObjectReference) claimRef?: ObjectReference;
  @Field(t.string, oneOf(RECLAIM_POLICIES)) persistentVolumeReclaimPolicy?: types.PersistentVolumeReclaimPolicy;
  @Field(t.string) storageClassName?: string;
  @Field(t.stringList) mountOptions?: string[];
  @Field(t.string, oneOf(['Filesystem'])) volumeMode?: types.PersistentVolumeMode;
  @Nested(() => VolumeNodeAffinity) nodeAffinity?: VolumeNodeAffinity;
  @Field(t.string) volumeAttributesClassName?: string;
  @Nested(() => HostPathVolumeSource, hostPathAbsolute) hostPath?: HostPathVolumeSource;
  @Nested(() => LocalVolumeSource) local?: LocalVolumeSource;
}

export class PersistentVolumeStatus implements types.PersistentVolumeStatus {
  @Field(t.string, oneOf(['Pending', 'Available', 'Bound', 'Released', 'Failed'])) phase?: types.PersistentVolumePhase;
  @Field(t.string) message?: string;
  @Field(t.string) reason?: string;
  @Field(t.string) lastPhaseTransitionTime?: string;
}

export class PersistentVolumeObject extends TypedObject implements KindShape<types.PersistentVolume> {
  @Nested(() => PersistentVolumeSpec, required, oneSource, localNeedsAffinity) spec!: PersistentVolumeSpec;
  @Nested(() => PersistentVolumeStatus) status?: PersistentVolumeStatus;
}
