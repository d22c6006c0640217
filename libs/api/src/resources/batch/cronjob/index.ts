import type { KubeObject } from '../../../types';
import { AGE, CONTAINERS, IMAGES, NAME, SELECTOR, containerCells, humanAge, selectorText, table, view } from '../../columns';
import type { ContainerView } from '../../columns';
import { defaultPodTemplate } from '../../core/pod/defaults';
import { defineResource } from '../../definition';
import { podTemplateMerge } from '../../core/pod/merge';
import { LABEL_SELECTOR, OBJECT_META, objectMerge, struct } from '../../merge';
import { child, isObj, setDefault } from '../../defaulting';
import type { Obj } from '../../defaulting';
import { dns1123SubdomainErrors } from '../../../schema/syntax';
import { CronJobObject } from './schema';
import type { CronJob } from './types';

export type * from './types';
export * from './schedule';

/** On a Job made from a CronJob's template by hand (`kubectl create job --from=cronjob/x`). */
export const CRONJOB_INSTANTIATE_ANNOTATION = 'cronjob.kubernetes.io/instantiate';
/** On a Job a CronJob created: the time it was scheduled for, RFC 3339 in the CronJob's time zone. */
export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** A CronJob's Jobs are named after it with 11 more characters (`-<minutes since the epoch>`). */
const MAX_NAME_LENGTH = 52;

/** Kubernetes' SetDefaults_CronJob; the job template's pod template gets the pod defaults (its Job spec none). */
function defaultCronJobSpec(spec: Obj): void {
  setDefault(spec, 'concurrencyPolicy', 'Allow');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'successfulJobsHistoryLimit', 3);
  setDefault(spec, 'failedJobsHistoryLimit', 1);
  const jobTemplate = spec.jobTemplate;
  if (isObj(jobTemplate) && isObj(jobTemplate.spec)) defaultPodTemplate(jobTemplate.spec);
}

interface CronJobView {
  spec?: {
    schedule?: string;
    timeZone?: string;
    suspend?: boolean;
    jobTemplate?: { spec?: { selector?: unknown; template?: { spec?: { containers?: ContainerView[] } } } };
  };
  status?: { active?: unknown[]; lastScheduleTime?: string };
}

function printCronJob(obj: KubeObject, now: Date): unknown[] {
  const cronJob = view<CronJobView>(obj);
  const spec = cronJob.spec ?? {};
  const suspend = spec.suspend === undefined || spec.suspend === null ? '<unset>' : spec.suspend ? 'True' : 'False';
  const last = cronJob.status?.lastScheduleTime;
  return [
    obj.metadata.name,
    spec.schedule ?? '',
    spec.timeZone ?? '<none>',
    suspend,
    cronJob.status?.active?.length ?? 0,
    last ? humanAge(last, now) : '<none>',
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(spec.jobTemplate?.spec?.template?.spec?.containers),
    selectorText(spec.jobTemplate?.spec?.selector, '<error>') || '<none>',
  ];
}

export const cronJobResource = defineResource<CronJob>({
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  shortNames: ['cj'],
  categories: ['all'],
  subresources: ['status'],
  schema: CronJobObject,
  mergeSchema: objectMerge({
    spec: struct({ jobTemplate: struct({ metadata: OBJECT_META, spec: struct({ selector: LABEL_SELECTOR, template: podTemplateMerge }) }) }),
  }),
  defaults: (cronJob) => {
    const spec = child(cronJob, 'spec');
    if (spec) defaultCronJobSpec(spec);
  },
  nameErrors: (name) => [
    ...dns1123SubdomainErrors(name),
    ...(name.length > MAX_NAME_LENGTH ? [`must be no more than ${MAX_NAME_LENGTH} characters`] : []),
  ],
  table: table(
    [
      NAME,
      ['Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'],
      ['Timezone', 'string', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.'],
      ['Suspend', 'boolean', 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.'],
      ['Active', 'integer', 'A list of pointers to currently running jobs.'],
      ['Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'],
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    printCronJob,
  ),
  strategy: {
    // The cronjob controller reports status; a new CronJob has none yet.
    prepareForCreate: (cronJob) => {
      cronJob.status = {};
    },
  },
});
