/** v1 ServiceAccount and policy/v1 PodDisruptionBudget. */
import { field } from '@berth/errors';
import type { PodDisruptionBudgetSpec, PodDisruptionBudgetStatus, ServiceAccount } from '../accounts';
import type { KubeObject } from '../types';
import type { Check } from './fields';
import { isAbsent, problem, required, t, Field, Nested, NestedList } from './fields';
import { countOrPercent, nonNegative, oneOf } from './checks';
import { Condition, LabelSelector, LocalObjectReference, ObjectReference, TypedObject } from './meta';

/** The kind's own fields implement its type; metadata's schema class is shared by every kind. */
export class ServiceAccountObject extends TypedObject implements Omit<ServiceAccount, keyof KubeObject> {
  @NestedList(() => ObjectReference) secrets?: ObjectReference[];
  @NestedList(() => LocalObjectReference) imagePullSecrets?: LocalObjectReference[];
  @Field(t.boolean) automountServiceAccountToken?: boolean;
}

const atMostAll: Check<number | string> = (value) =>
  typeof value === 'string' && /^[0-9]+%$/.test(value) && parseInt(value, 10) > 100
    ? problem(field.invalid('', value, 'must not be greater than 100%'))
    : undefined;

/** A budget is either a floor or a ceiling: both at once would say two things. */
const notWithMinAvailable: Check<number | string> = (value, spec) =>
  isAbsent(spec.minAvailable) ? undefined : problem(field.invalid('', value, 'minAvailable and maxUnavailable cannot be both set'));

/** The selector's schema class (shared with the workloads) types operators as strings, the type as a union. */
export class PodDisruptionBudgetSpecFields implements Omit<PodDisruptionBudgetSpec, 'selector'> {
  @Field(t.intOrString, countOrPercent, atMostAll) minAvailable?: number | string;
  @Field(t.intOrString, countOrPercent, atMostAll, notWithMinAvailable) maxUnavailable?: number | string;
  @Nested(() => LabelSelector) selector?: LabelSelector;
  @Field(t.string, oneOf(['IfHealthyBudget', 'AlwaysAllow'])) unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow';
}

export class PodDisruptionBudgetStatusFields implements PodDisruptionBudgetStatus {
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.stringMap) disruptedPods?: Record<string, string>;
  @Field(t.integer, nonNegative) disruptionsAllowed!: number;
  @Field(t.integer, nonNegative) currentHealthy!: number;
  @Field(t.integer, nonNegative) desiredHealthy!: number;
  @Field(t.integer, nonNegative) expectedPods!: number;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class PodDisruptionBudgetObject extends TypedObject {
  @Nested(() => PodDisruptionBudgetSpecFields, required) spec!: PodDisruptionBudgetSpecFields;
  @Nested(() => PodDisruptionBudgetStatusFields) status?: PodDisruptionBudgetStatusFields;
}
