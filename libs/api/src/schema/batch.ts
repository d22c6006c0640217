/** batch/v1 Job and CronJob (Kubernetes' ValidateJob / ValidateCronJob). */
import { field } from '@berth/errors';
import type * as batch from '../batch';
import { parseCronSchedule, timeZoneErrors } from '../cron';
import type { Check } from './fields';
import { isPlainObject, problem, required, requiredIf, t, Field, Nested, NestedList } from './fields';
import { nonNegative, oneOf, uniqueBy } from './checks';
import { LabelSelector, ObjectMeta, ObjectReference, TypedObject } from './meta';
import { PodTemplateSpec } from './pod';
import { qualifiedNameErrors, syntax } from './syntax';
import { templateMatchesSelector } from './workloads';

/** Kubernetes' bound on an Indexed Job's completions and parallelism. */
const MAX_INDEXED_COMPLETIONS = 100_000;
const MAX_POD_FAILURE_POLICY_RULES = 20;
const MAX_EXIT_CODE_VALUES = 255;

function templateSpecOf(jobSpec: Record<string, unknown>): Record<string, unknown> | undefined {
  const template = jobSpec.template;
  return isPlainObject(template) && isPlainObject(template.spec) ? template.spec : undefined;
}

/** A Job's pods run to completion: `Always` would never finish. */
const runsToCompletion: Check<Record<string, unknown>> = (template) => {
  const spec = isPlainObject(template.spec) ? template.spec : undefined;
  if (!spec || spec.restartPolicy === 'OnFailure' || spec.restartPolicy === 'Never') return undefined;
  if (spec.restartPolicy === undefined || spec.restartPolicy === null || spec.restartPolicy === '') {
    return problem(field.required('', 'valid values: "OnFailure", "Never"'), '.spec.restartPolicy');
  }
  return problem(field.notSupported('', spec.restartPolicy, ['OnFailure', 'Never']), '.spec.restartPolicy');
};

const exitCodeValues: Check<number[]> = (values, requirement) => {
  if (values.length > MAX_EXIT_CODE_VALUES) return problem(field.invalid('', values.length, `must have at most ${MAX_EXIT_CODE_VALUES} items`));
  const problems = [];
  const seen = new Set<number>();
  for (const [i, value] of values.entries()) {
    if (requirement.operator === 'In' && value === 0) problems.push(problem(field.invalid('', value, 'must not be 0 for the In operator'), `[${i}]`));
    if (seen.has(value)) problems.push(problem(field.duplicate('', value), `[${i}]`));
    seen.add(value);
  }
  return problems;
};

export class PodFailurePolicyOnExitCodesRequirement implements batch.PodFailurePolicyOnExitCodesRequirement {
  @Field(t.string) containerName?: string;
  @Field(t.string, required, oneOf(['In', 'NotIn'])) operator!: 'In' | 'NotIn';
  @Field(t.integerList, required, exitCodeValues) values!: number[];
}

export class PodFailurePolicyOnPodConditionsPattern implements batch.PodFailurePolicyOnPodConditionsPattern {
  @Field(t.string, required, syntax(qualifiedNameErrors)) type!: string;
  @Field(t.string, required, oneOf(['True', 'False', 'Unknown'])) status?: 'True' | 'False' | 'Unknown';
}

/** Each rule says what it matches on: exit codes or pod conditions, not both. */
const oneMatcher: Check<string> = (_action, rule) => {
  const exitCodes = rule.onExitCodes !== undefined && rule.onExitCodes !== null;
  const conditions = Array.isArray(rule.onPodConditions) && rule.onPodConditions.length > 0;
  if (exitCodes === conditions) {
    return problem(field.invalid('', rule, 'specifying one of OnExitCodes and OnPodConditions is required'), '');
  }
  return undefined;
};

const indexActionNeedsPerIndexLimit: Check<string> = (action) =>
  action === 'FailIndex' ? problem(field.forbidden('', 'not supported by berth: FailIndex needs backoffLimitPerIndex, which berth does not run yet')) : undefined;

export class PodFailurePolicyRule implements batch.PodFailurePolicyRule {
  @Field(t.string, required, oneOf(['FailJob', 'FailIndex', 'Ignore', 'Count']), indexActionNeedsPerIndexLimit, oneMatcher) action!: batch.PodFailurePolicyAction;
  @Nested(() => PodFailurePolicyOnExitCodesRequirement) onExitCodes?: PodFailurePolicyOnExitCodesRequirement;
  @NestedList(() => PodFailurePolicyOnPodConditionsPattern) onPodConditions?: PodFailurePolicyOnPodConditionsPattern[];
}

const atMostRules: Check<unknown[]> = (rules) =>
  rules.length > MAX_POD_FAILURE_POLICY_RULES ? problem(field.invalid('', rules.length, `must have at most ${MAX_POD_FAILURE_POLICY_RULES} items`)) : undefined;

export class PodFailurePolicy implements batch.PodFailurePolicy {
  @NestedList(() => PodFailurePolicyRule, required, atMostRules) rules!: PodFailurePolicyRule[];
}

/** The pod failure policy reads each container's exit: a restarted container would hide it. */
const neverRestarts: Check<Record<string, unknown>> = (_policy, spec) => {
  const podSpec = templateSpecOf(spec);
  if (!podSpec || podSpec.restartPolicy === 'Never') return undefined;
  return {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${JSON.stringify(podSpec.restartPolicy ?? '')}: only "Never" is supported when podFailurePolicy is specified`,
    subpath: '',
  };
};

const replacementAfterFailureOnly: Check<string> = (policy, spec) =>
  isPlainObject(spec.podFailurePolicy) && policy !== 'Failed'
    ? problem(field.notSupported('', policy, ['Failed']))
    : undefined;

const isIndexed = (spec: Record<string, unknown>) => spec.completionMode === 'Indexed';

const indexedBound: Check<number> = (value, spec) =>
  isIndexed(spec) && value > MAX_INDEXED_COMPLETIONS
    ? problem(field.invalid('', value, `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`))
    : undefined;

/** What a Job's spec and a CronJob's jobTemplate.spec share; the selector and template differ. */
class JobSpecFields implements Omit<batch.JobSpec, 'selector' | 'template'> {
  @Field(t.integer, nonNegative, indexedBound) parallelism?: number;
  @Field(t.integer, nonNegative, indexedBound, requiredIf(isIndexed)) completions?: number;
  @Field(t.integer, nonNegative) activeDeadlineSeconds?: number;
  @Nested(() => PodFailurePolicy, neverRestarts) podFailurePolicy?: PodFailurePolicy;
  @Field(t.integer, nonNegative) backoffLimit?: number;
  @Field(t.boolean) manualSelector?: boolean;
  @Field(t.integer, nonNegative) ttlSecondsAfterFinished?: number;
  @Field(t.string, oneOf(['NonIndexed', 'Indexed'])) completionMode?: batch.CompletionMode;
  @Field(t.boolean) suspend?: boolean;
  @Field(t.string, oneOf(['TerminatingOrFailed', 'Failed']), replacementAfterFailureOnly) podReplacementPolicy?: 'TerminatingOrFailed' | 'Failed';
}

/** A CronJob's job template: the selector is made when each Job is created from it. */
export class JobTemplateJobSpec extends JobSpecFields implements Omit<batch.JobSpec, 'selector' | 'template'> {
  @Nested(() => LabelSelector) selector?: LabelSelector;
  @Nested(() => PodTemplateSpec, required, runsToCompletion) template!: PodTemplateSpec;
}

/** A Job's spec, after the apiserver has made its selector (unless manualSelector). */
export class JobSpec extends JobSpecFields implements Omit<batch.JobSpec, 'selector' | 'template'> {
  @Nested(() => LabelSelector, required) selector!: LabelSelector;
  @Nested(() => PodTemplateSpec, required, runsToCompletion, templateMatchesSelector) template!: PodTemplateSpec;
}

export class UncountedTerminatedPods implements batch.UncountedTerminatedPods {
  @Field(t.stringList) succeeded?: string[];
  @Field(t.stringList) failed?: string[];
}

export class JobCondition implements batch.JobCondition {
  @Field(t.string, required) type!: string;
  @Field(t.string, required, oneOf(['True', 'False', 'Unknown'])) status!: 'True' | 'False' | 'Unknown';
  @Field(t.string) lastProbeTime?: string;
  @Field(t.string) lastTransitionTime?: string;
  @Field(t.string) reason?: string;
  @Field(t.string) message?: string;
}

export class JobStatus implements batch.JobStatus {
  @NestedList(() => JobCondition, uniqueBy('type')) conditions?: JobCondition[];
  @Field(t.string) startTime?: string;
  @Field(t.string) completionTime?: string;
  @Field(t.integer, nonNegative) active?: number;
  @Field(t.integer, nonNegative) succeeded?: number;
  @Field(t.integer, nonNegative) failed?: number;
  @Field(t.integer, nonNegative) terminating?: number;
  @Field(t.string) completedIndexes?: string;
  @Nested(() => UncountedTerminatedPods) uncountedTerminatedPods?: UncountedTerminatedPods;
  @Field(t.integer, nonNegative) ready?: number;
}

/** Shared schema classes (ObjectMeta, PodTemplateSpec) do not implement their types yet: spec is checked one level down. */
export class JobObject extends TypedObject implements Pick<batch.Job, 'status'> {
  @Nested(() => JobSpec, required) spec!: JobSpec;
  @Nested(() => JobStatus) status?: JobStatus;
}

export class JobTemplateSpec {
  @Nested(() => ObjectMeta) metadata?: ObjectMeta;
  @Nested(() => JobTemplateJobSpec, required) spec?: JobTemplateJobSpec;
}

const validSchedule: Check<string> = (schedule) => {
  if (/^\s*(CRON_)?TZ=/.test(schedule)) {
    return problem(field.invalid('', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  }
  try {
    parseCronSchedule(schedule);
    return undefined;
  } catch (err) {
    return problem(field.invalid('', schedule, (err as Error).message));
  }
};

const validTimeZone: Check<string> = (zone) => timeZoneErrors(zone).map((detail) => problem(field.invalid('', zone, detail)));

/** Kubernetes' bound on a schedule string (etcd keys are not the limit; the Go parser's sanity is). */
const MAX_SCHEDULE_LENGTH = 1024;
const shortSchedule: Check<string> = (schedule) =>
  schedule.length > MAX_SCHEDULE_LENGTH ? problem(field.invalid('', `${schedule.slice(0, 20)}...`, `must have at most ${MAX_SCHEDULE_LENGTH} bytes`)) : undefined;

export class CronJobSpec implements Omit<batch.CronJobSpec, 'jobTemplate'> {
  @Field(t.string, required, shortSchedule, validSchedule) schedule!: string;
  @Field(t.string, validTimeZone) timeZone?: string;
  @Field(t.integer, nonNegative) startingDeadlineSeconds?: number;
  @Field(t.string, required, oneOf(['Allow', 'Forbid', 'Replace'])) concurrencyPolicy?: batch.ConcurrencyPolicy;
  @Field(t.boolean) suspend?: boolean;
  @Nested(() => JobTemplateSpec, required) jobTemplate!: JobTemplateSpec;
  @Field(t.integer, nonNegative) successfulJobsHistoryLimit?: number;
  @Field(t.integer, nonNegative) failedJobsHistoryLimit?: number;
}

export class CronJobStatus implements batch.CronJobStatus {
  @NestedList(() => ObjectReference) active?: ObjectReference[];
  @Field(t.string) lastScheduleTime?: string;
  @Field(t.string) lastSuccessfulTime?: string;
}

export class CronJobObject extends TypedObject implements Pick<batch.CronJob, 'status'> {
  @Nested(() => CronJobSpec, required) spec!: CronJobSpec;
  @Nested(() => CronJobStatus) status?: CronJobStatus;
}

