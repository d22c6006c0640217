/** v1 ServiceAccount. */
import { t, Field, NestedList } from '../../../schema/fields';
import { LocalObjectReference, ObjectReference, TypedObject } from '../../../schema/meta';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class ServiceAccountObject extends TypedObject implements KindShape<types.ServiceAccount> {
  @NestedList(() => ObjectReference) secrets?: ObjectReference[];
  @NestedList(() => LocalObjectReference) imagePullSecrets?: LocalObjectReference[];
  @Field(t.boolean) automountServiceAccountToken?: boolean;
}
