import type { FieldCause } from '@berth/errors';
import type { KubeObject } from '../../../types';
import { AGE, CONTAINERS, IMAGES, NAME, SELECTOR, conditionTrue, containerCells, humanAge, humanDuration, selectorText, table, view } from '../../columns';
import type { ConditionView, ContainerView } from '../../columns';
import { defaultPodTemplate } from '../../core/pod/defaults';
import { defineResource } from '../../definition';
import { podTemplateMerge } from '../../core/pod/merge';
import { CONDITIONS, LABEL_SELECTOR, objectMerge, struct } from '../../merge';
import { child, isObj, objects, setDefault } from '../../defaulting';
import type { Obj } from '../../defaulting';
import { immutableField, sameJson, specOf } from '../../immutable';
import { selectorUnchanged } from '../../apps/workload';
import { fieldWithZero } from '../../selectable';
import { JobObject } from './schema';
import type { Job, JobCondition, JobConditionType } from './types';

export type * from './types';
export { JobTemplateSpec as JobTemplateSpecSchema } from './schema';

/** Labels the apiserver adds to a Job's pod template when it generates the selector (and their legacy twins). */
export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_JOB_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
/** An Indexed Job's pod's index: an annotation and a label of the pod, and JOB_COMPLETION_INDEX in its containers. */
export const JOB_COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** The finalizer through which the Job controller counts each finished pod exactly once. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
/** The condition of the given type when it is True. */
export function trueJobCondition(job: Job, type: JobConditionType): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Complete or Failed: the Job will run no more pods (Kubernetes' IsJobFinished). */
export function isJobFinished(job: Job): boolean {
  return !!(trueJobCondition(job, 'Complete') || trueJobCondition(job, 'Failed'));
}

/** Kubernetes' SetDefaults_Job: one pod at a time, once, six retries. */
export function defaultJobSpec(spec: Obj): void {
  if ((spec.completions === undefined || spec.completions === null) && (spec.parallelism === undefined || spec.parallelism === null)) {
    spec.completions = 1;
  }
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  const policy = spec.podFailurePolicy;
  setDefault(spec, 'podReplacementPolicy', isObj(policy) ? 'Failed' : 'TerminatingOrFailed');
  if (isObj(policy)) {
    for (const rule of objects(policy.rules)) for (const pattern of objects(rule.onPodConditions)) setDefault(pattern, 'status', 'True');
  }
  defaultPodTemplate(spec);
}

/**
 * What Kubernetes' Job strategy does on create (generateSelector), unless spec.manualSelector: the template
 * gets the job's name and uid as labels and the selector matches the uid, so no other Job's pods match.
 * Labels the user set are left as they are (a conflicting one fails validation). A Job without labels of
 * its own takes the template's, as Kubernetes' defaulting does when it reads the Job back.
 */
export function generateJobSelector(job: Obj): void {
  const spec = isObj(job.spec) ? job.spec : undefined;
  const meta = isObj(job.metadata) ? job.metadata : undefined;
  if (!spec || spec.manualSelector === true || !meta || typeof meta.uid !== 'string' || typeof meta.name !== 'string') return;
  const template = child(spec, 'template');
  const templateMeta = template && child(template, 'metadata');
  const labels = templateMeta && child(templateMeta, 'labels');
  if (!labels) return;
  for (const key of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) setDefault(labels, key, meta.name);
  for (const key of [LEGACY_JOB_CONTROLLER_UID_LABEL, JOB_CONTROLLER_UID_LABEL]) setDefault(labels, key, meta.uid);
  const selector = child(spec, 'selector');
  const matchLabels = selector && child(selector, 'matchLabels');
  if (matchLabels) setDefault(matchLabels, JOB_CONTROLLER_UID_LABEL, meta.uid);
  if (meta.labels === undefined || meta.labels === null || (isObj(meta.labels) && Object.keys(meta.labels).length === 0)) meta.labels = { ...labels };
}

/**
 * Kubernetes' ValidateJobSpecUpdate: what identifies the Job's pods and how they are counted is fixed;
 * an Indexed Job may scale only with completions and parallelism equal before and after (elastic).
 */
function jobUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const causes = selectorUnchanged(obj, old);
  for (const name of ['template', 'completionMode', 'podFailurePolicy', 'manualSelector']) {
    if (!sameJson(spec[name], before[name])) causes.push(immutableField(`spec.${name}`, spec[name]));
  }
  const elastic = spec.completionMode === 'Indexed' && spec.completions === spec.parallelism && before.completions === before.parallelism;
  if (!sameJson(spec.completions, before.completions) && !elastic) causes.push(immutableField('spec.completions', spec.completions));
  return causes;
}

interface JobView {
  spec?: { completions?: number; parallelism?: number; selector?: unknown; template?: { spec?: { containers?: ContainerView[] } } };
  status?: { succeeded?: number; startTime?: string; completionTime?: string; conditions?: ConditionView[] };
}

/** kubectl's printJob STATUS: the first that holds of Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running. */
function jobStatusCell(job: JobView, obj: KubeObject): string {
  const conditions = job.status?.conditions;
  if (conditionTrue(conditions, 'Complete')) return 'Complete';
  if (conditionTrue(conditions, 'Failed')) return 'Failed';
  if (obj.metadata.deletionTimestamp) return 'Terminating';
  for (const type of ['Suspended', 'FailureTarget', 'SuccessCriteriaMet']) if (conditionTrue(conditions, type)) return type;
  return 'Running';
}

function printJob(obj: KubeObject, now: Date): unknown[] {
  const job = view<JobView>(obj);
  const succeeded = job.status?.succeeded ?? 0;
  const parallelism = job.spec?.parallelism ?? 0;
  const completions =
    job.spec?.completions !== undefined && job.spec.completions !== null
      ? `${succeeded}/${job.spec.completions}`
      : parallelism > 1
        ? `${succeeded}/1 of ${parallelism}`
        : `${succeeded}/1`;
  const start = job.status?.startTime ? Date.parse(job.status.startTime) : NaN;
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : now.getTime();
  const duration = Number.isNaN(start) || Number.isNaN(end) ? '' : humanDuration(end - start);
  return [
    obj.metadata.name,
    jobStatusCell(job, obj),
    completions,
    duration,
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(job.spec?.template?.spec?.containers),
    selectorText(job.spec?.selector, '<error>') || '<none>',
  ];
}

export const jobResource = defineResource<Job>({
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  categories: ['all'],
  subresources: ['status'],
  schema: JobObject,
  mergeSchema: objectMerge({
    spec: struct({ selector: LABEL_SELECTOR, template: podTemplateMerge }),
    status: struct({ conditions: CONDITIONS }),
  }),
  defaults: (job) => {
    const spec = child(job, 'spec');
    if (spec) defaultJobSpec(spec);
  },
  table: table(
    [
      NAME,
      ['Status', 'string', 'Status of the job.'],
      ['Completions', 'string', 'The number of pods which reached phase Succeeded.'],
      ['Duration', 'string', 'Time required to complete the job.'],
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    printJob,
  ),
  selectableFields: { 'status.successful': fieldWithZero('status.succeeded', '0') },
  strategy: {
    // The job controller reports status; the selector is the server's unless spec.manualSelector.
    prepareForCreate: (job) => {
      job.status = {};
      generateJobSelector(job);
    },
    validateUpdate: jobUpdate,
  },
});
