/** What an update may not change, per kind (Kubernetes' ValidateXUpdate functions). */
import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import type { ResourceType } from '../registry';
import type { KubeObject } from '../types';
import { isAbsent, isPlainObject } from './fields';
import { STORAGE_UPDATE_RULES } from './storage-updates';

/** Structural equality of JSON values, key order ignored. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
  return keys.length === otherKeys.length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
}

function specOf(obj: KubeObject): Record<string, unknown> {
  return isPlainObject(obj.spec) ? obj.spec : {};
}

function immutableField(path: string, value: unknown): FieldCause {
  return field.invalid(path, value, 'field is immutable');
}

function selectorUnchanged(obj: KubeObject, old: KubeObject): FieldCause[] {
  const selector = specOf(obj).selector;
  return sameJson(selector, specOf(old).selector) ? [] : [immutableField('spec.selector', selector)];
}

const IMMUTABLE_SET = 'field is immutable when `immutable` is set';

/** Once a config map or secret is marked immutable, neither its payload nor the mark may change. */
function payloadFrozen(payloadFields: string[]) {
  return (obj: KubeObject, old: KubeObject): FieldCause[] => {
    if (old.immutable !== true) return [];
    const causes: FieldCause[] = [];
    if (obj.immutable !== true) causes.push(field.forbidden('immutable', IMMUTABLE_SET));
    for (const name of payloadFields) {
      if (!sameJson(obj[name] ?? {}, old[name] ?? {})) causes.push(field.forbidden(name, IMMUTABLE_SET));
    }
    return causes;
  };
}

function secretUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const causes = payloadFrozen(['data'])(obj, old);
  if (!isAbsent(old.type) && obj.type !== old.type) causes.push(immutableField('type', obj.type));
  return causes;
}

/** A service keeps the virtual IP it was given: clients and proxies already use it. */
function clusterIPKept(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const causes: FieldCause[] = [];
  if (typeof before.clusterIP === 'string' && before.clusterIP !== '' && spec.clusterIP !== before.clusterIP) {
    causes.push(immutableField('spec.clusterIP', spec.clusterIP ?? ''));
  }
  if (Array.isArray(before.clusterIPs) && before.clusterIPs.length > 0 && Array.isArray(spec.clusterIPs)) {
    if (spec.clusterIPs[0] !== before.clusterIPs[0]) causes.push(immutableField('spec.clusterIPs[0]', spec.clusterIPs[0]));
  }
  return causes;
}

export const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
  '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),' +
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Copies the images of `from`'s containers onto `onto`'s, so that only the other fields get compared. */
function withImagesOf(onto: unknown, from: unknown): unknown {
  if (!Array.isArray(onto) || !Array.isArray(from) || onto.length !== from.length) return onto;
  return onto.map((container, i) =>
    isPlainObject(container) && isPlainObject(from[i]) ? { ...container, image: from[i].image } : container,
  );
}

/** Tolerations may only grow: the old ones must all still be there. */
function onlyAddedTolerations(tolerations: unknown, before: unknown): boolean {
  const old = Array.isArray(before) ? before : [];
  const now = Array.isArray(tolerations) ? tolerations : isAbsent(tolerations) ? [] : undefined;
  return now !== undefined && old.every((t) => now.some((n) => sameJson(n, t)));
}

function podSpecUpdate(obj: KubeObject, old: KubeObject): FieldCause[] {
  const spec = specOf(obj);
  const before = specOf(old);
  const newGrace = spec.terminationGracePeriodSeconds;
  const oldGrace = before.terminationGracePeriodSeconds;
  const comparable = {
    ...spec,
    containers: withImagesOf(spec.containers, before.containers),
    initContainers: withImagesOf(spec.initContainers, before.initContainers),
    activeDeadlineSeconds: before.activeDeadlineSeconds,
    tolerations: onlyAddedTolerations(spec.tolerations, before.tolerations) ? before.tolerations : spec.tolerations,
    terminationGracePeriodSeconds: typeof oldGrace === 'number' && oldGrace < 0 && newGrace === 1 ? oldGrace : newGrace,
    // The pods/binding subresource assigns a node through an update; once assigned it stays.
    nodeName: isAbsent(before.nodeName) || before.nodeName === '' ? before.nodeName : spec.nodeName,
  };
  return sameJson(comparable, before) ? [] : [field.forbidden('spec', POD_UPDATE_FORBIDDEN)];
}

const UPDATE_RULES: Readonly<Record<string, (obj: KubeObject, old: KubeObject) => FieldCause[]>> = {
  '/Pod': podSpecUpdate,
  'apps/Deployment': selectorUnchanged,
  'apps/ReplicaSet': selectorUnchanged,
  '/Service': clusterIPKept,
  '/ConfigMap': payloadFrozen(['data', 'binaryData']),
  '/Secret': secretUpdate,
  'apps/DaemonSet': selectorUnchanged,
  'apps/ControllerRevision': (obj, old) => (sameJson(obj.data, old.data) ? [] : [immutableField('data', obj.data)]),
  'discovery.k8s.io/EndpointSlice': (obj, old) => (obj.addressType === old.addressType ? [] : [immutableField('addressType', obj.addressType)]),
};

export function updateCauses(type: ResourceType, obj: KubeObject, old: KubeObject): FieldCause[] {
  const kind = `${type.group}/${type.kind}`;
  // Looked up at call time: storage-updates imports sameJson from here.
  return (UPDATE_RULES[kind] ?? STORAGE_UPDATE_RULES[kind])?.(obj, old) ?? [];
}
