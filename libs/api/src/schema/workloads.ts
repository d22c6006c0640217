/** apps/v1 Deployment and ReplicaSet. */
import { field } from '@berth/errors';
import { matchesLabels, requirementsOfSelector } from '../selectors';
import type { Check } from './fields';
import { isPlainObject, problem, required, t, Field, Nested, NestedList } from './fields';
import { countOrPercent, nonNegative, oneOf } from './checks';
import { Condition, isEmptySelector, LabelSelector, TypedObject } from './meta';
import { PodTemplateSpec } from './pod';

/** Go's `%#v` of a label map, the value Kubernetes shows when a selector misses the template. */
function goStringMap(labels: unknown): string {
  if (!isPlainObject(labels)) return 'map[string]string(nil)';
  const entries = Object.keys(labels)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(labels[key])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

export function nonEmptySelector(kindWord: string): Check<LabelSelector> {
  return (selector) =>
    isEmptySelector(selector) ? problem(field.invalid('', selector, `empty selector is invalid for ${kindWord}`)) : undefined;
}

/** The controller would never own its own pods if the selector missed the template's labels. */
export const templateMatchesSelector: Check<Record<string, unknown>> = (template, spec) => {
  const selector = spec.selector;
  if (!isPlainObject(selector) || isEmptySelector(selector)) return undefined;
  let requirements;
  try {
    requirements = requirementsOfSelector(selector);
  } catch {
    return undefined; // the selector's own problems are reported at spec.selector
  }
  const labels = isPlainObject(template.metadata) ? template.metadata.labels : undefined;
  const labelMap = isPlainObject(labels) ? (labels as Record<string, string>) : undefined;
  if (matchesLabels(requirements, labelMap)) return undefined;
  return {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${goStringMap(labels)}: \`selector\` does not match template \`labels\``,
    subpath: '.metadata.labels',
  };
};

/** Workload pods are replaced, never left finished: only `Always` makes sense. */
export const restartsAlways: Check<Record<string, unknown>> = (template) => {
  const spec = template.spec;
  if (!isPlainObject(spec) || spec.restartPolicy === undefined || spec.restartPolicy === 'Always') return undefined;
  return problem(field.notSupported('', spec.restartPolicy, ['Always']), '.spec.restartPolicy');
};

export const isZero = (value: unknown): boolean => value === 0 || value === '0%';

export const atMostAllPods: Check<number | string> = (value) =>
  typeof value === 'string' && /^[0-9]+%$/.test(value) && parseInt(value, 10) > 100
    ? problem(field.invalid('', value, 'must not be greater than 100%'))
    : undefined;

/** A rollout that may neither add nor remove a pod could never progress. */
const notBothZero: Check<number | string> = (value, rollingUpdate) =>
  isZero(value) && isZero(rollingUpdate.maxSurge ?? 0)
    ? problem(field.invalid('', value, 'may not be 0 when `maxSurge` is 0'))
    : undefined;

export class RollingUpdateDeployment {
  @Field(t.intOrString, countOrPercent, atMostAllPods, notBothZero) maxUnavailable?: number | string;
  @Field(t.intOrString, countOrPercent) maxSurge?: number | string;
}

const onlyForRollingUpdate: Check<Record<string, unknown>> = (_rollingUpdate, strategy) =>
  strategy.type === 'Recreate'
    ? problem(field.forbidden('', "may not be specified when strategy `type` is 'Recreate'"))
    : undefined;

export class DeploymentStrategy {
  @Field(t.string, oneOf(['Recreate', 'RollingUpdate'])) type?: string;
  @Nested(() => RollingUpdateDeployment, onlyForRollingUpdate) rollingUpdate?: RollingUpdateDeployment;
}

const beyondMinReady: Check<number> = (value, spec) =>
  typeof spec.minReadySeconds === 'number' && value <= spec.minReadySeconds
    ? problem(field.invalid('', value, 'must be greater than minReadySeconds'))
    : undefined;

export class DeploymentSpec {
  @Field(t.integer, nonNegative) replicas?: number;
  @Nested(() => LabelSelector, required, nonEmptySelector('deployment')) selector!: LabelSelector;
  @Nested(() => PodTemplateSpec, required, templateMatchesSelector, restartsAlways) template!: PodTemplateSpec;
  @Nested(() => DeploymentStrategy) strategy?: DeploymentStrategy;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Field(t.integer, nonNegative) revisionHistoryLimit?: number;
  @Field(t.boolean) paused?: boolean;
  @Field(t.integer, nonNegative, beyondMinReady) progressDeadlineSeconds?: number;
}

export class DeploymentStatus {
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

export class DeploymentObject extends TypedObject {
  @Nested(() => DeploymentSpec, required) spec!: DeploymentSpec;
  @Nested(() => DeploymentStatus) status?: DeploymentStatus;
}

export class ReplicaSetSpec {
  @Field(t.integer, nonNegative) replicas?: number;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Nested(() => LabelSelector, required, nonEmptySelector('replicaset')) selector!: LabelSelector;
  @Nested(() => PodTemplateSpec, required, templateMatchesSelector, restartsAlways) template!: PodTemplateSpec;
}

export class ReplicaSetStatus {
  @Field(t.integer, nonNegative) replicas?: number;
  @Field(t.integer, nonNegative) fullyLabeledReplicas?: number;
  @Field(t.integer, nonNegative) readyReplicas?: number;
  @Field(t.integer, nonNegative) availableReplicas?: number;
  @Field(t.integer, nonNegative) terminatingReplicas?: number;
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class ReplicaSetObject extends TypedObject {
  @Nested(() => ReplicaSetSpec, required) spec!: ReplicaSetSpec;
  @Nested(() => ReplicaSetStatus) status?: ReplicaSetStatus;
}

