/** policy/v1 PodDisruptionBudget. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { isAbsent, problem, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { countOrPercent, nonNegative, oneOf } from '../../../schema/checks';
import { Condition, LabelSelector, TypedObject } from '../../../schema/meta';
import type * as types from './types';
import type { KindShape } from '../../definition';

const atMostAll: Check<number | string> = (value) =>
  typeof value === 'string' && /^[0-9]+%$/.test(value) && parseInt(value, 10) > 100
    ? problem(field.invalid('', value, 'must not be greater than 100%'))
    : undefined;

/** A budget is either a floor or a ceiling: both at once would say two things. */
const notWithMinAvailable: Check<number | string> = (value, spec) =>
  isAbsent(spec.minAvailable) ? undefined : problem(field.invalid('', value, 'minAvailable and maxUnavailable cannot be both set'));

export class PodDisruptionBudgetSpec implements types.PodDisruptionBudgetSpec {
  @Field(t.intOrString, countOrPercent, atMostAll) minAvailable?: number | string;
  @Field(t.intOrString, countOrPercent, atMostAll, notWithMinAvailable) maxUnavailable?: number | string;
  @Nested(() => LabelSelector) selector?: LabelSelector;
  @Field(t.string, oneOf(['IfHealthyBudget', 'AlwaysAllow'])) unhealthyPodEvictionPolicy?: types.UnhealthyPodEvictionPolicy;
}

export class PodDisruptionBudgetStatus implements types.PodDisruptionBudgetStatus {
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.stringMap) disruptedPods?: Record<string, string>;
  @Field(t.integer, nonNegative) disruptionsAllowed!: number;
  @Field(t.integer, nonNegative) currentHealthy!: number;
  @Field(t.integer, nonNegative) desiredHealthy!: number;
  @Field(t.integer, nonNegative) expectedPods!: number;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class PodDisruptionBudgetObject extends TypedObject implements KindShape<types.PodDisruptionBudget> {
  @Nested(() => PodDisruptionBudgetSpec, required) spec!: PodDisruptionBudgetSpec;
  @Nested(() => PodDisruptionBudgetStatus) status?: PodDisruptionBudgetStatus;
}
