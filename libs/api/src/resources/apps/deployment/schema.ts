/** apps/v1 Deployment. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { Doc, problem, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { countOrPercent, nonNegative, oneOf } from '../../../schema/checks';
import { Condition, LabelSelector, TypedObject } from '../../../schema/meta';
import { PodTemplateSpec } from '../../core/pod/schema';
import { atMostAllPods, isZero, nonEmptySelector, restartsAlways, templateMatchesSelector } from '../workload';
import type * as types from './types';
import type { KindShape } from '../../definition';

/** A rollout that may neither add nor remove a pod could never progress. */
const notBothZero: Check<number | string> = (value, rollingUpdate) =>
  isZero(value) && isZero(rollingUpdate.maxSurge ?? 0)
    ? problem(field.invalid('', value, 'may not be 0 when `maxSurge` is 0'))
    : undefined;

export class RollingUpdateDeployment implements types.RollingUpdateDeployment {
  @Field(t.intOrString, countOrPercent, atMostAllPods, notBothZero) maxUnavailable?: number | string;
  @Field(t.intOrString, countOrPercent) maxSurge?: number | string;
}

const onlyForRollingUpdate: Check<Record<string, unknown>> = (_rollingUpdate, strategy) =>
  strategy.type === 'Recreate'
    ? problem(field.forbidden('', "may not be specified when strategy `type` is 'Recreate'"))
    : undefined;

export class DeploymentStrategy implements types.DeploymentStrategy {
  @Field(t.string, oneOf(['Recreate', 'RollingUpdate'])) type?: types.DeploymentStrategy['type'];
  @Nested(() => RollingUpdateDeployment, onlyForRollingUpdate) rollingUpdate?: RollingUpdateDeployment;
}

const beyondMinReady: Check<number> = (value, spec) =>
  typeof spec.minReadySeconds === 'number' && value <= spec.minReadySeconds
    ? problem(field.invalid('', value, 'must be greater than minReadySeconds'))
    : undefined;

export class DeploymentSpec implements types.DeploymentSpec {
  @Doc('The number of pods wanted (1 by default).')
  @Field(t.integer, nonNegative) replicas?: number;
  @Doc('Selects the deployment\'s pods; must match the template\'s labels and cannot change.')
  @Nested(() => LabelSelector, required, nonEmptySelector('deployment')) selector!: LabelSelector;
  @Doc('The pods to create.')
  @Nested(() => PodTemplateSpec, required, templateMatchesSelector, restartsAlways) template!: PodTemplateSpec;
  @Doc('How old pods are replaced by new ones: RollingUpdate (default) or Recreate.')
  @Nested(() => DeploymentStrategy) strategy?: DeploymentStrategy;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Doc('Old ReplicaSets kept for rollback (10 by default).')
  @Field(t.integer, nonNegative) revisionHistoryLimit?: number;
  @Doc('When true, template changes are not rolled out.')
  @Field(t.boolean) paused?: boolean;
  @Field(t.integer, nonNegative, beyondMinReady) progressDeadlineSeconds?: number;
}

export class DeploymentStatus implements types.DeploymentStatus {
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.integer, nonNegative) replicas?: number;
  @Field(t.integer, nonNegative) updatedReplicas?: number;
  @Field(t.integer, nonNegative) readyReplicas?: number;
  @Field(t.integer, nonNegative) availableReplicas?: number;
  @Field(t.integer, nonNegative) unavailableReplicas?: number;
  @Field(t.integer, nonNegative) terminatingReplicas?: number;
  @NestedList(() => Condition) conditions?: Condition[];
  @Field(t.integer, nonNegative) collisionCount?: number;
}

@Doc('Keeps a number of identical pods running and rolls them over to a new template through ReplicaSets.')
export class DeploymentObject extends TypedObject implements KindShape<types.Deployment> {
  @Doc('The pods wanted: how many, their template, and how to roll out a new one.')
  @Nested(() => DeploymentSpec, required) spec!: DeploymentSpec;
  @Doc('How the rollout stands: replicas updated, ready and available.')
  @Nested(() => DeploymentStatus) status?: DeploymentStatus;
}
