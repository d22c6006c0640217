import { ownMember, type KubeObject, type ResourceType } from '@berth/api';
import { errors } from '@berth/errors';
import { checked, CheckedDocument, checkKey, deepClone, deepEqual, describeValue, documentOf, isJsonObject, JsonObject, setMember } from './json';
import { EMPTY_SCHEMA, FieldSchema, fieldSchema, schemaFor } from './schema';

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/** What merging a map with `$patch: delete` yields: the map goes away. */
const DELETED = Symbol('deleted');
type Merged = JsonObject | typeof DELETED;

/** Kubernetes strategic merge patch, with the merge keys and strategies of the type's schema. */
export function applyStrategicMergePatch(type: ResourceType, target: KubeObject, given: unknown | CheckedDocument): KubeObject {
  const patch = documentOf(given);
  if (!isJsonObject(patch)) {
    throw errors.badRequest(`a strategic merge patch must be a JSON object, got ${describeValue(patch)}`);
  }
  checked(given, 'the strategic merge patch');
  const merged = mergeMap(deepClone(target) as JsonObject, patch, schemaFor(type), '');
  if (merged === DELETED) throw errors.badRequest('a strategic merge patch cannot delete the whole object');
  return merged as KubeObject;
}

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Merges `patch` into `original`, which the caller owns and which is modified in place. */
function mergeMap(original: JsonObject, patch: JsonObject, schema: FieldSchema, path: string): Merged {
  const directive = ownMember(patch, PATCH);
  if (directive === 'delete') return DELETED;
  if (directive === 'replace') {
    const replacement = { ...patch };
    delete replacement[PATCH];
    return mergeMap({}, replacement, schema, path);
  }
  if (directive !== undefined && directive !== 'merge') {
    throw errors.badRequest(`unknown patch directive ${describeValue(directive)} in ${path || 'the object'}`);
  }

  const orders: Array<{ key: string; order: unknown; live: unknown[] }> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      deleteFromPrimitiveList(original, key.slice(DELETE_FROM_PRIMITIVE_LIST.length), value, path);
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === PATCH || key === RETAIN_KEYS || key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    if (key.startsWith(SET_ELEMENT_ORDER)) {
      const listKey = key.slice(SET_ELEMENT_ORDER.length);
      checkKey(listKey, at(path, key));
      const live = ownMember(original, listKey);
      orders.push({ key: listKey, order: value, live: Array.isArray(live) ? [...live] : [] });
      continue;
    }
    if (key.startsWith('$')) throw errors.badRequest(`unknown patch directive ${JSON.stringify(key)} in ${path || 'the object'}`);
    mergeField(original, key, value, fieldSchema(schema, key), at(path, key));
  }
  for (const { key, order, live } of orders) applyElementOrder(original, key, order, live, fieldSchema(schema, key), at(path, key));
  if (Object.hasOwn(patch, RETAIN_KEYS)) retainKeys(original, patch[RETAIN_KEYS], path);
  return original;
}

function mergeField(target: JsonObject, key: string, value: unknown, schema: FieldSchema, path: string): void {
  if (value === null) {
    delete target[key];
    return;
  }
  const current = ownMember(target, key);
  let merged: unknown;
  if (isJsonObject(value)) {
    // Maps always merge here: atomic maps (mapType=atomic) are a server-side apply notion, not SMP's.
    merged = mergeMap(isJsonObject(current) ? current : {}, value, schema, path);
  } else if (Array.isArray(value)) {
    const list = schema.list;
    const existing = Array.isArray(current) ? current : [];
    if (list?.type === 'map') merged = mergeKeyedList(existing, value, list.mergeKey, list.item, path);
    else if (list?.type === 'set') merged = mergeSet(existing, value);
    else merged = value.map((item) => fresh(item, EMPTY_SCHEMA, path));
  } else {
    merged = value;
  }
  if (merged === DELETED) delete target[key];
  else setMember(target, key, merged, path);
}

/** A patch value with nothing to merge into: directives and nulls are resolved against emptiness. */
function fresh(value: unknown, schema: FieldSchema, path: string): unknown {
  if (isJsonObject(value)) {
    const merged = mergeMap({}, value, schema, path);
    return merged === DELETED ? {} : merged;
  }
  return Array.isArray(value) ? value.map((item) => fresh(item, EMPTY_SCHEMA, path)) : value;
}

function mergeKeyedList(original: unknown[], patch: unknown[], mergeKey: string, itemSchema: FieldSchema, path: string): unknown[] {
  if (patch.some((item) => isJsonObject(item) && ownMember(item, PATCH) === 'replace')) {
    return patch
      .filter((item) => !(isJsonObject(item) && ownMember(item, PATCH) === 'replace'))
      .map((item) => fresh(item, itemSchema, path));
  }
  const result = [...original];
  for (const item of patch) {
    if (!isJsonObject(item)) {
      throw errors.badRequest(`${path}: items of this list must be objects with the merge key "${mergeKey}", got ${describeValue(item)}`);
    }
    if (!Object.hasOwn(item, mergeKey)) {
      throw errors.badRequest(`${path}: ${describeValue(item)} does not contain the declared merge key "${mergeKey}"`);
    }
    const key = item[mergeKey];
    const index = result.findIndex((existing) => isJsonObject(existing) && deepEqual(ownMember(existing, mergeKey), key));
    if (ownMember(item, PATCH) === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    const itemPath = `${path}[${mergeKey}=${describeValue(key)}]`;
    if (index >= 0) {
      const merged = mergeMap(result[index] as JsonObject, item, itemSchema, itemPath);
      if (merged === DELETED) result.splice(index, 1);
      else result[index] = merged;
    } else {
      const merged = mergeMap({}, item, itemSchema, itemPath);
      if (merged !== DELETED) result.push(merged);
    }
  }
  return result;
}

function mergeSet(original: unknown[], patch: unknown[]): unknown[] {
  const result = [...original];
  for (const value of patch) {
    if (!result.some((existing) => deepEqual(existing, value))) result.push(deepClone(value));
  }
  return result;
}

function deleteFromPrimitiveList(target: JsonObject, key: string, values: unknown, path: string): void {
  if (!Array.isArray(values)) {
    throw errors.badRequest(`${at(path, DELETE_FROM_PRIMITIVE_LIST + key)} must be a list, got ${describeValue(values)}`);
  }
  checkKey(key, at(path, DELETE_FROM_PRIMITIVE_LIST + key));
  const current = ownMember(target, key);
  if (Array.isArray(current)) target[key] = current.filter((item) => !values.some((gone) => deepEqual(gone, item)));
}

/**
 * `$setElementOrder/<list>`, as Kubernetes orders: the items the order names, sorted by it, interleaved
 * with the items it does not name (server-only), which go before a named item only when they preceded
 * it in the live list.
 */
function applyElementOrder(target: JsonObject, key: string, order: unknown, live: unknown[], schema: FieldSchema, path: string): void {
  if (!Array.isArray(order)) {
    throw errors.badRequest(`${SET_ELEMENT_ORDER}${path} must be a list, got ${describeValue(order)}`);
  }
  const current = ownMember(target, key);
  if (!Array.isArray(current)) return;
  const mergeKey = schema.list?.type === 'map' ? schema.list.mergeKey : undefined;
  const identity = (item: unknown) => (mergeKey && isJsonObject(item) ? ownMember(item, mergeKey) : item);
  const indexIn = (list: unknown[], item: unknown) => list.findIndex((other) => deepEqual(identity(other), identity(item)));
  const wanted = order.map(identity);
  const rank = (item: unknown) => wanted.findIndex((w) => deepEqual(w, identity(item)));
  const named = current.filter((item) => rank(item) >= 0).sort((a, b) => rank(a) - rank(b));
  const serverOnly = current.filter((item) => rank(item) < 0);
  const livePosition = (item: unknown) => indexIn(live, item);
  const result: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < named.length) {
    const left = serverOnly[i];
    const right = named[j];
    const leftFirst =
      j >= named.length ||
      (i < serverOnly.length && livePosition(left) >= 0 && livePosition(right) >= 0 && livePosition(left) < livePosition(right));
    if (leftFirst) {
      result.push(left);
      i++;
    } else {
      result.push(right);
      j++;
    }
  }
  target[key] = result;
}

function retainKeys(target: JsonObject, keys: unknown, path: string): void {
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw errors.badRequest(`${at(path, RETAIN_KEYS)} must be a list of field names, got ${describeValue(keys)}`);
  }
  for (const key of Object.keys(target)) {
    if (!keys.includes(key)) delete target[key];
  }
}
