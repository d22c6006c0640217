import { checkDecoded, PROTOTYPE_KEY } from '@berth/api';
import { errors } from '@berth/errors';

/**
 * Plain-JSON helpers shared by every patch flavour. Every document a client hands a patch function (the
 * patch, the operations, the applied configuration) is first checked as decoded bodies are (checkDecoded:
 * no `__proto__` anywhere, bounded nesting), unless it comes as a CheckedDocument; keys built from strings
 * inside it (pointers, directives, managed field paths) go through checkKey where they are used, and reads
 * of the target are own-member reads (@berth/api's ownMember, Object.hasOwn).
 */
export type JsonObject = Record<string, unknown>;

/**
 * A client's document that checkDecoded has passed. A patch function checks each document it is given,
 * unless it comes as one of these: a caller applying one document to several versions of an object
 * (ObjectService, retrying after a conflict) checks it once rather than on every attempt. Only check()
 * makes them; the document must not be changed afterwards.
 */
export class CheckedDocument<T = unknown> {
  private constructor(readonly value: T) {}

  static check<T>(value: T, what: string): CheckedDocument<T> {
    checkDecoded(value, what);
    return new CheckedDocument(value);
  }
}

/** A patch function's document, as given: for the checks of its shape, which come before checked(). */
export function documentOf<T>(given: T | CheckedDocument<T>): T {
  return given instanceof CheckedDocument ? given.value : given;
}

/** A patch function's document, checked (checkDecoded, `what` naming it) unless it came checked. */
export function checked<T>(given: T | CheckedDocument<T>, what: string): T {
  if (given instanceof CheckedDocument) return given.value;
  checkDecoded(given, what);
  return given;
}

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
