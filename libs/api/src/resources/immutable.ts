/** What update rules (Kubernetes' ValidateXUpdate functions) are written with. */
import { field } from '@berth/errors';
import type { FieldCause } from '@berth/errors';
import { isPlainObject } from '../schema/fields';
import type { KubeObject } from '../types';

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

/** An object's spec as a plain object ({} when absent or malformed). */
export function specOf(obj: KubeObject): Record<string, unknown> {
  return isPlainObject(obj.spec) ? obj.spec : {};
}

export function immutableField(path: string, value: unknown): FieldCause {
  return field.invalid(path, value, 'field is immutable');
}

const IMMUTABLE_SET = 'field is immutable when `immutable` is set';

/** Once a config map or secret is marked immutable, neither its payload nor the mark may change. */
export function payloadFrozen(payloadFields: string[]) {
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
