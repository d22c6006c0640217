/** coordination.k8s.io/v1 Lease. */
import { t, Field, Nested } from '../../../schema/fields';
import { greaterThan, nonNegative } from '../../../schema/checks';
import { TypedObject } from '../../../schema/meta';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class LeaseSpec implements types.LeaseSpec {
  @Field(t.string) holderIdentity?: string;
  @Field(t.integer, greaterThan(0)) leaseDurationSeconds?: number;
  @Field(t.string) acquireTime?: string;
  @Field(t.string) renewTime?: string;
  @Field(t.integer, nonNegative) leaseTransitions?: number;
  @Field(t.string) strategy?: string;
  @Field(t.string) preferredHolder?: string;
}

export class LeaseObject extends TypedObject implements KindShape<types.Lease> {
  @Nested(() => LeaseSpec) spec?: LeaseSpec;
}
