/** apps/v1 StatefulSet. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { isPlainObject, problem, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { atLeast, countOrPercent, nonNegative, oneOf } from '../../../schema/checks';
import { Condition, LabelSelector, ObjectMeta, TypedObject } from '../../../schema/meta';
import { dns1123LabelErrors, dns1123SubdomainErrors, syntax } from '../../../schema/syntax';
import type { KubeObject } from '../../../types';
import { PodTemplateSpec } from '../../core/pod/schema';
import { PersistentVolumeClaimSpec } from '../../core/persistentvolumeclaim/schema';
import type { KindShape } from '../../definition';
import { nonEmptySelector, restartsAlways, templateMatchesSelector } from '../workload';
import type * as types from './types';

export class RollingUpdateStatefulSetStrategy implements types.RollingUpdateStatefulSetStrategy {
  @Field(t.integer, nonNegative) partition?: number;
  @Field(t.intOrString, countOrPercent) maxUnavailable?: number | string;
}

const rollingOnlyForRollingUpdate: Check<Record<string, unknown>> = (rolling, strategy) =>
  strategy.type === 'OnDelete' ? problem(field.invalid('', rolling, "only allowed for updateStrategy 'RollingUpdate'")) : undefined;

export class StatefulSetUpdateStrategy implements types.StatefulSetUpdateStrategy {
  @Field(t.string, oneOf(['RollingUpdate', 'OnDelete'])) type?: 'RollingUpdate' | 'OnDelete';
  @Nested(() => RollingUpdateStatefulSetStrategy, rollingOnlyForRollingUpdate) rollingUpdate?: RollingUpdateStatefulSetStrategy;
}

export class StatefulSetPersistentVolumeClaimRetentionPolicy implements types.StatefulSetPersistentVolumeClaimRetentionPolicy {
  @Field(t.string, oneOf(['Retain', 'Delete'])) whenDeleted?: types.PersistentVolumeClaimRetentionPolicyType;
  @Field(t.string, oneOf(['Retain', 'Delete'])) whenScaled?: types.PersistentVolumeClaimRetentionPolicyType;
}

export class PersistentVolumeClaimTemplate implements types.PersistentVolumeClaimTemplate {
  @Field(t.string) apiVersion?: string;
  @Field(t.string) kind?: string;
  @Nested(() => ObjectMeta, required) metadata!: ObjectMeta;
  @Nested(() => PersistentVolumeClaimSpec, required) spec!: PersistentVolumeClaimSpec;
}

function templateName(template: unknown): unknown {
  return isPlainObject(template) && isPlainObject(template.metadata) ? template.metadata.name : undefined;
}

/** Each template names the claims `<template>-<set>-<ordinal>` and the volume the pods mount: distinct DNS labels. */
const claimTemplateNames: Check<Array<Record<string, unknown>>> = (templates) => {
  const problems = templates.flatMap((template, i) => {
    const name = templateName(template);
    if (typeof name !== 'string' || name === '') return [problem(field.required('', ''), `[${i}].metadata.name`)];
    return dns1123LabelErrors(name).map((detail) => problem(field.invalid('', name, detail), `[${i}].metadata.name`));
  });
  const seen = new Set<unknown>();
  templates.forEach((template, i) => {
    const name = templateName(template);
    if (typeof name === 'string' && seen.has(name)) problems.push(problem(field.duplicate('', name), `[${i}].metadata.name`));
    seen.add(name);
  });
  return problems;
};

export class StatefulSetOrdinals implements types.StatefulSetOrdinals {
  @Field(t.integer, nonNegative) start?: number;
}

export class StatefulSetSpec implements types.StatefulSetSpec {
  @Field(t.integer, nonNegative) replicas?: number;
  @Nested(() => LabelSelector, required, nonEmptySelector('statefulset')) selector!: LabelSelector;
  @Nested(() => PodTemplateSpec, required, templateMatchesSelector, restartsAlways) template!: PodTemplateSpec;
  @NestedList(() => PersistentVolumeClaimTemplate, claimTemplateNames) volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
  @Field(t.string, syntax(dns1123SubdomainErrors)) serviceName?: string;
  @Field(t.string, oneOf(['OrderedReady', 'Parallel'])) podManagementPolicy?: 'OrderedReady' | 'Parallel';
  @Nested(() => StatefulSetUpdateStrategy) updateStrategy?: StatefulSetUpdateStrategy;
  @Field(t.integer, nonNegative) revisionHistoryLimit?: number;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Nested(() => StatefulSetPersistentVolumeClaimRetentionPolicy) persistentVolumeClaimRetentionPolicy?: StatefulSetPersistentVolumeClaimRetentionPolicy;
  @Nested(() => StatefulSetOrdinals) ordinals?: StatefulSetOrdinals;
}

export class StatefulSetStatus implements types.StatefulSetStatus {
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.integer, nonNegative) replicas!: number;
  @Field(t.integer, nonNegative) readyReplicas?: number;
  @Field(t.integer, nonNegative) currentReplicas?: number;
  @Field(t.integer, nonNegative) updatedReplicas?: number;
  @Field(t.integer, nonNegative) availableReplicas?: number;
  @Field(t.string) currentRevision?: string;
  @Field(t.string) updateRevision?: string;
  @Field(t.integer, atLeast(0)) collisionCount?: number;
  @NestedList(() => Condition) conditions?: types.StatefulSetCondition[];
}

export class StatefulSetObject extends TypedObject implements KindShape<types.StatefulSet> {
  @Nested(() => StatefulSetSpec, required) spec!: StatefulSetSpec;
  @Nested(() => StatefulSetStatus) status?: StatefulSetStatus;
}

/**
 * What a StatefulSet is validated as: its pods mount the claims of its templates as volumes of those names,
 * which the template's own volumes do not list (the controller adds them to each pod).
 */
export function withClaimVolumes(obj: KubeObject): KubeObject {
  const spec = obj.spec;
  if (!isPlainObject(spec) || !Array.isArray(spec.volumeClaimTemplates) || !isPlainObject(spec.template) || !isPlainObject(spec.template.spec)) return obj;
  const podSpec = spec.template.spec;
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes : [];
  const declared = new Set(volumes.map((v) => (isPlainObject(v) ? v.name : undefined)));
  const names = new Set(spec.volumeClaimTemplates.map(templateName).filter((n): n is string => typeof n === 'string' && n !== '' && dns1123LabelErrors(n).length === 0));
  const added = [...names].filter((name) => !declared.has(name)).map((name) => ({ name, persistentVolumeClaim: { claimName: name } }));
  if (!added.length) return obj;
  return { ...obj, spec: { ...spec, template: { ...spec.template, spec: { ...podSpec, volumes: [...volumes, ...added] } } } };
}
