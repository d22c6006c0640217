/** batch/v1 Job (Kubernetes' ValidateJob); a CronJob's job template reuses its parts. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { isPlainObject, problem, required, requiredIf, t, Doc, Field, Nested, NestedList } from '../../../schema/fields';
import { nonNegative, oneOf, uniqueBy } from '../../../schema/checks';
import { LabelSelector, ObjectMeta, TypedObject } from '../../../schema/meta';
import { qualifiedNameErrors, syntax } from '../../../schema/syntax';
import { PodTemplateSpec } from '../../core/pod/schema';
import type { KindShape } from '../../definition';
import { templateMatchesSelector } from '../../apps/workload';
import type * as batch from './types';

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
  @Doc('At most this many pods run at once (1 by default).')
  @Field(t.integer, nonNegative, indexedBound) parallelism?: number;
  @Doc('How many pods must succeed for the Job to be Complete (1 by default; unset with parallelism alone: a work queue, done when one pod succeeds and none runs).')
  @Field(t.integer, nonNegative, indexedBound, requiredIf(isIndexed)) completions?: number;
  @Doc('Seconds the Job may run from its start before it fails (reason DeadlineExceeded) and its pods are stopped.')
  @Field(t.integer, nonNegative) activeDeadlineSeconds?: number;
  @Doc('Rules on pod failures (exit codes, pod conditions) that fail the Job at once, ignore the failure, or count it against backoffLimit.')
  @Nested(() => PodFailurePolicy, neverRestarts) podFailurePolicy?: PodFailurePolicy;
  @Doc('Failed pods after which the Job fails (6 by default); each retry waits 10 s, doubling, at most 6 minutes.')
  @Field(t.integer, nonNegative) backoffLimit?: number;
  @Doc("When true, spec.selector is the user's; otherwise the server generates it from the Job's uid.")
  @Field(t.boolean) manualSelector?: boolean;
  @Doc('Seconds after the Job finished (Complete or Failed) that it is deleted with its pods.')
  @Field(t.integer, nonNegative) ttlSecondsAfterFinished?: number;
  @Doc('Indexed: each pod gets an index 0..completions-1 (JOB_COMPLETION_INDEX, hostname <job>-<index>) and each index must succeed once.')
  @Field(t.string, oneOf(['NonIndexed', 'Indexed'])) completionMode?: batch.CompletionMode;
  @Doc('When true, no pods are created and running ones are stopped; false resumes the Job.')
  @Field(t.boolean) suspend?: boolean;
  @Doc('When a replacement pod is created: as soon as the old one is terminating, or only once it has failed.')
  @Field(t.string, oneOf(['TerminatingOrFailed', 'Failed']), replacementAfterFailureOnly) podReplacementPolicy?: 'TerminatingOrFailed' | 'Failed';
}

/** A CronJob's job template: the selector is made when each Job is created from it. */
export class JobTemplateJobSpec extends JobSpecFields implements batch.JobSpec {
  @Nested(() => LabelSelector) selector?: LabelSelector;
  @Nested(() => PodTemplateSpec, required, runsToCompletion) template!: PodTemplateSpec;
}

/** A Job's spec, after the apiserver has made its selector (unless manualSelector). */
export class JobSpec extends JobSpecFields implements batch.JobSpec {
  @Doc("Selects the Job's pods; generated from the Job's uid unless manualSelector.")
  @Nested(() => LabelSelector, required) selector!: LabelSelector;
  @Doc('The pods to run; restartPolicy must be Never or OnFailure.')
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
  @Doc('Complete or Failed once the Job finished; SuccessCriteriaMet/FailureTarget before that; Suspended.')
  @NestedList(() => JobCondition, uniqueBy('type')) conditions?: JobCondition[];
  @Doc('When the Job started (or was last resumed).')
  @Field(t.string) startTime?: string;
  @Doc('When the Job completed; unset for a failed Job.')
  @Field(t.string) completionTime?: string;
  @Doc('Pods not yet terminated.')
  @Field(t.integer, nonNegative) active?: number;
  @Doc('Pods that succeeded.')
  @Field(t.integer, nonNegative) succeeded?: number;
  @Doc('Pods that failed.')
  @Field(t.integer, nonNegative) failed?: number;
  @Field(t.integer, nonNegative) terminating?: number;
  @Doc("An Indexed Job's succeeded indexes, as intervals (1,3-5,7).")
  @Field(t.string) completedIndexes?: string;
  @Nested(() => UncountedTerminatedPods) uncountedTerminatedPods?: UncountedTerminatedPods;
  @Field(t.integer, nonNegative) ready?: number;
}

@Doc('Runs pods until a number of them succeed, retrying failed ones up to a back-off limit.')
export class JobObject extends TypedObject implements KindShape<batch.Job> {
  @Doc('What the Job runs: the pod template, how many completions, how many at once, when to give up.')
  @Nested(() => JobSpec, required) spec!: JobSpec;
  @Doc('How the Job stands: pods active, succeeded and failed, and its conditions.')
  @Nested(() => JobStatus) status?: JobStatus;
}

export class JobTemplateSpec implements batch.JobTemplateSpec {
  @Nested(() => ObjectMeta) metadata?: ObjectMeta;
  @Nested(() => JobTemplateJobSpec, required) spec?: JobTemplateJobSpec;
}
