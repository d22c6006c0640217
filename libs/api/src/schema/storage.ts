/** core/v1 PersistentVolume and PersistentVolumeClaim, storage.k8s.io/v1 StorageClass, apps/v1 StatefulSet. */
import { field } from '@berth/errors';
import { isQuantity, parseQuantity } from '../quantity';
import type * as kinds from '../storage-kinds';
import type { KubeObject } from '../types';
import type { Check } from './fields';
import { isAbsent, isPlainObject, problem, required, t, Field, Nested, NestedList } from './fields';
import { atLeast, countOrPercent, exactlyOneOf, nonNegative, oneOf, quantities } from './checks';
import { Condition, LabelSelector, ObjectMeta, ObjectReference, TypedObject } from './meta';
import { HostPathVolumeSource, NodeSelector, PodTemplateSpec } from './pod';
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors, syntax } from './syntax';
import { nonEmptySelector, restartsAlways, templateMatchesSelector } from './workloads';

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;
const RECLAIM_POLICIES = ['Retain', 'Delete'] as const;

const accessModes: Check<string[]> = (modes) => {
  const problems = modes.flatMap((mode, i) => (ACCESS_MODES.includes(mode as never) ? [] : [problem(field.notSupported('', mode, ACCESS_MODES), `[${i}]`)]));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) problems.push(problem(field.forbidden('', 'may not use ReadWriteOncePod with other access modes')));
  return problems;
};

/** `storage` is the one resource a volume has; it must be a positive quantity. */
const storageAmount: Check<Record<string, string | number>> = (list) => {
  const storage = list.storage;
  if (isAbsent(storage)) return problem(field.required('', ''), '[storage]');
  if (isQuantity(storage) && parseQuantity(storage) <= 0) return problem(field.invalid('', storage, 'must be greater than zero'), '[storage]');
  return Object.keys(list)
    .filter((name) => name !== 'storage')
    .map((name) => problem(field.notSupported('', name, ['storage']), `[${name}]`));
};

const absolutePath: Check<string> = (path) =>
  path.startsWith('/') && !path.split('/').includes('..') ? undefined : problem(field.invalid('', path, 'must be an absolute path without ".."'));

const nonEmptyList: Check<unknown[]> = (list) => (list.length ? undefined : problem(field.required('', '')));

export class LocalVolumeSource implements kinds.LocalVolumeSource {
  @Field(t.string, required, absolutePath) path!: string;
  @Field(t.string) fsType?: string;
}

export class VolumeNodeAffinity {
  @Nested(() => NodeSelector) required?: NodeSelector;
}

const pvSource = exactlyOneOf(['hostPath', 'local'], 'must specify a volume type', 'may not specify more than 1 volume type');
/** The sources berth's nodes can mount: a directory of the node (hostPath, local). */
const oneSource: Check<Record<string, unknown>> = (spec) => pvSource(spec, '');

/** A local volume is on one node: which one is part of the volume. */
const localNeedsAffinity: Check<Record<string, unknown>> = (spec) =>
  !isPlainObject(spec.local) || (isPlainObject(spec.nodeAffinity) && isPlainObject(spec.nodeAffinity.required))
    ? undefined
    : problem(field.required('', 'Local volume requires node affinity'), '.nodeAffinity');

const hostPathAbsolute: Check<Record<string, unknown>> = (hostPath) =>
  typeof hostPath.path === 'string' && absolutePath(hostPath.path, hostPath) ? problem(field.invalid('', hostPath.path, 'must be an absolute path without ".."'), '.path') : undefined;

export class PersistentVolumeSpec {
  @Field(t.quantityMap, required, quantities, storageAmount) capacity?: Record<string, string>;
  @Field(t.stringList, required, nonEmptyList, accessModes) accessModes?: kinds.PersistentVolumeAccessMode[];
  @Nested(() => ObjectReference) claimRef?: ObjectReference;
  @Field(t.string, oneOf(RECLAIM_POLICIES)) persistentVolumeReclaimPolicy?: kinds.PersistentVolumeReclaimPolicy;
  @Field(t.string) storageClassName?: string;
  @Field(t.stringList) mountOptions?: string[];
  @Field(t.string, oneOf(['Filesystem'])) volumeMode?: kinds.PersistentVolumeMode;
  @Nested(() => VolumeNodeAffinity) nodeAffinity?: VolumeNodeAffinity;
  @Nested(() => HostPathVolumeSource, hostPathAbsolute) hostPath?: HostPathVolumeSource;
  @Nested(() => LocalVolumeSource) local?: LocalVolumeSource;
}

export class PersistentVolumeStatus implements kinds.PersistentVolumeStatus {
  @Field(t.string, oneOf(['Pending', 'Available', 'Bound', 'Released', 'Failed'])) phase?: kinds.PersistentVolumePhase;
  @Field(t.string) message?: string;
  @Field(t.string) reason?: string;
  @Field(t.string) lastPhaseTransitionTime?: string;
}

export class PersistentVolumeObject extends TypedObject {
  @Nested(() => PersistentVolumeSpec, required, oneSource, localNeedsAffinity) spec!: PersistentVolumeSpec;
  @Nested(() => PersistentVolumeStatus) status?: PersistentVolumeStatus;
}

export class VolumeResourceRequirements implements kinds.VolumeResourceRequirements {
  @Field(t.quantityMap, required, quantities, storageAmount) requests?: Record<string, string>;
  @Field(t.quantityMap, quantities) limits?: Record<string, string>;
}

export class PersistentVolumeClaimSpec {
  @Field(t.stringList, required, nonEmptyList, accessModes) accessModes?: kinds.PersistentVolumeAccessMode[];
  @Nested(() => LabelSelector) selector?: LabelSelector;
  @Nested(() => VolumeResourceRequirements, required) resources?: VolumeResourceRequirements;
  @Field(t.string) volumeName?: string;
  @Field(t.string) storageClassName?: string;
  @Field(t.string, oneOf(['Filesystem'])) volumeMode?: kinds.PersistentVolumeMode;
}

export class PersistentVolumeClaimStatus implements kinds.PersistentVolumeClaimStatus {
  @Field(t.string, oneOf(['Pending', 'Bound', 'Lost'])) phase?: kinds.PersistentVolumeClaimPhase;
  @Field(t.stringList) accessModes?: kinds.PersistentVolumeAccessMode[];
  @Field(t.quantityMap) capacity?: Record<string, string>;
  @NestedList(() => Condition) conditions?: kinds.PersistentVolumeClaimCondition[];
}

export class PersistentVolumeClaimObject extends TypedObject {
  @Nested(() => PersistentVolumeClaimSpec, required) spec!: PersistentVolumeClaimSpec;
  @Nested(() => PersistentVolumeClaimStatus) status?: PersistentVolumeClaimStatus;
}

export class StorageClassObject extends TypedObject {
  @Field(t.string, required, syntax(qualifiedNameErrors)) provisioner!: string;
  @Field(t.stringMap) parameters?: Record<string, string>;
  @Field(t.string, oneOf(RECLAIM_POLICIES)) reclaimPolicy?: kinds.PersistentVolumeReclaimPolicy;
  @Field(t.stringList) mountOptions?: string[];
  @Field(t.boolean) allowVolumeExpansion?: boolean;
  @Field(t.string, oneOf(['Immediate', 'WaitForFirstConsumer'])) volumeBindingMode?: kinds.VolumeBindingMode;
  @Field(t.objectList) allowedTopologies?: Record<string, unknown>[];
}

// ---------------------------------------------------------------------------------------------------------
// apps/v1 StatefulSet

export class RollingUpdateStatefulSetStrategy implements kinds.RollingUpdateStatefulSetStrategy {
  @Field(t.integer, nonNegative) partition?: number;
  @Field(t.intOrString, countOrPercent) maxUnavailable?: number | string;
}

const rollingOnlyForRollingUpdate: Check<Record<string, unknown>> = (_rolling, strategy) =>
  strategy.type === 'OnDelete' ? problem(field.invalid('', _rolling, 'only allowed for updateStrategy \'RollingUpdate\'')) : undefined;

export class StatefulSetUpdateStrategy implements kinds.StatefulSetUpdateStrategy {
  @Field(t.string, oneOf(['RollingUpdate', 'OnDelete'])) type?: 'RollingUpdate' | 'OnDelete';
  @Nested(() => RollingUpdateStatefulSetStrategy, rollingOnlyForRollingUpdate) rollingUpdate?: RollingUpdateStatefulSetStrategy;
}

export class StatefulSetPersistentVolumeClaimRetentionPolicy implements kinds.StatefulSetPersistentVolumeClaimRetentionPolicy {
  @Field(t.string, oneOf(['Retain', 'Delete'])) whenDeleted?: kinds.PersistentVolumeClaimRetentionPolicyType;
  @Field(t.string, oneOf(['Retain', 'Delete'])) whenScaled?: kinds.PersistentVolumeClaimRetentionPolicyType;
}

export class PersistentVolumeClaimTemplate {
  @Field(t.string) apiVersion?: string;
  @Field(t.string) kind?: string;
  @Nested(() => ObjectMeta, required) metadata!: ObjectMeta;
  @Nested(() => PersistentVolumeClaimSpec, required) spec!: PersistentVolumeClaimSpec;
}

/** Each template names the claims `<template>-<set>-<ordinal>` and the volume the pods mount: a DNS label. */
const claimTemplateNames: Check<Array<Record<string, unknown>>> = (templates) => {
  const problems = templates.flatMap((template, i) => {
    const name = isPlainObject(template.metadata) ? template.metadata.name : undefined;
    if (typeof name !== 'string' || name === '') return [problem(field.required('', ''), `[${i}].metadata.name`)];
    return dns1123LabelErrors(name).map((detail) => problem(field.invalid('', name, detail), `[${i}].metadata.name`));
  });
  const seen = new Set<unknown>();
  templates.forEach((template, i) => {
    const name = isPlainObject(template.metadata) ? template.metadata.name : undefined;
    if (typeof name === 'string' && seen.has(name)) problems.push(problem(field.duplicate('', name), `[${i}].metadata.name`));
    seen.add(name);
  });
  return problems;
};

export class StatefulSetOrdinals {
  @Field(t.integer, nonNegative) start?: number;
}

export class StatefulSetSpec {
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

export class StatefulSetStatus implements kinds.StatefulSetStatus {
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.integer, nonNegative) replicas!: number;
  @Field(t.integer, nonNegative) readyReplicas?: number;
  @Field(t.integer, nonNegative) currentReplicas?: number;
  @Field(t.integer, nonNegative) updatedReplicas?: number;
  @Field(t.integer, nonNegative) availableReplicas?: number;
  @Field(t.string) currentRevision?: string;
  @Field(t.string) updateRevision?: string;
  @Field(t.integer, atLeast(0)) collisionCount?: number;
  @NestedList(() => Condition) conditions?: kinds.StatefulSetCondition[];
}

export class StatefulSetObject extends TypedObject {
  @Nested(() => StatefulSetSpec, required) spec!: StatefulSetSpec;
  @Nested(() => StatefulSetStatus) status?: StatefulSetStatus;
}

/**
 * What a StatefulSet is validated as: its pods mount the claims of its templates as volumes of those names,
 * which the template's own volumes do not list (the controller adds them to each pod).
 */
export function statefulSetValidationView(obj: KubeObject): KubeObject {
  const spec = obj.spec;
  if (!isPlainObject(spec) || !Array.isArray(spec.volumeClaimTemplates) || !isPlainObject(spec.template) || !isPlainObject(spec.template.spec)) return obj;
  const podSpec = spec.template.spec;
  const names = spec.volumeClaimTemplates.map((t) => (isPlainObject(t) && isPlainObject(t.metadata) ? t.metadata.name : undefined)).filter((n): n is string => typeof n === 'string' && n !== '');
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes : [];
  const declared = new Set(volumes.map((v) => (isPlainObject(v) ? v.name : undefined)));
  const added = [...new Set(names)].filter((name) => !declared.has(name) && dns1123LabelErrors(name).length === 0).map((name) => ({ name, persistentVolumeClaim: { claimName: name } }));
  if (!added.length) return obj;
  return { ...obj, spec: { ...spec, template: { ...spec.template, spec: { ...podSpec, volumes: [...volumes, ...added] } } } };
}
