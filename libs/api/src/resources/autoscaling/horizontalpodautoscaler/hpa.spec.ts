import type { HorizontalPodAutoscaler } from './types';
import { admitted, tableRow, typeNamed } from '../../spec-helpers';
import { resourceForKind } from '../../../registry';
import { validateObject } from '../../../validation';
import { v1ToV2, v2ToV1, BEHAVIOR_ANNOTATION, METRICS_ANNOTATION } from './v1';
import type { KubeObject } from '../../../types';

const NOW = new Date('2026-12-07T12:00:00Z');

function hpa(spec: Record<string, unknown> = {}, status?: Record<string, unknown>): HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2026-12-07T11:59:00Z' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, ...spec },
    ...(status ? { status } : {}),
  } as HorizontalPodAutoscaler;
}

const cpu = (averageUtilization: number) => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } } });

describe('HorizontalPodAutoscaler', () => {
  it('is served as autoscaling/v2 (preferred) and v1, short name hpa, with a status subresource', () => {
    const type = typeNamed('hpa');
    expect([type.group, type.version, type.kind, type.plural]).toEqual(['autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers']);
    expect(type.subresources).toEqual(['status']);
    expect(resourceForKind('autoscaling/v1', 'HorizontalPodAutoscaler')?.conversion?.stored).toBe(type);
  });

  it('defaults to one replica at least and CPU at 80%; a behavior given gets both directions filled in', () => {
    const plain = hpa();
    expect(admitted('hpa', plain)).toEqual([]);
    expect(plain.spec!.minReplicas).toBe(1);
    expect(plain.spec!.metrics).toEqual([cpu(80)]);
    expect(plain.spec!.behavior).toBeUndefined();

    const tuned = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 5 } } });
    expect(admitted('hpa', tuned)).toEqual([]);
    expect(tuned.spec!.behavior).toEqual({
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
      scaleDown: { stabilizationWindowSeconds: 5, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['max below min', { minReplicas: 3, maxReplicas: 2 }, 'spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`'],
    ['min 0', { minReplicas: 0 }, 'spec.minReplicas: Invalid value: 0: must be greater than or equal to 1'],
    ['no target kind', { scaleTargetRef: { name: 'web' } }, 'spec.scaleTargetRef.kind: Required value'],
    ['a utilization of 0', { metrics: [cpu(0)] }, 'spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0'],
    [
      'a total Value of a resource',
      { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Value', value: '1' } } }] },
      'spec.metrics[0].resource.target.type: Invalid value: "Value": must be either Utilization or AverageValue',
    ],
    [
      'a custom metric',
      { metrics: [{ type: 'Pods' }] },
      'spec.metrics[0].type: Unsupported value: "Pods": supported values: "Resource", "ContainerResource"',
    ],
    ['a resource without its source', { metrics: [{ type: 'Resource' }] }, 'spec.metrics[0].resource: Required value'],
    [
      'a window over an hour',
      { behavior: { scaleDown: { stabilizationWindowSeconds: 3601 } } },
      'spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be between 0 and 3600, inclusive',
    ],
    [
      'a policy of 0 pods',
      { behavior: { scaleUp: { policies: [{ type: 'Pods', value: 0, periodSeconds: 15 }] } } },
      'spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than 0',
    ],
  ])('refuses %s', (_what, spec, cause) => {
    expect(admitted('hpa', hpa(spec))).toContain(cause);
  });

  it('prints NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE as kubectl does', () => {
    const fresh = hpa({ minReplicas: 1, metrics: [cpu(50)] });
    expect(tableRow('hpa', fresh, NOW)).toEqual({
      Name: 'web',
      Reference: 'Deployment/web',
      Targets: 'cpu: <unknown>/50%',
      MinPods: '1',
      MaxPods: 5,
      Replicas: 0,
      Age: '60s',
    });
    const busy = hpa(
      { metrics: [cpu(50), { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '64Mi' } } }, cpu(90)] },
      {
        currentReplicas: 3,
        desiredReplicas: 3,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 120, averageValue: '120m' } } },
          { type: 'Resource', resource: { name: 'memory', current: { averageValue: '10Mi' } } },
        ],
      },
    );
    expect(tableRow('hpa', busy, NOW)).toMatchObject({ Targets: 'cpu: 120%/50%, memory: 10Mi/64Mi + 1 more...', MinPods: '<unset>', Replicas: 3 });
  });
});

describe('autoscaling/v1 HorizontalPodAutoscaler', () => {
  const v1Type = resourceForKind('autoscaling/v1', 'HorizontalPodAutoscaler')!;
  const v1 = {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'x', namespace: 'default' },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'x', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
    status: { currentReplicas: 0, desiredReplicas: 0 },
  } as KubeObject;

  it('is kubectl autoscale\'s body, valid in v1', () => {
    expect(validateObject(v1Type, structuredClone(v1), { fieldValidation: 'Strict' }).causes).toEqual([]);
  });

  it('becomes a v2 CPU utilization metric, and comes back the same', () => {
    const stored = v1ToV2(structuredClone(v1));
    expect(stored.apiVersion).toBe('autoscaling/v2');
    expect(stored.spec).toEqual({ scaleTargetRef: { kind: 'Deployment', name: 'x', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 3, metrics: [cpu(50)] });
    expect(admitted('hpa', stored)).toEqual([]);
    const back = v2ToV1(stored);
    expect(back.spec).toEqual(v1.spec);
    expect(back.metadata.annotations).toBeUndefined();
  });

  it('keeps what v1 cannot say in annotations, so a v1 read-modify-write loses nothing', () => {
    const stored = hpa(
      {
        metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '64Mi' } } }, cpu(60)],
        behavior: { scaleDown: { stabilizationWindowSeconds: 10 } },
      },
      {
        desiredReplicas: 2,
        currentReplicas: 2,
        currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 70 } } }],
        conditions: [{ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale' }],
      },
    );
    const asV1 = v2ToV1(stored);
    expect(asV1.spec).toMatchObject({ targetCPUUtilizationPercentage: 60 });
    expect(asV1.status).toEqual({ desiredReplicas: 2, currentReplicas: 2, currentCPUUtilizationPercentage: 70 });
    expect(JSON.parse(asV1.metadata.annotations![METRICS_ANNOTATION])).toEqual([stored.spec!.metrics![0]]);
    expect(JSON.parse(asV1.metadata.annotations![BEHAVIOR_ANNOTATION])).toEqual({ scaleDown: { stabilizationWindowSeconds: 10 } });
    const again = v1ToV2(asV1) as HorizontalPodAutoscaler;
    expect(again.spec!.behavior).toEqual(stored.spec!.behavior);
    expect(again.spec!.metrics).toEqual([cpu(60), stored.spec!.metrics![0]]);
    expect(again.status!.conditions).toEqual(stored.status!.conditions);
    expect(again.metadata.annotations).toBeUndefined();
  });

  it('refuses an annotation that is not JSON with a 400, and passes odd shapes on for validation', () => {
    const bad = { ...structuredClone(v1), metadata: { name: 'x', annotations: { [BEHAVIOR_ANNOTATION]: '{' } } } as KubeObject;
    expect(() => v1ToV2(bad)).toThrow(/annotation could not be decoded as JSON/);
    const odd = { ...structuredClone(v1), spec: [] } as unknown as KubeObject;
    expect(v1ToV2(odd).spec).toEqual([]);
  });
});
