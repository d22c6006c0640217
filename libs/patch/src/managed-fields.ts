import { ownMember, type KubeObject, type ManagedFieldsEntry, type ResourceType } from '@berth/api';
import { BerthError, FieldCause } from '@berth/errors';
import { FieldSet, findItem, formatPath, itemElement, keyFields, removeAt, valueAt } from './fieldset';
import { checked, CheckedDocument, deepClone, deepEqual, isJsonObject, JsonObject, setMember } from './json';
import { FieldSchema, fieldSchema, schemaFor } from './schema';

export interface ApplyOptions {
  manager: string;
  force: boolean;
  now: Date;
  /** The subresource the apply went to (`status`); the main resource when absent. */
  subresource?: string;
}

/** Metadata the server sets; nobody owns these fields. */
const SERVER_METADATA = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
];

/** Kubernetes writes times in managedFields with second precision. */
function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** Top-level fields a write to the (sub)resource can own: a status subresource owns `status` and nothing else. */
function isOwnableTopField(type: ResourceType, key: string, subresource: string | undefined): boolean {
  if (key === 'apiVersion' || key === 'kind') return false;
  return !type.subresources.includes('status') || (subresource === 'status') === (key === 'status');
}

/** The part of an object a write can own: no apiVersion/kind, no server-set metadata, the right side of status. */
function ownableView(type: ResourceType, object: JsonObject | undefined, subresource: string | undefined): JsonObject {
  const view: JsonObject = {};
  for (const [key, value] of Object.entries(object ?? {})) {
    if (!isOwnableTopField(type, key, subresource)) continue;
    if (key === 'metadata' && isJsonObject(value)) {
      const metadata = { ...value };
      for (const field of SERVER_METADATA) delete metadata[field];
      if (Object.keys(metadata).length > 0) view.metadata = metadata;
      continue;
    }
    view[key] = value;
  }
  return view;
}

/** `base` with its ownable part replaced by `view` (the inverse of ownableView). */
function withOwnableView(type: ResourceType, base: JsonObject, view: JsonObject, subresource: string | undefined): KubeObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(base)) {
    if (key !== 'metadata' && !isOwnableTopField(type, key, subresource)) out[key] = value;
  }
  const metadata: JsonObject = {};
  for (const [key, value] of Object.entries(isJsonObject(base.metadata) ? base.metadata : {})) {
    if (SERVER_METADATA.includes(key) || !isOwnableTopField(type, 'metadata', subresource)) metadata[key] = value;
  }
  for (const [key, value] of Object.entries(view)) {
    if (key !== 'metadata' || !isJsonObject(value)) setMember(out, key, value, 'the applied configuration');
    else for (const [name, field] of Object.entries(value)) setMember(metadata, name, field, 'the applied configuration');
  }
  out.metadata = metadata;
  return deepClone(out) as KubeObject;
}

/** A copy of the object's managedFields, without entries that are not objects. */
function managedFieldsOf(object: KubeObject | undefined): ManagedFieldsEntry[] {
  const entries: unknown = object?.metadata?.managedFields;
  return Array.isArray(entries) ? deepClone(entries.filter(isJsonObject) as ManagedFieldsEntry[]) : [];
}

function isSameEntry(entry: ManagedFieldsEntry, manager: string, operation: 'Apply' | 'Update', subresource?: string): boolean {
  return entry.manager === manager && entry.operation === operation && (entry.subresource ?? '') === (subresource ?? '');
}

/**
 * An entry with a new field set, or undefined once it owns nothing. The writer's time only moves when its
 * set does, so no-op writes stay no-ops; managers that merely lose fields keep their time.
 */
function updatedEntry(
  previous: ManagedFieldsEntry | undefined,
  template: ManagedFieldsEntry,
  fields: FieldSet,
  now: Date | undefined,
): ManagedFieldsEntry | undefined {
  if (fields.isEmpty()) return undefined;
  const fieldsV1 = fields.toFieldsV1();
  if (previous && previous.apiVersion === template.apiVersion && deepEqual(previous.fieldsV1, fieldsV1)) return previous;
  const time = now ? timestamp(now) : previous?.time;
  const entry: ManagedFieldsEntry = { ...template, time, fieldsType: 'FieldsV1', fieldsV1 };
  if (!entry.time) delete entry.time;
  if (!entry.subresource) delete entry.subresource;
  return entry;
}

function memberDiffers(before: unknown, after: unknown, path: string[], isLeaf: boolean, schema: FieldSchema): boolean {
  const a = valueAt(before, path, schema);
  const b = valueAt(after, path, schema);
  // A list item that has fields of its own is compared by those fields; the item itself only by existence.
  return isLeaf ? !deepEqual(a, b) : (a === undefined) !== (b === undefined);
}

function changedMembers(set: FieldSet, before: unknown, after: unknown, schema: FieldSchema): string[][] {
  return set.paths().filter((path) => memberDiffers(before, after, path, set.node(path)!.children.size === 0, schema));
}

/** Applies `applied` over `live` the way server-side apply merges: maps recursively, keyed lists by key. */
function mergeApplied(live: unknown, applied: unknown, schema: FieldSchema): unknown {
  if (isJsonObject(applied)) {
    if (schema.atomic || !isJsonObject(live)) return stripNulls(applied);
    const result: JsonObject = { ...live };
    for (const [key, value] of Object.entries(applied)) {
      if (value === null || value === undefined) continue;
      setMember(result, key, mergeApplied(ownMember(live, key), value, fieldSchema(schema, key)), 'the applied configuration');
    }
    return result;
  }
  if (Array.isArray(applied) && Array.isArray(live) && schema.list) {
    const list = schema.list;
    const result = [...live];
    for (const item of applied) {
      const element = itemElement(item, list, -1);
      // An item without its key cannot be matched; it is added like a new one.
      const index = element.startsWith('i:') ? -1 : findItem(result, element, list);
      if (index < 0) result.push(stripNulls(item));
      else if (list.type === 'map') result[index] = mergeApplied(result[index], item, list.item);
    }
    return result;
  }
  return stripNulls(applied);
}

function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) if (v !== null && v !== undefined) setMember(out, key, stripNulls(v), 'the applied configuration');
  return out;
}

/** Whether the last path element is a key field of the list item it sits in (removing it would orphan the item). */
function isItemKeyField(path: string[]): boolean {
  const key = keyFields(path[path.length - 2] ?? '');
  const last = path[path.length - 1];
  return key !== undefined && last.startsWith('f:') && Object.hasOwn(key, last.slice(2));
}

/** How Kubernetes names a manager in conflicts: Update managers with the version they wrote, subresources named. */
function describeManager(entry: ManagedFieldsEntry): string {
  let who = JSON.stringify(entry.manager ?? '');
  if (entry.subresource) who += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === 'Update') who += ` using ${entry.apiVersion ?? ''}`;
  return who;
}

/** Worded like Kubernetes (`Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas`). */
function conflictError(conflicts: Array<{ entry: ManagedFieldsEntry; path: string[] }>): BerthError {
  const count = conflicts.length;
  let detail: string;
  if (count === 1) {
    detail = `conflict with ${describeManager(conflicts[0].entry)}: ${formatPath(conflicts[0].path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const { entry, path } of conflicts) {
      const who = describeManager(entry);
      byManager.set(who, [...(byManager.get(who) ?? []), formatPath(path)]);
    }
    detail = `conflicts with${[...byManager].map(([who, paths]) => ` ${who}:${paths.map((p) => `\n- ${p}`).join('')}`).join('')}`;
  }
  const causes: FieldCause[] = conflicts.map(({ entry, path }) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(entry)}`,
    field: formatPath(path),
  }));
  return new BerthError('Conflict', `Apply failed with ${count} conflict${count === 1 ? '' : 's'}: ${detail}`, { causes });
}

/**
 * Server-side apply. Merges the applied configuration into the live object, removes the fields this
 * manager applied before and no longer applies when nobody else owns them, and records ownership.
 * Changes neither `live` nor the applied configuration, so one checked configuration serves every retry.
 */
export function serverSideApply(
  type: ResourceType,
  live: KubeObject | undefined,
  given: KubeObject | CheckedDocument<KubeObject>,
  opts: ApplyOptions,
): KubeObject {
  const applied = checked(given, 'the applied configuration');
  const schema = schemaFor(type);
  const { manager, subresource } = opts;
  const entries = managedFieldsOf(live);
  const mine = entries.find((e) => isSameEntry(e, manager, 'Apply', subresource));
  const others = entries.filter((e) => e !== mine);

  const appliedView = ownableView(type, applied as JsonObject, subresource);
  const appliedSet = FieldSet.of(appliedView, schema);
  const liveView = ownableView(type, live as JsonObject | undefined, subresource);
  const mergedView = mergeApplied(deepClone(liveView), appliedView, schema);

  const changed = changedMembers(appliedSet, liveView, mergedView, schema);
  const conflicts = others.flatMap((entry) => {
    const owned = FieldSet.fromFieldsV1(entry.fieldsV1);
    return changed.filter((path) => owned.has(path)).map((path) => ({ entry, path }));
  });
  if (conflicts.length > 0 && !opts.force) throw conflictError(conflicts);

  const othersAfter = others.map((entry) => {
    const lost = FieldSet.fromPaths(conflicts.filter((c) => c.entry === entry).map((c) => c.path));
    if (lost.isEmpty()) return entry;
    return updatedEntry(entry, entry, FieldSet.fromFieldsV1(entry.fieldsV1).difference(lost), undefined);
  });
  const otherSets = othersAfter.filter((e): e is ManagedFieldsEntry => !!e).map((e) => FieldSet.fromFieldsV1(e.fieldsV1));

  const previousSet = FieldSet.fromFieldsV1(mine?.fieldsV1);
  const abandoned = previousSet
    .difference(appliedSet)
    .paths()
    .filter((path) => !otherSets.some((set) => set.touches(path)) && !isItemKeyField(path))
    .sort((a, b) => b.length - a.length);
  for (const path of abandoned) removeAt(mergedView, path, schema);

  const base: JsonObject = live ?? {
    apiVersion: applied.apiVersion,
    kind: applied.kind,
    metadata: Object.fromEntries(Object.entries(applied.metadata ?? {}).filter(([key]) => SERVER_METADATA.includes(key))),
  };
  const result = withOwnableView(type, base, mergedView as JsonObject, subresource);

  const template: ManagedFieldsEntry = { manager, operation: 'Apply', apiVersion: apiVersionOf(type), subresource };
  const mineAfter = updatedEntry(mine, template, appliedSet, opts.now);
  const managedFields = entries
    .map((entry) => (entry === mine ? mineAfter : othersAfter[others.indexOf(entry)]))
    .filter((e): e is ManagedFieldsEntry => !!e);
  if (!mine && mineAfter) managedFields.push(mineAfter);
  if (managedFields.length > 0) result.metadata.managedFields = managedFields;
  else delete result.metadata.managedFields;
  return result;
}

/**
 * Records an Update (create, update, or a non-apply patch) by `manager`: it takes ownership of every
 * field it changed or added, other managers lose those, and fields that went away leave every set.
 */
export function recordUpdate(
  type: ResourceType,
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  now: Date,
  subresource?: string,
): ManagedFieldsEntry[] {
  const schema = schemaFor(type);
  const entries = managedFieldsOf(before);
  const beforeView = ownableView(type, before as JsonObject | undefined, subresource);
  const afterView = ownableView(type, after as JsonObject, subresource);
  const beforeSet = FieldSet.of(beforeView, schema);
  const afterSet = FieldSet.of(afterView, schema);

  const changed = FieldSet.fromPaths(changedMembers(afterSet, beforeView, afterView, schema));
  const removed = beforeSet.difference(afterSet);
  if (changed.isEmpty() && removed.isEmpty()) return entries;

  const gone = changed.union(removed);
  const mine = entries.find((e) => isSameEntry(e, manager, 'Update', subresource));
  const result: ManagedFieldsEntry[] = [];
  for (const entry of entries) {
    const owned = FieldSet.fromFieldsV1(entry.fieldsV1);
    const next = entry === mine ? owned.union(changed).difference(removed) : owned.difference(gone);
    const updated = updatedEntry(entry, entry, next, entry === mine ? now : undefined);
    if (updated) result.push(updated);
  }
  if (!mine) {
    const template: ManagedFieldsEntry = { manager, operation: 'Update', apiVersion: apiVersionOf(type), subresource };
    const created = updatedEntry(undefined, template, changed, now);
    if (created) result.push(created);
  }
  return result;
}
