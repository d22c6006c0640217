/**
 * How a kind's fields merge under strategic merge patch and server-side apply, from the
 * patchStrategy/patchMergeKey and listType/listMapKey/mapType/structType tags of k8s.io/api. Strategic
 * merge patch uses `mergeKey`; server-side apply keys list items by all of `keys`. Fields without an entry
 * are granular maps (objects) or atomic lists (arrays), which is what Kubernetes does for untagged fields.
 * Each kind's definition carries its own (`mergeSchema`); @berth/patch reads it.
 */
export interface FieldSchema {
  fields?: Record<string, FieldSchema>;
  list?: ListSchema;
  /** An atomic map or struct (mapType/structType=atomic): owned and applied as a whole by server-side apply. */
  atomic?: boolean;
}

export type ListSchema =
  /** A list of objects merged item by item (`listType=map`). */
  | {
      type: 'map';
      mergeKey: string;
      keys: string[];
      item: FieldSchema;
      /** Key fields that default when absent (a port's protocol), so `{containerPort: 80}` is the TCP item. */
      keyDefaults?: Record<string, unknown>;
    }
  /** A list of scalars merged as a set (`listType=set` + patchStrategy merge). */
  | { type: 'set' };

export const EMPTY_SCHEMA: FieldSchema = {};

export function struct(fields: Record<string, FieldSchema>, extra: Omit<FieldSchema, 'fields'> = {}): FieldSchema {
  return { fields, ...extra };
}

export function keyedList(
  mergeKey: string,
  item: FieldSchema = EMPTY_SCHEMA,
  keys: string[] = [mergeKey],
  keyDefaults?: Record<string, unknown>,
): FieldSchema {
  return { list: { type: 'map', mergeKey, keys, item, ...(keyDefaults ? { keyDefaults } : {}) } };
}

/** Ports are keyed by number and protocol; protocol defaults to TCP. */
export function portList(numberField: string): FieldSchema {
  return keyedList(numberField, EMPTY_SCHEMA, [numberField, 'protocol'], { protocol: 'TCP' });
}

export const ATOMIC: FieldSchema = { atomic: true };
export const SET: FieldSchema = { list: { type: 'set' } };
export const CONDITIONS = keyedList('type');
export const LABEL_SELECTOR = ATOMIC;

export const OBJECT_META = struct({
  ownerReferences: keyedList('uid'),
  finalizers: SET,
});

/** A whole object's merge schema: metadata's, plus the kind's own top-level fields. */
export function objectMerge(fields: Record<string, FieldSchema> = {}): FieldSchema {
  return struct({ metadata: OBJECT_META, ...fields });
}
