/** batch/v1 CronJob (Kubernetes' ValidateCronJob). */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { problem, required, t, Field, Nested, NestedList } from '../../../schema/fields';
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

export class CronJobObject extends TypedObject implements KindShape<batch.CronJob> {
  @Nested(() => CronJobSpec, required) spec!: CronJobSpec;
  @Nested(() => CronJobStatus) status?: CronJobStatus;
}

