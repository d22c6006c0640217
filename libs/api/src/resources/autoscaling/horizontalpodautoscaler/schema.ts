/** autoscaling/v2 and autoscaling/v1 HorizontalPodAutoscaler, with Kubernetes' validation rules. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { Doc, problem, required, requiredIf, t, Field, Nested, NestedList } from '../../../schema/fields';
import { atLeast, between, greaterThan, nonNegative, oneOf, quantity } from '../../../schema/checks';
import { Condition, TypedObject } from '../../../schema/meta';
import { parseQuantity } from '../../../quantity';
import type * as types from './types';
import type { KindShape } from '../../definition';

/** Kubernetes' bounds on behavior (validation.go): a window of at most an hour, a period of at most 30 minutes. */
export const MAX_STABILIZATION_WINDOW_SECONDS = 3600;
export const MAX_PERIOD_SECONDS = 1800;

export class CrossVersionObjectReference implements types.CrossVersionObjectReference {
  @Field(t.string, required) kind!: string;
  @Field(t.string, required) name!: string;
  @Field(t.string) apiVersion?: string;
}

const positiveQuantity: Check<string> = (value, owner) => {
  const bad = quantity(value, owner);
  if (bad) return bad;
  return parseQuantity(value) > 0 ? undefined : problem(field.invalid('', value, 'must be positive'));
};

/** What each target type needs: Utilization a percentage, AverageValue and Value a quantity. */
const targetNeeds = (type: types.MetricTargetType) => (owner: Record<string, unknown>) => owner.type === type;

export class MetricTarget implements types.MetricTarget {
  @Field(t.string, required, oneOf(['Utilization', 'Value', 'AverageValue'])) type!: types.MetricTargetType;
  @Field(t.string, requiredIf(targetNeeds('Value')), positiveQuantity) value?: string;
  @Field(t.string, requiredIf(targetNeeds('AverageValue')), positiveQuantity) averageValue?: string;
  @Doc('The target of the average over the pods, in percent of their requests.')
  @Field(t.integer, requiredIf(targetNeeds('Utilization')), greaterThan(0)) averageUtilization?: number;
}

/** Resource metrics are averages over the pods: a total Value has no meaning there. */
const averagedTarget: Check<Record<string, unknown>> = (target) =>
  target.type === 'Value' ? problem(field.invalid('', target.type, 'must be either Utilization or AverageValue'), '.type') : undefined;

export class ResourceMetricSource implements types.ResourceMetricSource {
  @Doc('The resource: cpu or memory.')
  @Field(t.string, required, oneOf(['cpu', 'memory'])) name!: string;
  @Nested(() => MetricTarget, required, averagedTarget) target!: MetricTarget;
}

export class ContainerResourceMetricSource implements types.ContainerResourceMetricSource {
  @Field(t.string, required, oneOf(['cpu', 'memory'])) name!: string;
  @Field(t.string, required) container!: string;
  @Nested(() => MetricTarget, required, averagedTarget) target!: MetricTarget;
}

const sourceIs = (type: types.MetricSourceType) => (owner: Record<string, unknown>) => owner.type === type;
const onlyFor =
  (type: types.MetricSourceType): Check<Record<string, unknown>> =>
  (_value, owner) =>
    owner.type === type ? undefined : problem(field.forbidden('', `must populate information for the given metric source (only "${type}" takes this field)`));

export class MetricSpec implements types.MetricSpec {
  @Doc('Resource (of whole pods) or ContainerResource (of one container); Pods, Object and External metrics need a custom metrics API berth does not serve.')
  @Field(t.string, required, oneOf(['Resource', 'ContainerResource'])) type!: types.MetricSourceType;
  @Nested(() => ResourceMetricSource, requiredIf(sourceIs('Resource')), onlyFor('Resource')) resource?: ResourceMetricSource;
  @Nested(() => ContainerResourceMetricSource, requiredIf(sourceIs('ContainerResource')), onlyFor('ContainerResource'))
  containerResource?: ContainerResourceMetricSource;
}

export class HPAScalingPolicy implements types.HPAScalingPolicy {
  @Field(t.string, required, oneOf(['Pods', 'Percent'])) type!: types.HPAScalingPolicyType;
  @Field(t.integer, required, greaterThan(0)) value!: number;
  @Field(t.integer, required, greaterThan(0), atMostPeriod()) periodSeconds!: number;
}

function atMostPeriod(): Check<number> {
  return (value) => (value <= MAX_PERIOD_SECONDS ? undefined : problem(field.invalid('', value, `must be less than or equal to ${MAX_PERIOD_SECONDS}`)));
}

export class HPAScalingRules implements types.HPAScalingRules {
  @Doc('How far back the recommendations are looked at: scaling down goes to the highest of them (300 s by default), scaling up to the lowest (0).')
  @Field(t.integer, between(0, MAX_STABILIZATION_WINDOW_SECONDS)) stabilizationWindowSeconds?: number;
  @Field(t.string, oneOf(['Max', 'Min', 'Disabled'])) selectPolicy?: types.ScalingPolicySelect;
  @NestedList(() => HPAScalingPolicy) policies?: HPAScalingPolicy[];
}

export class HorizontalPodAutoscalerBehavior implements types.HorizontalPodAutoscalerBehavior {
  @Nested(() => HPAScalingRules) scaleUp?: HPAScalingRules;
  @Nested(() => HPAScalingRules) scaleDown?: HPAScalingRules;
}

const atLeastMin: Check<number> = (value, spec) =>
  typeof spec.minReplicas === 'number' && value < spec.minReplicas
    ? problem(field.invalid('', value, 'must be greater than or equal to `minReplicas`'))
    : undefined;

const noDuplicateMetrics: Check<Array<Record<string, unknown>>> = (metrics) => {
  const seen = new Set<string>();
  return metrics.flatMap((metric, i) => {
    const source = (metric?.resource ?? metric?.containerResource) as Record<string, unknown> | undefined;
    if (!source || typeof source.name !== 'string') return [];
    const key = `${String(metric.type)}/${String(source.container ?? '')}/${source.name}`;
    if (!seen.has(key)) {
      seen.add(key);
      return [];
    }
    return [problem(field.duplicate('', source.name), `[${i}]`)];
  });
};

export class HorizontalPodAutoscalerSpec implements types.HorizontalPodAutoscalerSpec {
  @Doc('The workload whose scale subresource is set: a Deployment, ReplicaSet or StatefulSet.')
  @Nested(() => CrossVersionObjectReference, required) scaleTargetRef!: CrossVersionObjectReference;
  @Doc('The fewest replicas the autoscaler sets (1 by default).')
  @Field(t.integer, atLeast(1)) minReplicas?: number;
  @Doc('The most replicas the autoscaler sets.')
  @Field(t.integer, required, atLeast(1), atLeastMin) maxReplicas!: number;
  @Doc('What to scale on (CPU at 80% of requests by default); the highest replica count any metric asks for wins.')
  @NestedList(() => MetricSpec, noDuplicateMetrics) metrics?: MetricSpec[];
  @Doc('How fast to scale up and down: rate policies and stabilisation windows.')
  @Nested(() => HorizontalPodAutoscalerBehavior) behavior?: HorizontalPodAutoscalerBehavior;
}

export class MetricValueStatus implements types.MetricValueStatus {
  @Field(t.string, quantity) value?: string;
  @Field(t.string, quantity) averageValue?: string;
  @Field(t.integer) averageUtilization?: number;
}

export class ResourceMetricStatus implements types.ResourceMetricStatus {
  @Field(t.string, required) name!: string;
  @Nested(() => MetricValueStatus, required) current!: MetricValueStatus;
}

export class ContainerResourceMetricStatus implements types.ContainerResourceMetricStatus {
  @Field(t.string, required) name!: string;
  @Field(t.string, required) container!: string;
  @Nested(() => MetricValueStatus, required) current!: MetricValueStatus;
}

export class MetricStatus implements types.MetricStatus {
  @Field(t.string, required, oneOf(['Resource', 'ContainerResource'])) type!: types.MetricSourceType;
  @Nested(() => ResourceMetricStatus) resource?: ResourceMetricStatus;
  @Nested(() => ContainerResourceMetricStatus) containerResource?: ContainerResourceMetricStatus;
}

export class HorizontalPodAutoscalerStatus implements types.HorizontalPodAutoscalerStatus {
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.string) lastScaleTime?: string;
  @Field(t.integer, nonNegative) currentReplicas?: number;
  @Field(t.integer, nonNegative) desiredReplicas!: number;
  @NestedList(() => MetricStatus) currentMetrics?: MetricStatus[];
  @NestedList(() => Condition) conditions?: Condition[];
}

@Doc('Sets the replicas of a workload from the CPU and memory use of its pods.')
export class HorizontalPodAutoscalerObject extends TypedObject implements KindShape<types.HorizontalPodAutoscaler> {
  @Nested(() => HorizontalPodAutoscalerSpec, required) spec!: HorizontalPodAutoscalerSpec;
  @Nested(() => HorizontalPodAutoscalerStatus) status?: HorizontalPodAutoscalerStatus;
}

export class HorizontalPodAutoscalerV1Spec implements types.HorizontalPodAutoscalerV1Spec {
  @Nested(() => CrossVersionObjectReference, required) scaleTargetRef!: CrossVersionObjectReference;
  @Field(t.integer, atLeast(1)) minReplicas?: number;
  @Field(t.integer, required, atLeast(1), atLeastMin) maxReplicas!: number;
  @Doc('The target average CPU use over the pods, in percent of their requests (80 by default).')
  @Field(t.integer, greaterThan(0)) targetCPUUtilizationPercentage?: number;
}

export class HorizontalPodAutoscalerV1Status implements types.HorizontalPodAutoscalerV1Status {
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.string) lastScaleTime?: string;
  @Field(t.integer, nonNegative) currentReplicas!: number;
  @Field(t.integer, nonNegative) desiredReplicas!: number;
  @Field(t.integer) currentCPUUtilizationPercentage?: number;
}

@Doc('Sets the replicas of a workload from the CPU use of its pods (autoscaling/v2 has memory and behavior too).')
export class HorizontalPodAutoscalerV1Object extends TypedObject implements KindShape<types.HorizontalPodAutoscalerV1> {
  @Nested(() => HorizontalPodAutoscalerV1Spec, required) spec!: HorizontalPodAutoscalerV1Spec;
  @Nested(() => HorizontalPodAutoscalerV1Status) status?: HorizontalPodAutoscalerV1Status;
}

