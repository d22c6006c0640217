import { tableCells, tableColumns } from '../../../tables';
import { validateObject } from '../../../validation';
import { admitted, typeNamed } from '../../spec-helpers';
import { jobResource } from '.';
import type { Job } from './types';

const JOB = typeNamed('jobs.batch');
const UID = '0f0e0d0c-0000-4000-8000-000000000001';

function job(spec: Record<string, unknown> = {}, name = 'pi'): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', uid: UID },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] } }, ...spec },
  } as Job;
}

/** A new Job as the apiserver admits it: the create strategy (the generated selector), then defaulting and validation. */
function created(obj: Job): Job {
  jobResource.strategy.prepareForCreate?.(obj);
  const causes = admitted('jobs.batch', obj);
  if (causes.length) throw new Error(causes.join('; '));
  return obj;
}

function problems(obj: Job): string[] {
  jobResource.strategy.prepareForCreate?.(obj);
  return admitted('jobs.batch', obj);
}

describe('batch/v1 Job', () => {
  it('defaults as Kubernetes does and generates the selector from the uid', () => {
    const j = job();
    created(j);
    expect(j.spec).toMatchObject({ completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, podReplacementPolicy: 'TerminatingOrFailed' });
    expect(j.spec?.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': UID } });
    const labels = { 'batch.kubernetes.io/controller-uid': UID, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': UID, 'job-name': 'pi' };
    expect(j.spec?.template.metadata?.labels).toEqual(labels);
    expect(j.metadata.labels).toEqual(labels);
    expect(validateObject(JOB, j, { fieldValidation: 'Strict' }).causes).toEqual([]);
  });

  it('leaves completions unset for a work queue (parallelism alone) and a manual selector alone', () => {
    const queue = job({ parallelism: 3 });
    created(queue);
    expect(queue.spec?.completions).toBeUndefined();
    const manual = job({ manualSelector: true, selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: job().spec!.template.spec } });
    created(manual);
    expect(manual.spec?.selector).toEqual({ matchLabels: { app: 'x' } });
    expect(manual.spec?.template.metadata?.labels).toEqual({ app: 'x' });
    const failurePolicy = job({ podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] } });
    created(failurePolicy);
    expect(failurePolicy.spec?.podReplacementPolicy).toBe('Failed');
    expect(failurePolicy.spec?.podFailurePolicy?.rules[0].onPodConditions?.[0].status).toBe('True');
  });

  it('refuses what Kubernetes refuses', () => {
    const always = job();
    always.spec!.template.spec!.restartPolicy = 'Always';
    expect(problems(always)).toEqual(['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
    expect(problems(job({ completionMode: 'Indexed', completions: null, parallelism: 2 }))).toEqual(['spec.completions: Required value']);
    expect(problems(job({ backoffLimit: -1 }))).toEqual(['spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0']);
    const onFailure = job({ podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [0, 3, 3] } }] } });
    onFailure.spec!.template.spec!.restartPolicy = 'OnFailure';
    expect(problems(onFailure)).toEqual([
      'spec.podFailurePolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
      'spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator',
      'spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 3',
    ]);
    expect(problems(job({ podFailurePolicy: { rules: [{ action: 'Count' }] } }))).toEqual([
      'spec.podFailurePolicy.rules[0].action: Invalid value: {"action":"Count"}: specifying one of OnExitCodes and OnPodConditions is required',
    ]);
    expect(problems(job({ selector: { matchLabels: { app: 'other' } }, manualSelector: true }))[0]).toMatch(/^spec.template.metadata.labels: Invalid value: .*`selector` does not match template `labels`$/);
  });

  it('keeps the template, selector and completions of a Job fixed', () => {
    const old = job({ completions: 3 });
    created(old);
    const next = structuredClone(old);
    next.spec!.completions = 4;
    next.spec!.template.spec!.containers[0].image = 'busybox:latest';
    next.spec!.parallelism = 2;
    const causes = validateObject(JOB, next, { fieldValidation: 'Strict', old }).causes.map((c: { field?: string }) => c.field);
    expect(causes).toEqual(['spec.template', 'spec.completions']);
  });

  it('prints the columns kubectl shows', () => {
    expect(tableColumns(JOB).map((c) => c.name)).toEqual(['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector']);
    const j = job({ completions: 3 });
    created(j);
    j.metadata.creationTimestamp = '2026-03-01T10:00:00Z';
    j.status = { succeeded: 3, startTime: '2026-03-01T10:00:01Z', completionTime: '2026-03-01T10:00:43Z', conditions: [{ type: 'Complete', status: 'True' }] };
    expect(tableCells(JOB, j, new Date('2026-03-01T10:05:00Z'))).toEqual(['pi', 'Complete', '3/3', '42s', '5m', 'c', 'busybox:1.36', `batch.kubernetes.io/controller-uid=${UID}`]);
    const queue = job({ parallelism: 2 });
    created(queue);
    queue.status = { startTime: '2026-03-01T10:00:00Z', conditions: [{ type: 'FailureTarget', status: 'True' }] };
    expect(tableCells(JOB, queue, new Date('2026-03-01T10:00:30Z')).slice(1, 4)).toEqual(['FailureTarget', '0/1 of 2', '30s']);
  });
});
