/** storage.k8s.io/v1 StorageClass. */
import { required, t, Field } from '../../../schema/fields';
import { oneOf } from '../../../schema/checks';
import { TypedObject } from '../../../schema/meta';
import { qualifiedNameErrors, syntax } from '../../../schema/syntax';
import { RECLAIM_POLICIES } from '../../core/persistentvolume/schema';
import type { PersistentVolumeReclaimPolicy } from '../../core/persistentvolume/types';
import type { KindShape } from '../../definition';
import type * as types from './types';

export class StorageClassObject extends TypedObject implements KindShape<types.StorageClass> {
  @Field(t.string, required, syntax(qualifiedNameErrors)) provisioner!: string;
  @Field(t.stringMap) parameters?: Record<string, string>;
  @Field(t.string, oneOf(RECLAIM_POLICIES)) reclaimPolicy?: PersistentVolumeReclaimPolicy;
  @Field(t.stringList) mountOptions?: string[];
  @Field(t.boolean) allowVolumeExpansion?: boolean;
  @Field(t.string, oneOf(['Immediate', 'WaitForFirstConsumer'])) volumeBindingMode?: types.VolumeBindingMode;
  @Field(t.objectList) allowedTopologies?: Record<string, unknown>[];
}
