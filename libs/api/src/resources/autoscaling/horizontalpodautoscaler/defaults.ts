/** Kubernetes' autoscaling/v2 defaults (pkg/apis/autoscaling/v2/defaults.go). */
import type { Obj } from '../../defaulting';
import { child, isObj, setDefault } from '../../defaulting';
import type { HPAScalingRules, HorizontalPodAutoscalerBehavior, MetricSpec } from './types';

/** Without metrics an autoscaler scales on CPU at 80% of the pods' requests. */
export const DEFAULT_CPU_UTILIZATION = 80;

/** Scale-up: no stabilisation, at most doubling or +4 pods (the larger) per 15 s. */
export function scaleUpRules(): Required<HPAScalingRules> {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
  };
}

/** Scale-down: the highest recommendation of the last 300 s, down to any count at once. */
export function scaleDownRules(): Required<HPAScalingRules> {
  return { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
}

export function defaultCpuMetric(utilization = DEFAULT_CPU_UTILIZATION): MetricSpec {
  return { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: utilization } } };
}

function defaultRules(rules: Obj, defaults: Required<HPAScalingRules>): void {
  setDefault(rules, 'stabilizationWindowSeconds', defaults.stabilizationWindowSeconds);
  setDefault(rules, 'selectPolicy', defaults.selectPolicy);
  setDefault(rules, 'policies', defaults.policies);
}

/** The rules the controller follows: the behavior's own, each part missing filled as the defaults have it. */
export function effectiveBehavior(behavior: HorizontalPodAutoscalerBehavior | undefined): { scaleUp: Required<HPAScalingRules>; scaleDown: Required<HPAScalingRules> } {
  const up = scaleUpRules();
  const down = scaleDownRules();
  const given = (rules: HPAScalingRules | undefined, defaults: Required<HPAScalingRules>): Required<HPAScalingRules> => ({
    stabilizationWindowSeconds: rules?.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: rules?.selectPolicy ?? defaults.selectPolicy,
    policies: rules?.policies?.length ? rules.policies : defaults.policies,
  });
  return { scaleUp: given(behavior?.scaleUp, up), scaleDown: given(behavior?.scaleDown, down) };
}

export function defaultHorizontalPodAutoscaler(hpa: Obj): void {
  const spec = child(hpa, 'spec');
  if (!spec) return;
  setDefault(spec, 'minReplicas', 1);
  if (spec.metrics === undefined || spec.metrics === null || (Array.isArray(spec.metrics) && spec.metrics.length === 0)) {
    spec.metrics = [defaultCpuMetric()];
  }
  // As Kubernetes: a behavior given gets both directions filled in; none given stays none (the controller uses the defaults).
  if (isObj(spec.behavior)) {
    const up = child(spec.behavior, 'scaleUp');
    if (up) defaultRules(up, scaleUpRules());
    const down = child(spec.behavior, 'scaleDown');
    if (down) defaultRules(down, scaleDownRules());
  }
}
