import { readFileSync, statSync } from 'node:fs';
import type { KubeObject, ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { JsonPath, formatGoValue, relaxedJsonPath } from './jsonpath';
import { objectName } from './kinds';
import { asList, TableLayout, toJson, toYaml, withoutManagedFields } from './printers';

/** The `-o` formats kubectl's get prints, as its error lists them. */
export const OUTPUT_FORMATS = ['custom-columns', 'custom-columns-file', 'json', 'jsonpath', 'jsonpath-as-json', 'jsonpath-file', 'name', 'wide', 'yaml'] as const;

export interface CustomColumn {
  header: string;
  path: JsonPath;
}

export type Output =
  | { kind: 'table' | 'wide' | 'json' | 'yaml' | 'name' }
  | { kind: 'jsonpath'; template: JsonPath; asJson: boolean }
  | { kind: 'custom-columns'; columns: CustomColumn[] };

/** A template or columns file larger than this is not one a person wrote. */
const MAX_TEMPLATE_FILE_BYTES = 1024 * 1024;

function readTemplateFile(path: string): string {
  try {
    if (statSync(path).size > MAX_TEMPLATE_FILE_BYTES) throw new Error(`larger than ${MAX_TEMPLATE_FILE_BYTES} bytes`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new BerthError('BadRequest', `error reading template ${path}: ${(err as Error).message}`);
  }
}

/** `NAME:.metadata.name,IMAGE:.spec.containers[*].image`. */
export function parseCustomColumns(spec: string): CustomColumn[] {
  if (spec.trim() === '') throw new BerthError('BadRequest', 'custom-columns format specified but no custom columns given');
  return spec.split(',').map((part) => {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new BerthError('BadRequest', `unexpected custom-columns spec: ${part}, expected <header>:<json-path-expr>`);
    return { header: part.slice(0, colon), path: relaxedJsonPath(part.slice(colon + 1)) };
  });
}

/** A custom-columns file: a line of headers, then a line of paths, whitespace-separated. */
function parseCustomColumnsFile(text: string): CustomColumn[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length !== 2) throw new BerthError('BadRequest', `expected two lines in custom-columns file, saw ${lines.length}`);
  const [headers, paths] = lines.map((l) => l.split(/\s+/));
  if (headers.length !== paths.length) throw new BerthError('BadRequest', `number of headers (${headers.length}) does not match number of paths (${paths.length})`);
  return headers.map((header, i) => ({ header, path: relaxedJsonPath(paths[i]) }));
}

/** Reads `-o`; `allowed` narrows it for verbs that print only objects (`create`, `label`). */
export function parseOutput(output: string | undefined, allowed: readonly string[] = OUTPUT_FORMATS): Output {
  if (output === undefined || output === '') return { kind: 'table' };
  const eq = output.indexOf('=');
  const name = eq >= 0 ? output.slice(0, eq) : output;
  const arg = eq >= 0 ? output.slice(eq + 1) : undefined;
  if (!allowed.includes(name)) {
    throw new BerthError('BadRequest', `unable to match a printer suitable for the output format "${output}", allowed formats are: ${allowed.join(',')}`);
  }
  const needArg = (what: string) => {
    if (!arg) throw new BerthError('BadRequest', `${what} format specified but no ${what === 'template' ? 'template' : what} given`);
    return arg;
  };
  switch (name) {
    case 'jsonpath':
    case 'jsonpath-as-json':
      return { kind: 'jsonpath', template: new JsonPath(needArg('template')), asJson: name === 'jsonpath-as-json' };
    case 'jsonpath-file':
      return { kind: 'jsonpath', template: new JsonPath(readTemplateFile(needArg('template'))), asJson: false };
    case 'custom-columns':
      return { kind: 'custom-columns', columns: parseCustomColumns(needArg('custom-columns')) };
    case 'custom-columns-file':
      return { kind: 'custom-columns', columns: parseCustomColumnsFile(readTemplateFile(needArg('custom-columns-file'))) };
    default:
      if (arg !== undefined) throw new BerthError('BadRequest', `unable to match a printer suitable for the output format "${output}"`);
      return { kind: name as 'table' | 'wide' | 'json' | 'yaml' | 'name' };
  }
}

/** A custom-columns table: the given headers, a row per object, `<none>` where a path reaches nothing. */
export function renderCustomColumns(columns: CustomColumn[], objects: KubeObject[], headers = true): string {
  const rows = objects.map((object) =>
    columns.map(({ path }) => {
      const values = path.values(object);
      return values.length === 0 ? '<none>' : values.map((v) => formatGoValue(v)).join(',');
    }),
  );
  return new TableLayout().format([...(headers ? [columns.map((c) => c.header)] : []), ...rows]);
}

/** One object or several (a List) in an object format: json, yaml, name, jsonpath, custom-columns. */
export function renderObjects(output: Output, found: { type: ResourceType; object: KubeObject }[], single: boolean, headers = true): string {
  const objects = found.map((f) => withoutManagedFields(f.object));
  const value = single && objects.length === 1 ? objects[0] : asList(objects);
  switch (output.kind) {
    case 'name':
      return found.map(({ type, object }) => `${objectName(type, object.metadata.name ?? '')}\n`).join('');
    case 'json':
      return toJson(value);
    case 'yaml':
      return toYaml(value);
    case 'jsonpath':
      if (output.asJson) return toJson(output.template.values(value));
      return output.template.print(value);
    case 'custom-columns':
      return renderCustomColumns(output.columns, objects, headers);
    default:
      throw new BerthError('InternalError', `${output.kind} is not an object format`);
  }
}

function sortKey(value: unknown): number | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * Orders objects by `--sort-by`'s path, as kubectl: numbers by value, strings (timestamps alike) by text,
 * objects that lack the field first; equal keys keep the server's order.
 */
export function sortByPath<T>(items: T[], expression: string, objectOf: (item: T) => unknown): T[] {
  const path = relaxedJsonPath(expression);
  const keyed = items.map((item, index) => ({ item, index, key: sortKey(path.values(objectOf(item))[0]) }));
  keyed.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) return a.key === b.key ? a.index - b.index : a.key === undefined ? -1 : 1;
    if (typeof a.key === 'number' && typeof b.key === 'number') return a.key - b.key || a.index - b.index;
    const [x, y] = [String(a.key), String(b.key)];
    return x < y ? -1 : x > y ? 1 : a.index - b.index;
  });
  return keyed.map((k) => k.item);
}
