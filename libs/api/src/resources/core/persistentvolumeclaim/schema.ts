/** core/v1 PersistentVolumeClaim. */
import { required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { oneOf, quantities } from '../../../schema/checks';
import { Condition, LabelSelector, TypedObject } from '../../../schema/meta';
import { accessModes, nonEmptyList, storageAmount } from '../persistentvolume/schema';
import type { PersistentVolumeAccessMode, PersistentVolumeMode } from '../persistentvolume/types';
import type { KindShape } from '../../definition';
import type * as types from './types';

export class VolumeResourceRequirements implements types.VolumeResourceRequirements {
  @Field(t.quantityMap, required, quantities, storageAmount) requests?: Record<string, string>;
  @Field(t.quantityMap, quantities) limits?: Record<string, string>;
}

export class PersistentVolumeClaimSpec implements types.PersistentVolumeClaimSpec {
  @Field(t.stringList, required, nonEmptyList, accessModes) accessModes?: PersistentVolumeAccessMode[];
  @Nested(() => LabelSelector) selector?: LabelSelector;
  @Nested(() => VolumeResourceRequirements, required) resources?: VolumeResourceRequirements;
  @Field(t.string) volumeName?: string;
  @Field(t.string) storageClassName?: string;
  @Field(t.string, oneOf(['Filesystem'])) volumeMode?: PersistentVolumeMode;
  @Field(t.string) volumeAttributesClassName?: string;
}

export class PersistentVolumeClaimStatus implements types.PersistentVolumeClaimStatus {
  @Field(t.string, oneOf(['Pending', 'Bound', 'Lost'])) phase?: types.PersistentVolumeClaimPhase;
  @Field(t.stringList) accessModes?: PersistentVolumeAccessMode[];
  @Field(t.quantityMap) capacity?: Record<string, string>;
  @NestedList(() => Condition) conditions?: types.PersistentVolumeClaimCondition[];
}

export class PersistentVolumeClaimObject extends TypedObject implements KindShape<types.PersistentVolumeClaim> {
  @Nested(() => PersistentVolumeClaimSpec, required) spec!: PersistentVolumeClaimSpec;
  @Nested(() => PersistentVolumeClaimStatus) status?: PersistentVolumeClaimStatus;
}
