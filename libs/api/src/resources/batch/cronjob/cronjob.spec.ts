import { tableCells } from '../../../tables';
import { admitted, typeNamed } from '../../spec-helpers';
import { cronJobResource } from '.';
import type { CronJob } from './types';

const CRON_JOB = typeNamed('cronjobs.batch');
const UID = '0f0e0d0c-0000-4000-8000-000000000001';
const JOB_SPEC = { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] } } };

function cronJob(spec: Record<string, unknown> = {}, name = 'tick'): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default', uid: UID },
    spec: { schedule: '* * * * *', jobTemplate: { spec: JOB_SPEC }, ...spec },
  } as CronJob;
}

function problems(obj: CronJob): string[] {
  cronJobResource.strategy.prepareForCreate?.(obj);
  return admitted('cronjobs.batch', obj);
}

describe('batch/v1 CronJob', () => {
  it('defaults and accepts a valid CronJob', () => {
    const c = cronJob({ timeZone: 'Europe/Berlin' });
    expect(problems(c)).toEqual([]);
    expect(c.spec).toMatchObject({ concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
    expect(c.spec?.jobTemplate.spec?.template.spec?.dnsPolicy).toBe('ClusterFirst');
    expect(c.spec?.jobTemplate.spec?.backoffLimit).toBeUndefined();
  });

  it('refuses bad schedules, zones and long names', () => {
    expect(problems(cronJob({ schedule: '61 * * * *' }))).toEqual(['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']);
    expect(problems(cronJob({ schedule: 'CRON_TZ=UTC * * * * *' }))).toEqual([
      'spec.schedule: Invalid value: "CRON_TZ=UTC * * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    ]);
    expect(problems(cronJob({ timeZone: 'Nowhere/Land' }))).toEqual(['spec.timeZone: Invalid value: "Nowhere/Land": unknown time zone Nowhere/Land']);
    expect(problems(cronJob({ concurrencyPolicy: 'Sometimes' }))).toEqual([
      'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
    ]);
    expect(problems(cronJob({}, 'x'.repeat(53)))).toEqual([`metadata.name: Invalid value: "${'x'.repeat(53)}": must be no more than 52 characters`]);
  });

  it('prints the columns kubectl shows', () => {
    const c = cronJob();
    expect(problems(c)).toEqual([]);
    c.metadata.creationTimestamp = '2026-03-01T10:00:00Z';
    c.status = { active: [{ name: 'tick-1' }], lastScheduleTime: '2026-03-01T10:04:00Z' };
    expect(tableCells(CRON_JOB, c, new Date('2026-03-01T10:05:00Z'))).toEqual(['tick', '* * * * *', '<none>', 'False', 1, '60s', '5m', 'c', 'busybox:1.36', '<none>']);
  });
});
