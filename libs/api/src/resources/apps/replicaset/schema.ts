/** apps/v1 ReplicaSet. */
import { required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { nonNegative } from '../../../schema/checks';
import { Condition, LabelSelector, TypedObject } from '../../../schema/meta';
import { PodTemplateSpec } from '../../core/pod/schema';
import { nonEmptySelector, restartsAlways, templateMatchesSelector } from '../workload';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class ReplicaSetSpec implements types.ReplicaSetSpec {
  @Field(t.integer, nonNegative) replicas?: number;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Nested(() => LabelSelector, required, nonEmptySelector('replicaset')) selector!: LabelSelector;
  @Nested(() => PodTemplateSpec, required, templateMatchesSelector, restartsAlways) template!: PodTemplateSpec;
}

export class ReplicaSetStatus implements types.ReplicaSetStatus {
  @Field(t.integer, nonNegative) replicas?: number;
  @Field(t.integer, nonNegative) fullyLabeledReplicas?: number;
  @Field(t.integer, nonNegative) readyReplicas?: number;
  @Field(t.integer, nonNegative) availableReplicas?: number;
  @Field(t.integer, nonNegative) terminatingReplicas?: number;
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class ReplicaSetObject extends TypedObject implements KindShape<types.ReplicaSet> {
  @Nested(() => ReplicaSetSpec, required) spec!: ReplicaSetSpec;
  @Nested(() => ReplicaSetStatus) status?: ReplicaSetStatus;
}

