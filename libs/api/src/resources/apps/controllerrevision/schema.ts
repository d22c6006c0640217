/** apps/v1 ControllerRevision. */
import { required, t, Field } from '../../../schema/fields';
import { nonNegative } from '../../../schema/checks';
import { TypedObject } from '../../../schema/meta';
import type { KindShape } from '../../definition';
import type * as types from './types';

export class ControllerRevisionObject extends TypedObject implements KindShape<types.ControllerRevision> {
  /** Any JSON object: the owner's patch that restores its template. Required, as Kubernetes' validation says. */
  @Field(t.object, required) data?: Record<string, unknown>;
  /** Go's int64: absent is 0. */
  @Field(t.integer, nonNegative) revision!: number;
}
