/** batch/v1 CronJob (Kubernetes' ValidateCronJob). */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { problem, required, t, Doc, Field, Nested, NestedList } from '../../../schema/fields';
import { nonNegative, oneOf } from '../../../schema/checks';
import { ObjectReference, TypedObject } from '../../../schema/meta';
import type { KindShape } from '../../definition';
import { JobTemplateSpec } from '../job/schema';
import { parseCronSchedule, timeZoneErrors } from './schedule';
import type * as batch from './types';

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

export class CronJobSpec implements batch.CronJobSpec {
  @Doc('When to run, in cron format: five fields (minute hour day-of-month month day-of-week; ranges, steps, lists, names) or a macro (@hourly, @daily, @weekly, @monthly, @yearly).')
  @Field(t.string, required, shortSchedule, validSchedule) schedule!: string;
  @Doc("The time zone of the schedule (Europe/Berlin); the controller-manager's own by default.")
  @Field(t.string, validTimeZone) timeZone?: string;
  @Doc('A run missed by more than this many seconds is skipped.')
  @Field(t.integer, nonNegative) startingDeadlineSeconds?: number;
  @Doc('What to do when a run is due while a Job of this CronJob still runs: Allow (default) another, Forbid (skip it) or Replace the running one.')
  @Field(t.string, required, oneOf(['Allow', 'Forbid', 'Replace'])) concurrencyPolicy?: batch.ConcurrencyPolicy;
  @Doc('When true, no more runs start; running Jobs go on.')
  @Field(t.boolean) suspend?: boolean;
  @Doc('The Job each run creates.')
  @Nested(() => JobTemplateSpec, required) jobTemplate!: JobTemplateSpec;
  @Doc('Finished successful Jobs kept (3 by default).')
  @Field(t.integer, nonNegative) successfulJobsHistoryLimit?: number;
  @Doc('Failed Jobs kept (1 by default).')
  @Field(t.integer, nonNegative) failedJobsHistoryLimit?: number;
}

export class CronJobStatus implements batch.CronJobStatus {
  @Doc('The Jobs of this CronJob that run now.')
  @NestedList(() => ObjectReference) active?: ObjectReference[];
  @Doc('When a Job was last scheduled.')
  @Field(t.string) lastScheduleTime?: string;
  @Doc('When a Job last completed successfully.')
  @Field(t.string) lastSuccessfulTime?: string;
}

@Doc('Creates Jobs on a repeating schedule.')
export class CronJobObject extends TypedObject implements KindShape<batch.CronJob> {
  @Doc('The schedule and the Job each run creates.')
  @Nested(() => CronJobSpec, required) spec!: CronJobSpec;
  @Doc('The Jobs running now and when the last ran.')
  @Nested(() => CronJobStatus) status?: CronJobStatus;
}

