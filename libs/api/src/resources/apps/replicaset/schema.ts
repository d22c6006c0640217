/** apps/v1 ReplicaSet. */
import { Doc, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { nonNegative } from '../../../schema/checks';
import { Condition, LabelSelector, TypedObject } from '../../../schema/meta';
import { PodTemplateSpec } from '../../core/pod/schema';
import { nonEmptySelector, restartsAlways, templateMatchesSelector } from '../workload';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class ReplicaSetSpec implements types.ReplicaSetSpec {
  @Doc('The number of pods wanted (1 by default).')
  @Field(t.integer, nonNegative) replicas?: number;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Doc('Selects the replica set\'s pods; must match the template\'s labels.')
  @Nested(() => LabelSelector, required, nonEmptySelector('replicaset')) selector!: LabelSelector;
  @Doc('The pods to create.')
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

@Doc('Keeps a number of identical pods running; deployments manage them.')
export class ReplicaSetObject extends TypedObject implements KindShape<types.ReplicaSet> {
  @Doc('The pods wanted: how many, and their template.')
  @Nested(() => ReplicaSetSpec, required) spec!: ReplicaSetSpec;
  @Doc('How many pods there are, and how many are ready and available.')
  @Nested(() => ReplicaSetStatus) status?: ReplicaSetStatus;
}

