/** Rules every workload kind that owns pods through a selector and a pod template shares. */
import { field } from '@berth/errors';
import { matchesLabels, requirementsOfSelector } from '../../selectors';
import type { Check } from '../../schema/fields';
import { isPlainObject, problem } from '../../schema/fields';
import { isEmptySelector, LabelSelector } from '../../schema/meta';
import type { FieldCause } from '@berth/errors';
import type { KubeObject } from '../../types';
import type { ContainerView } from '../columns';
import { immutableField, sameJson, specOf } from '../immutable';
import { child, setDefault, type Obj } from '../defaulting';

/** Go's `%#v` of a label map, the value Kubernetes shows when a selector misses the template. */
function goStringMap(labels: unknown): string {
  if (!isPlainObject(labels)) return 'map[string]string(nil)';
  const entries = Object.keys(labels)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(labels[key])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

export function nonEmptySelector(kindWord: string): Check<LabelSelector> {
  return (selector) =>
    isEmptySelector(selector) ? problem(field.invalid('', selector, `empty selector is invalid for ${kindWord}`)) : undefined;
}

/** The controller would never own its own pods if the selector missed the template's labels. */
export const templateMatchesSelector: Check<Record<string, unknown>> = (template, spec) => {
  const selector = spec.selector;
  if (!isPlainObject(selector) || isEmptySelector(selector)) return undefined;
  let requirements;
  try {
    requirements = requirementsOfSelector(selector);
  } catch {
    return undefined; // the selector's own problems are reported at spec.selector
  }
  const labels = isPlainObject(template.metadata) ? template.metadata.labels : undefined;
  const labelMap = isPlainObject(labels) ? (labels as Record<string, string>) : undefined;
  if (matchesLabels(requirements, labelMap)) return undefined;
  return {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${goStringMap(labels)}: \`selector\` does not match template \`labels\``,
    subpath: '.metadata.labels',
  };
};

/** A maxSurge or maxUnavailable of nothing. */
export const isZero = (value: unknown): boolean => value === 0 || value === '0%';

/** maxSurge and maxUnavailable are at most every pod. */
export const atMostAllPods: Check<number | string> = (value) =>
  typeof value === 'string' && /^[0-9]+%$/.test(value) && parseInt(value, 10) > 100
    ? problem(field.invalid('', value, 'must not be greater than 100%'))
    : undefined;

/** Workload pods are replaced, never left finished: only `Always` makes sense. */
export const restartsAlways: Check<Record<string, unknown>> = (template) => {
  const spec = template.spec;
  if (!isPlainObject(spec) || spec.restartPolicy === undefined || spec.restartPolicy === 'Always') return undefined;
  return problem(field.notSupported('', spec.restartPolicy, ['Always']), '.spec.restartPolicy');
};


/** A workload's selector decides which pods it owns: changing it would orphan or steal pods. */
export function selectorUnchanged(obj: KubeObject, old: KubeObject): FieldCause[] {
  const selector = specOf(obj).selector;
  return sameJson(selector, specOf(old).selector) ? [] : [immutableField('spec.selector', selector)];
}

/** What the tables of replica-counting workloads read. */
export interface WorkloadView {
  spec?: { replicas?: number; selector?: unknown; template?: { spec?: { containers?: ContainerView[] } } };
  status?: { replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

/** Deployments and ReplicaSets default spec.replicas to 1. */
export function desiredReplicas(workload: WorkloadView): number {
  return workload.spec?.replicas ?? 1;
}

/**
 * Defaults a workload's update strategy at spec[field] (Deployment's `strategy`, DaemonSet's
 * `updateStrategy`): RollingUpdate, and its rollingUpdate's fenceposts when that is the type.
 */
export function defaultRollingUpdate(spec: Obj, field: string, fenceposts: { maxUnavailable: number | string; maxSurge: number | string }): void {
  const strategy = child(spec, field);
  if (!strategy) return;
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type !== 'RollingUpdate') return;
  const rollingUpdate = child(strategy, 'rollingUpdate');
  if (!rollingUpdate) return;
  setDefault(rollingUpdate, 'maxUnavailable', fenceposts.maxUnavailable);
  setDefault(rollingUpdate, 'maxSurge', fenceposts.maxSurge);
}
