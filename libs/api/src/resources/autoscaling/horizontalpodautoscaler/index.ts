import type { KubeObject } from '../../../types';
import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { CONDITIONS, objectMerge, struct } from '../../merge';
import { defaultHorizontalPodAutoscaler } from './defaults';
import { HorizontalPodAutoscalerObject } from './schema';
import type { HorizontalPodAutoscaler, MetricSpec, MetricStatus } from './types';

export type * from './types';
export { DEFAULT_CPU_UTILIZATION, defaultCpuMetric, effectiveBehavior, scaleDownRules, scaleUpRules } from './defaults';
export { MAX_PERIOD_SECONDS, MAX_STABILIZATION_WINDOW_SECONDS } from './schema';

/** How many metrics the TARGETS column shows before `+ N more...`, as kubectl's printer. */
const SHOWN_METRICS = 2;

/** One metric of the TARGETS column: `cpu: 42%/50%`, `memory: 10Mi/64Mi`, `<unknown>` before the first reading. */
function metricCell(spec: MetricSpec, status: MetricStatus | undefined): string {
  const source = spec.type === 'ContainerResource' ? spec.containerResource : spec.resource;
  const current = spec.type === 'ContainerResource' ? status?.containerResource?.current : status?.resource?.current;
  const name = source?.name ?? '<unknown>';
  const target = source?.target;
  if (target?.averageValue !== undefined) return `${name}: ${current?.averageValue ?? '<unknown>'}/${target.averageValue}`;
  const shownCurrent = current?.averageUtilization !== undefined ? `${current.averageUtilization}%` : '<unknown>';
  const shownTarget = target?.averageUtilization !== undefined ? `${target.averageUtilization}%` : '<auto>';
  return `${name}: ${shownCurrent}/${shownTarget}`;
}

/** The reading of a metric in status (one per resource and container: validation refuses two specs of one). */
function statusOf(spec: MetricSpec, statuses: MetricStatus[]): MetricStatus | undefined {
  if (spec.type === 'ContainerResource') {
    const source = spec.containerResource;
    return statuses.find((s) => s.type === 'ContainerResource' && s.containerResource?.name === source?.name && s.containerResource?.container === source?.container);
  }
  return statuses.find((s) => s.type === 'Resource' && s.resource?.name === spec.resource?.name);
}

/** kubectl's TARGETS: each metric's current value over its target, in spec order. */
export function targetsCell(hpa: HorizontalPodAutoscaler): string {
  const specs = hpa.spec?.metrics ?? [];
  if (specs.length === 0) return '<none>';
  const statuses = hpa.status?.currentMetrics ?? [];
  const shown = specs.slice(0, SHOWN_METRICS).map((spec) => metricCell(spec, statusOf(spec, statuses)));
  const more = specs.length - shown.length;
  return more > 0 ? `${shown.join(', ')} + ${more} more...` : shown.join(', ');
}

function printHorizontalPodAutoscaler(obj: KubeObject, now: Date): unknown[] {
  const hpa = view<HorizontalPodAutoscaler>(obj);
  const ref = hpa.spec?.scaleTargetRef;
  return [
    obj.metadata.name,
    `${ref?.kind ?? ''}/${ref?.name ?? ''}`,
    targetsCell(hpa),
    hpa.spec?.minReplicas !== undefined ? String(hpa.spec.minReplicas) : '<unset>',
    hpa.spec?.maxReplicas ?? 0,
    hpa.status?.currentReplicas ?? 0,
    humanAge(obj.metadata.creationTimestamp, now),
  ];
}

export const HPA_TABLE = table(
  [
    NAME,
    ['Reference', 'string', 'Reference is the target of the autoscaler: its kind and name.'],
    ['Targets', 'string', 'The current and target values of the metrics the autoscaler scales on.'],
    ['MinPods', 'string', 'The lower limit for the number of pods that can be set by the autoscaler, default 1.'],
    ['MaxPods', 'integer', 'The upper limit for the number of pods that can be set by the autoscaler.'],
    ['Replicas', 'integer', 'Current number of replicas of pods managed by this autoscaler.'],
    AGE,
  ],
  printHorizontalPodAutoscaler,
);

/**
 * autoscaling/v2 HorizontalPodAutoscaler, the stored version: the HPA controller (libs/controllers/src/hpa.ts)
 * sets its target's scale from the metrics API and reports status. autoscaling/v1 (./v1.ts) is served by
 * conversion to and from it.
 */
export const horizontalPodAutoscalerResource = defineResource<HorizontalPodAutoscaler>({
  group: 'autoscaling',
  version: 'v2',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  shortNames: ['hpa'],
  categories: ['all'],
  subresources: ['status'],
  schema: HorizontalPodAutoscalerObject,
  defaults: defaultHorizontalPodAutoscaler,
  table: HPA_TABLE,
  mergeSchema: objectMerge({ status: struct({ conditions: CONDITIONS }) }),
  strategy: {
    // The controller reports status; a new autoscaler has none yet.
    prepareForCreate: (hpa) => {
      hpa.status = { desiredReplicas: 0 };
    },
  },
});
