/** coordination.k8s.io/v1 Lease. */
import { Doc, t, Field, Nested } from '../../../schema/fields';
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

@Doc('A lock with a holder and a duration: node heartbeats and leader election.')
export class LeaseObject extends TypedObject implements KindShape<types.Lease> {
  @Doc('Who holds the lease and until when.')
  @Nested(() => LeaseSpec) spec?: LeaseSpec;
}
