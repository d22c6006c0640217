/** apimachinery's ObjectMeta and the small reference types every kind shares. */
import { field } from '@berth/errors';
import { Doc, isAbsent, problem, required, requiredIf, t, Field, Nested, NestedList } from './fields';
import type { Check } from './fields';
import { oneOf, maxMapBytes, nonNegative } from './checks';
import { eachItem, eachKey, eachValue, labelValueErrors, qualifiedNameErrors } from './syntax';
import type * as meta from '../resources/meta/types';
import type * as api from '../types';

export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export const labelKeysAndValues: Check<Record<string, string>>[] = [eachKey(qualifiedNameErrors), eachValue(labelValueErrors)];

/** Kubernetes checks annotation keys case-insensitively. */
const annotationKeys: Check<Record<string, string>> = (map, owner) =>
  eachKey((key) => qualifiedNameErrors(key.toLowerCase()))(map, owner);

export class OwnerReference implements api.OwnerReference {
  @Field(t.string, required) apiVersion!: string;
  @Field(t.string, required) kind!: string;
  @Field(t.string, required) name!: string;
  @Field(t.string, required) uid!: string;
  @Field(t.boolean) controller?: boolean;
  @Field(t.boolean) blockOwnerDeletion?: boolean;
}

export class ManagedFieldsEntry implements api.ManagedFieldsEntry {
  @Field(t.string) manager?: string;
  @Field(t.string, oneOf(['Apply', 'Update'])) operation?: 'Apply' | 'Update';
  @Field(t.string) apiVersion?: string;
  @Field(t.string) time?: string;
  @Field(t.string, oneOf(['FieldsV1'])) fieldsType?: 'FieldsV1';
  @Field(t.object) fieldsV1?: Record<string, unknown>;
  @Field(t.string) subresource?: string;
}

/** At most one owner may be the managing controller. */
const singleController: Check<OwnerReference[]> = (refs) =>
  refs.filter((r) => r?.controller === true).length > 1
    ? problem(field.invalid('', refs, 'Only one reference can have Controller set to true'))
    : undefined;

export class ObjectMeta implements api.ObjectMeta {
  @Doc('Unique within the namespace (or the cluster, for cluster-scoped kinds). Cannot be changed.')
  @Field(t.string) name?: string;
  @Doc('A prefix the server completes with random characters when name is empty.')
  @Field(t.string) generateName?: string;
  @Doc('The namespace the object lives in; empty for cluster-scoped kinds.')
  @Field(t.string) namespace?: string;
  @Field(t.string) selfLink?: string;
  @Doc('Set by the server at creation, unique in time and space.')
  @Field(t.string) uid?: string;
  @Doc('Set by the server: the version of this object in the store, for optimistic concurrency and watches.')
  @Field(t.string) resourceVersion?: string;
  @Doc('Set by the server: incremented on every change of the desired state (everything but metadata and status).')
  @Field(t.integer, nonNegative) generation?: number;
  @Doc('Set by the server: when the object was created (RFC 3339).')
  @Field(t.string) creationTimestamp?: string;
  @Doc('Set by the server: when the object is to be gone; it waits for its finalizers and, for a pod, its grace period.')
  @Field(t.string) deletionTimestamp?: string;
  @Field(t.integer, nonNegative) deletionGracePeriodSeconds?: number;
  @Doc('Key/value pairs selectors match on (services, workloads, `-l`).')
  @Field(t.stringMap, ...labelKeysAndValues) labels?: Record<string, string>;
  @Doc('Key/value pairs tools store on the object; not used for selection.')
  @Field(t.stringMap, annotationKeys, maxMapBytes(MAX_ANNOTATIONS_BYTES)) annotations?: Record<string, string>;
  @Doc('The objects this one depends on; when all are gone, the garbage collector deletes it.')
  @NestedList(() => OwnerReference, singleController) ownerReferences?: OwnerReference[];
  @Doc('What must happen before the object is removed; each is taken off by whoever finished its part.')
  @Field(t.stringList, eachItem(qualifiedNameErrors)) finalizers?: string[];
  @NestedList(() => ManagedFieldsEntry) managedFields?: ManagedFieldsEntry[];
}

export class LabelSelectorRequirement implements meta.LabelSelectorRequirement {
  @Field(t.string, required, (key) => qualifiedNameErrors(key).map((d) => problem(field.invalid('', key, d)))) key!: string;
  @Field(t.string, required, oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist'])) operator!: meta.LabelSelectorOperator;
  @Field(t.stringList, requiredIf(takesValues), eachItem(labelValueErrors), noValuesForExistence) values?: string[];
}

function takesValues(requirement: Record<string, unknown>): boolean {
  return requirement.operator === 'In' || requirement.operator === 'NotIn';
}

/** Exists/DoesNotExist look at the key alone. */
function noValuesForExistence(values: string[], owner: Record<string, unknown>) {
  const operator = owner.operator;
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
    return problem(field.forbidden('', 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''));
  }
  return undefined;
}

export class LabelSelector implements meta.LabelSelector {
  @Doc('Labels an object must have, with these values.')
  @Field(t.stringMap, ...labelKeysAndValues) matchLabels?: Record<string, string>;
  @Doc('Requirements on labels (In, NotIn, Exists, DoesNotExist), all of which must hold.')
  @NestedList(() => LabelSelectorRequirement) matchExpressions?: LabelSelectorRequirement[];
}

export function isEmptySelector(selector: LabelSelector): boolean {
  const labels = selector.matchLabels;
  const expressions = selector.matchExpressions;
  return (isAbsent(labels) || Object.keys(labels).length === 0) && (isAbsent(expressions) || expressions.length === 0);
}

export class ObjectReference implements meta.ObjectReference {
  @Field(t.string) apiVersion?: string;
  @Field(t.string) kind?: string;
  @Field(t.string) namespace?: string;
  @Field(t.string) name?: string;
  @Field(t.string) uid?: string;
  @Field(t.string) resourceVersion?: string;
  @Field(t.string) fieldPath?: string;
}

export class LocalObjectReference implements meta.LocalObjectReference {
  @Field(t.string) name?: string;
}

/** The fields every object has; kinds add spec/status or their own top-level fields. */
export class TypedObject {
  @Doc('The versioned schema of this object: `v1`, `apps/v1`. Must match the resource the object is sent to.')
  @Field(t.string) apiVersion!: string;
  @Doc('The kind of object this is, in CamelCase: `Pod`, `Deployment`.')
  @Field(t.string) kind!: string;
  @Doc('The object\'s name, namespace, labels, annotations, owners and the server\'s bookkeeping (uid, resourceVersion, generation, timestamps).')
  @Nested(() => ObjectMeta, required) metadata!: ObjectMeta;
}

/** Conditions as most kinds report them in status. */
export class Condition {
  @Field(t.string, required) type!: string;
  @Field(t.string, required, oneOf(['True', 'False', 'Unknown'])) status!: meta.ConditionStatus;
  @Field(t.string) lastProbeTime?: string;
  @Field(t.string) lastHeartbeatTime?: string;
  @Field(t.string) lastUpdateTime?: string;
  @Field(t.string) lastTransitionTime?: string;
  @Field(t.string) reason?: string;
  @Field(t.string) message?: string;
  @Field(t.integer) observedGeneration?: number;
}
