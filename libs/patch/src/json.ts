import { PROTOTYPE_KEY } from '@berth/api';
import { errors } from '@berth/errors';

/**
 * Plain-JSON helpers shared by every patch flavour. Every document a client hands a patch function (the
 * patch, the operations, the applied configuration) is first checked as decoded bodies are (checkDecoded:
 * no `__proto__` anywhere, bounded nesting); keys built from strings inside it (pointers, directives,
 * managed field paths) go through checkKey where they are used, and reads of the target are own-member reads
 * (@berth/api's ownMember, Object.hasOwn).
 */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses the one key whose assignment would replace an object's prototype; `where` names the patch part. */
export function checkKey(key: string, where: string): void {
  if (key === PROTOTYPE_KEY) throw errors.badRequest(`${where}: "${PROTOTYPE_KEY}" is not allowed as a field name`);
}

export function setMember(object: JsonObject, key: string, value: unknown, where: string): void {
  checkKey(key, where);
  object[key] = value;
}

export function deepClone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const aKeys = Object.keys(a).filter((k) => a[k] !== undefined);
    const bKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return aKeys.length === bKeys.length && aKeys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** A short rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
