import { checkDecoded, ownMember } from '@berth/api';
import { deepEqual, isJsonObject, JsonObject } from './json';
import { EMPTY_SCHEMA, FieldSchema, fieldSchema, ListSchema } from './schema';

/**
 * A set of field paths, shaped like Kubernetes' FieldsV1: each path element is `f:<field>`,
 * `k:<json key of an associative list item>`, `v:<json value of a set member>` or `i:<index>`.
 * A node is a member when the path to it is in the set; intermediate maps usually are not.
 */
export class FieldSet {
  member = false;
  readonly children = new Map<string, FieldSet>();

  static fromFieldsV1(fields: unknown): FieldSet {
    const set = new FieldSet();
    if (!isJsonObject(fields)) return set;
    for (const [element, value] of Object.entries(fields)) {
      if (element === '.') {
        set.member = true;
        continue;
      }
      const child = FieldSet.fromFieldsV1(value);
      if (!isJsonObject(value) || Object.keys(value).length === 0) child.member = true;
      if (!child.isEmpty()) set.children.set(element, child);
    }
    return set;
  }

  /** Every field the value sets, with associative lists keyed by the schema. */
  static of(value: unknown, schema: FieldSchema): FieldSet {
    const set = new FieldSet();
    addFields(set, value, schema);
    return set;
  }

  toFieldsV1(): JsonObject {
    const out: JsonObject = {};
    if (this.member && this.children.size > 0) out['.'] = {};
    for (const element of [...this.children.keys()].sort(compareElements)) {
      out[element] = this.children.get(element)!.toFieldsV1();
    }
    return out;
  }

  isEmpty(): boolean {
    return !this.member && this.children.size === 0;
  }

  child(element: string): FieldSet {
    let node = this.children.get(element);
    if (!node) {
      node = new FieldSet();
      this.children.set(element, node);
    }
    return node;
  }

  /** The member paths, each a list of path elements; the empty path when the root itself is a member. */
  paths(prefix: string[] = []): string[][] {
    const out: string[][] = this.member ? [prefix] : [];
    for (const [element, node] of this.children) out.push(...node.paths([...prefix, element]));
    return out;
  }

  node(path: string[]): FieldSet | undefined {
    let node: FieldSet | undefined = this;
    for (const element of path) node = node?.children.get(element);
    return node;
  }

  has(path: string[]): boolean {
    return this.node(path)?.member ?? false;
  }

  /** Whether the path or anything below it is a member. */
  touches(path: string[]): boolean {
    const node = this.node(path);
    return node !== undefined && !node.isEmpty();
  }

  static fromPaths(paths: string[][]): FieldSet {
    const set = new FieldSet();
    for (const path of paths) {
      let node: FieldSet = set;
      for (const element of path) node = node.child(element);
      node.member = true;
    }
    return set;
  }

  union(other: FieldSet): FieldSet {
    return FieldSet.fromPaths([...this.paths(), ...other.paths()]);
  }

  difference(other: FieldSet): FieldSet {
    return FieldSet.fromPaths(this.paths().filter((path) => !other.has(path)));
  }
}

const ELEMENT_RANK: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function compareElements(a: string, b: string): number {
  const rank = (ELEMENT_RANK[a[0]] ?? 4) - (ELEMENT_RANK[b[0]] ?? 4);
  return rank !== 0 ? rank : a < b ? -1 : a > b ? 1 : 0;
}

function addFields(node: FieldSet, value: unknown, schema: FieldSchema): void {
  if (isJsonObject(value) && !schema.atomic && Object.keys(value).length > 0) {
    for (const [name, fieldValue] of Object.entries(value)) {
      if (fieldValue === null || fieldValue === undefined) continue;
      addFields(node.child(`f:${name}`), fieldValue, fieldSchema(schema, name));
    }
    return;
  }
  const list = schema.list;
  if (Array.isArray(value) && value.length > 0 && list) {
    value.forEach((item, index) => {
      const child = node.child(itemElement(item, list, index));
      child.member = true;
      if (list.type === 'map') addFields(child, item, list.item);
    });
    return;
  }
  node.member = true;
}

/**
 * The path element of a list item: `k:{"name":"web"}` (key fields sorted by name, as Kubernetes writes
 * them, absent ones defaulted) for associative lists, `v:<json>` for sets, `i:<index>` otherwise.
 */
export function itemElement(item: unknown, list: ListSchema | undefined, index: number): string {
  if (list?.type === 'set') return `v:${JSON.stringify(item)}`;
  if (list?.type !== 'map' || !isJsonObject(item)) return `i:${index}`;
  const key: JsonObject = {};
  for (const name of [...list.keys].sort()) {
    const value = ownMember(item, name) ?? list.keyDefaults?.[name];
    if (value !== undefined && value !== null) key[name] = value;
  }
  return Object.keys(key).length > 0 ? `k:${JSON.stringify(key)}` : `i:${index}`;
}

/**
 * The key fields a `k:` element names; undefined for other elements or a malformed one (managedFields may
 * come from users, so the JSON inside an element is checked as a body would be).
 */
export function keyFields(element: string): JsonObject | undefined {
  if (!element.startsWith('k:')) return undefined;
  try {
    const key = JSON.parse(element.slice(2)) as unknown;
    checkDecoded(key, 'a managed field key');
    return isJsonObject(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The index of the list item a path element names, or -1. */
export function findItem(items: unknown[], element: string, list: ListSchema | undefined): number {
  return items.findIndex((item, index) => itemElement(item, list, index) === element);
}

/** The value at a field path (and its schema), or undefined when the object does not have it. */
function resolve(root: unknown, path: string[], schema: FieldSchema): { value: unknown; schema: FieldSchema } {
  let current: unknown = root;
  let currentSchema = schema;
  for (const element of path) {
    if (element.startsWith('f:')) {
      current = isJsonObject(current) ? ownMember(current, element.slice(2)) : undefined;
      currentSchema = fieldSchema(currentSchema, element.slice(2));
    } else if (Array.isArray(current)) {
      const list = currentSchema.list;
      const index = findItem(current, element, list);
      current = index >= 0 ? current[index] : undefined;
      currentSchema = list?.type === 'map' ? list.item : EMPTY_SCHEMA;
    } else {
      current = undefined;
    }
    if (current === undefined || current === null) return { value: undefined, schema: currentSchema };
  }
  return { value: current, schema: currentSchema };
}

export function valueAt(root: unknown, path: string[], schema: FieldSchema): unknown {
  return resolve(root, path, schema).value;
}

/** Removes the field, list item or set member at the path; a path that is already gone is fine. */
export function removeAt(root: unknown, path: string[], schema: FieldSchema): void {
  if (path.length === 0) return;
  const parent = resolve(root, path.slice(0, -1), schema);
  const last = path[path.length - 1];
  if (last.startsWith('f:')) {
    if (isJsonObject(parent.value)) delete parent.value[last.slice(2)];
  } else if (Array.isArray(parent.value)) {
    const index = findItem(parent.value, last, parent.schema.list);
    if (index >= 0) parent.value.splice(index, 1);
  }
}

/** `.spec.template.spec.containers[name="web"].image`: a path as Kubernetes prints it in conflicts. */
export function formatPath(path: string[]): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      switch (element[0]) {
        case 'f':
          return `.${body}`;
        case 'k':
          return `[${Object.entries(keyFields(element) ?? {})
            .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
            .join(',')}]`;
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
