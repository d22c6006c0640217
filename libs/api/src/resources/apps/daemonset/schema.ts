/** apps/v1 DaemonSet. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { isAbsent, problem, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { countOrPercent, nonNegative, oneOf } from '../../../schema/checks';
import { Condition, LabelSelector, TypedObject } from '../../../schema/meta';
import { PodTemplateSpec } from '../../core/pod/schema';
import type { KindShape } from '../../definition';
import { atMostAllPods, isZero, nonEmptySelector, restartsAlways, templateMatchesSelector } from '../workload';
import type * as types from './types';

const isSet = (value: unknown): boolean => !isAbsent(value) && !isZero(value);

/** Kubernetes' ValidateRollingUpdateDaemonSet: exactly one of maxUnavailable and maxSurge is non-zero. */
const surgeOrUnavailable: Check<number | string> = (surge, rollingUpdate) =>
  isSet(surge) && isSet(rollingUpdate.maxUnavailable)
    ? problem(field.invalid('', surge, 'may not be set when maxUnavailable is non-zero'))
    : undefined;

const unavailableOrSurge: Check<Record<string, unknown>> = (rollingUpdate) =>
  !isSet(rollingUpdate.maxUnavailable) && !isSet(rollingUpdate.maxSurge)
    ? problem(field.required('', 'cannot be 0 when maxSurge is 0'), '.maxUnavailable')
    : undefined;

export class RollingUpdateDaemonSet implements types.RollingUpdateDaemonSet {
  @Field(t.intOrString, countOrPercent, atMostAllPods) maxUnavailable?: number | string;
  @Field(t.intOrString, countOrPercent, atMostAllPods, surgeOrUnavailable) maxSurge?: number | string;
}

const rollingUpdateOnlyForRollingUpdate: Check<Record<string, unknown>> = (_rollingUpdate, strategy) =>
  strategy.type === 'OnDelete' ? problem(field.forbidden('', "may not be specified when strategy `type` is 'OnDelete'")) : undefined;

export class DaemonSetUpdateStrategy implements types.DaemonSetUpdateStrategy {
  @Field(t.string, oneOf(['RollingUpdate', 'OnDelete'])) type?: types.DaemonSetUpdateStrategyType;
  @Nested(() => RollingUpdateDaemonSet, rollingUpdateOnlyForRollingUpdate, unavailableOrSurge) rollingUpdate?: RollingUpdateDaemonSet;
}

export class DaemonSetSpec implements types.DaemonSetSpec {
  @Nested(() => LabelSelector, required, nonEmptySelector('daemonset')) selector!: LabelSelector;
  @Nested(() => PodTemplateSpec, required, templateMatchesSelector, restartsAlways) template!: PodTemplateSpec;
  @Nested(() => DaemonSetUpdateStrategy) updateStrategy?: DaemonSetUpdateStrategy;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Field(t.integer, nonNegative) revisionHistoryLimit?: number;
}

export class DaemonSetStatus implements types.DaemonSetStatus {
  @Field(t.integer, nonNegative) currentNumberScheduled!: number;
  @Field(t.integer, nonNegative) numberMisscheduled!: number;
  @Field(t.integer, nonNegative) desiredNumberScheduled!: number;
  @Field(t.integer, nonNegative) numberReady!: number;
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.integer, nonNegative) updatedNumberScheduled?: number;
  @Field(t.integer, nonNegative) numberAvailable?: number;
  @Field(t.integer, nonNegative) numberUnavailable?: number;
  @Field(t.integer, nonNegative) collisionCount?: number;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class DaemonSetObject extends TypedObject implements KindShape<types.DaemonSet> {
  @Nested(() => DaemonSetSpec, required) spec!: DaemonSetSpec;
  @Nested(() => DaemonSetStatus) status?: DaemonSetStatus;
}
