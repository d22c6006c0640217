/**
 * autoscaling/v1 HorizontalPodAutoscaler: what `kubectl autoscale` (v1.32) creates. Stored as v2; what v1
 * cannot say (other metrics, behavior, conditions) travels in annotations, as Kubernetes keeps it, so a v1
 * read-modify-write loses nothing.
 */
import { decodeJson } from '../../../decode';
import type { KubeObject } from '../../../types';
import { defineResource } from '../../definition';
import type { Obj } from '../../defaulting';
import { isObj } from '../../defaulting';
import { horizontalPodAutoscalerResource, HPA_TABLE } from './index';
import { HorizontalPodAutoscalerV1Object } from './schema';
import type { HorizontalPodAutoscalerV1 } from './types';

export const METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';
export const BEHAVIOR_ANNOTATION = 'autoscaling.alpha.kubernetes.io/behavior';
export const CURRENT_METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';
const CONVERSION_ANNOTATIONS = [METRICS_ANNOTATION, BEHAVIOR_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION];

/** A v2 metric (spec or status) v1's CPU fields say: a Resource cpu Utilization. */
function isCpuUtilization(metric: unknown, part: 'target' | 'current'): boolean {
  if (!isObj(metric) || metric.type !== 'Resource' || !isObj(metric.resource) || metric.resource.name !== 'cpu') return false;
  const value = metric.resource[part];
  return isObj(value) && (part === 'current' || value.type === 'Utilization') && typeof value.averageUtilization === 'number';
}

function utilizationOf(metric: Obj, part: 'target' | 'current'): number {
  return ((metric.resource as Obj)[part] as Obj).averageUtilization as number;
}

/** The metadata without the conversion annotations, and what they held. */
function splitAnnotations(metadata: unknown): { metadata: Obj; held: Record<string, unknown> } {
  if (!isObj(metadata)) return { metadata: {}, held: {} };
  const annotations = isObj(metadata.annotations) ? { ...metadata.annotations } : undefined;
  const held: Record<string, unknown> = {};
  if (annotations) {
    for (const key of CONVERSION_ANNOTATIONS) {
      const text = annotations[key];
      if (typeof text !== 'string') continue;
      held[key] = decodeJson(text, `the ${key} annotation`);
      delete annotations[key];
    }
  }
  const out: Obj = { ...metadata };
  if (annotations) {
    if (Object.keys(annotations).length) out.annotations = annotations;
    else delete out.annotations;
  }
  return { metadata: out, held };
}

function withAnnotations(metadata: unknown, add: Record<string, unknown>): Obj {
  const out: Obj = isObj(metadata) ? { ...metadata } : {};
  const entries = Object.entries(add).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return out;
  out.annotations = { ...(isObj(out.annotations) ? out.annotations : {}), ...Object.fromEntries(entries.map(([key, value]) => [key, JSON.stringify(value)])) };
  return out;
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** v1 to the stored v2. A body of the wrong shape goes on as it is, for validation to report. */
export function v1ToV2(obj: KubeObject): KubeObject {
  if (!isObj(obj)) return obj;
  const { metadata, held } = splitAnnotations(obj.metadata);
  const out: Obj = { ...obj, apiVersion: 'autoscaling/v2', metadata };
  const spec = obj.spec as unknown;
  if (isObj(spec)) {
    const { targetCPUUtilizationPercentage, ...rest } = spec;
    const cpu = targetCPUUtilizationPercentage !== undefined && targetCPUUtilizationPercentage !== null
      ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage } } }]
      : [];
    const metrics = [...cpu, ...list(held[METRICS_ANNOTATION])];
    out.spec = { ...rest, ...(metrics.length ? { metrics } : {}), ...(held[BEHAVIOR_ANNOTATION] !== undefined ? { behavior: held[BEHAVIOR_ANNOTATION] } : {}) };
  }
  const status = obj.status as unknown;
  if (isObj(status)) {
    const { currentCPUUtilizationPercentage, ...rest } = status;
    const cpu = typeof currentCPUUtilizationPercentage === 'number'
      ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: currentCPUUtilizationPercentage } } }]
      : [];
    const currentMetrics = [...cpu, ...list(held[CURRENT_METRICS_ANNOTATION])];
    const conditions = list(held[CONDITIONS_ANNOTATION]);
    out.status = { ...rest, ...(currentMetrics.length ? { currentMetrics } : {}), ...(conditions.length ? { conditions } : {}) };
  }
  return out as KubeObject;
}

/** The stored v2 as v1: the first CPU utilization target in v1's fields, the rest in annotations. */
export function v2ToV1(obj: KubeObject): KubeObject {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const status = isObj(obj.status) ? obj.status : {};
  const metrics = list(spec.metrics);
  const cpuAt = metrics.findIndex((m) => isCpuUtilization(m, 'target'));
  const otherMetrics = metrics.filter((_, i) => i !== cpuAt);
  const current = list(status.currentMetrics);
  const currentCpuAt = current.findIndex((m) => isCpuUtilization(m, 'current'));
  const otherCurrent = current.filter((_, i) => i !== currentCpuAt);
  const conditions = list(status.conditions);
  const { metrics: _metrics, behavior, ...specRest } = spec;
  const { currentMetrics: _current, conditions: _conditions, ...statusRest } = status;
  return {
    ...obj,
    apiVersion: 'autoscaling/v1',
    metadata: withAnnotations(obj.metadata, {
      [METRICS_ANNOTATION]: otherMetrics.length ? otherMetrics : undefined,
      [BEHAVIOR_ANNOTATION]: behavior,
      [CURRENT_METRICS_ANNOTATION]: otherCurrent.length ? otherCurrent : undefined,
      [CONDITIONS_ANNOTATION]: conditions.length ? conditions : undefined,
    }),
    spec: { ...specRest, ...(cpuAt >= 0 ? { targetCPUUtilizationPercentage: utilizationOf(metrics[cpuAt] as Obj, 'target') } : {}) },
    status: {
      currentReplicas: 0,
      ...statusRest,
      ...(currentCpuAt >= 0 ? { currentCPUUtilizationPercentage: utilizationOf(current[currentCpuAt] as Obj, 'current') } : {}),
    },
  } as KubeObject;
}

export const horizontalPodAutoscalerV1Resource = defineResource<HorizontalPodAutoscalerV1>({
  group: 'autoscaling',
  version: 'v1',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  shortNames: ['hpa'],
  // Not in `all`: the objects are listed once, in v2.
  subresources: ['status'],
  schema: HorizontalPodAutoscalerV1Object,
  table: HPA_TABLE,
  conversion: { stored: horizontalPodAutoscalerResource, toStored: v1ToV2, fromStored: v2ToV1 },
});
