import { formatLabels, KubeObject } from '@berth/api';
import type { Table, TableRow } from '@berth/client';
import { TABLE_LAYOUT, textWidth } from './tabwriter';

export interface TableFormat {
  /** `-o wide`: also the columns with priority > 0. */
  wide: boolean;
  /** `-A` on a namespaced type: a NAMESPACE column first. */
  withNamespace: boolean;
  /** `--show-labels`: a LABELS column last. */
  showLabels: boolean;
  /** Set when several types are printed: names become `deployment.apps/web`. */
  kindPrefix?: string;
  /** `-L key`: a column per label key, before LABELS. */
  labelColumns?: string[];
}

/** `-L app.kubernetes.io/name` heads its column `NAME`, as kubectl does. */
export function labelColumnHeader(key: string): string {
  return (key.split('/').pop() ?? key).toUpperCase();
}

function formatCell(cell: unknown): string {
  if (cell === null || cell === undefined || cell === '') return cell === '' ? '' : '<none>';
  if (typeof cell === 'object') return JSON.stringify(cell);
  return String(cell);
}

function visibleColumns(table: Table, format: TableFormat): number[] {
  return table.columnDefinitions.flatMap((column, index) => (format.wide || !column.priority ? [index] : []));
}

export function tableHeader(table: Table, format: TableFormat): string[] {
  const names = visibleColumns(table, format).map((index) => table.columnDefinitions[index].name.toUpperCase());
  return [
    ...(format.withNamespace ? ['NAMESPACE'] : []),
    ...names,
    ...(format.labelColumns ?? []).map(labelColumnHeader),
    ...(format.showLabels ? ['LABELS'] : []),
  ];
}

export function tableRow(table: Table, row: TableRow, format: TableFormat): string[] {
  const cells = visibleColumns(table, format).map((index) => formatCell(row.cells[index]));
  if (format.kindPrefix && cells.length > 0) cells[0] = `${format.kindPrefix}/${cells[0]}`;
  return [
    ...(format.withNamespace ? [row.object?.metadata?.namespace ?? ''] : []),
    ...cells,
    ...(format.labelColumns ?? []).map((key) => labelValue(row.object, key)),
    ...(format.showLabels ? [formatLabels(row.object?.metadata?.labels)] : []),
  ];
}

function labelValue(object: KubeObject | undefined, key: string): string {
  const labels = object?.metadata?.labels;
  return labels && Object.prototype.hasOwnProperty.call(labels, key) ? String(labels[key]) : '';
}

/**
 * Lays out table lines as kubectl's tabwriter does for a uniform table (every column as wide as its
 * widest cell plus padding, the last one unpadded), and keeps those widths so rows that arrive later
 * (`get -w`) line up with what was printed before.
 */
export class TableLayout {
  private widths: number[] = [];

  format(lines: string[][]): string {
    for (const cells of lines) {
      cells.forEach((cell, index) => {
        this.widths[index] = Math.max(this.widths[index] ?? TABLE_LAYOUT.minWidth, textWidth(cell) + TABLE_LAYOUT.padding);
      });
    }
    return lines
      .map((cells) => cells.map((cell, index) => (index < cells.length - 1 ? cell.padEnd(this.widths[index] - textWidth(cell) + cell.length) : cell)).join(''))
      .map((line) => `${line}\n`)
      .join('');
  }
}

/** A whole table with its header, as `kubectl get` prints it. */
export function renderTable(table: Table, format: TableFormat, layout = new TableLayout(), headers = true): string {
  return layout.format([...(headers ? [tableHeader(table, format)] : []), ...table.rows.map((row) => tableRow(table, row, format))]);
}

/** kubectl's shape for several objects under -o json|yaml. */
export function asList(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

/** kubectl prints objects as generic maps, which order their keys alphabetically at every level. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(record).sort().map((key) => [key, sortKeys(record[key])]));
}

/** Go's JSON encoder escapes these for HTML safety; kubectl's output has them so. */
export function escapeHtmlCharacters(json: string): string {
  return json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

export function toJson(value: unknown): string {
  return `${escapeHtmlCharacters(JSON.stringify(sortKeys(value), null, 4))}\n`;
}

/**
 * YAML 1.1 quoting, as kubectl's (go-yaml): a string a 1.1 reader would take for another type (`"10"`,
 * `"yes"`, a timestamp) in double quotes; any other string that cannot be plain (a cron schedule) in single.
 */
export function toYaml(value: unknown): string {
  // yaml loads for -o yaml only, not at every `berth` call's start (~50 ms).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  const doc = new YAML.Document(sortKeys(value), { version: '1.1', aliasDuplicateObjects: false });
  YAML.visit(doc, {
    Scalar(_key, node) {
      // go-yaml writes the empty string as "" too.
      if (typeof node.value === 'string' && (node.value === '' || readsAsAnotherType(YAML, node.value))) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0, indentSeq: false, singleQuote: true });
}

/** Whether a plain scalar with this text would be read back (YAML 1.1) as a number, boolean, null or timestamp. */
function readsAsAnotherType(YAML: typeof import('yaml'), text: string): boolean {
  if (text.length > 64 || /[\n:#{}[\],&*!|>'"%@`]/.test(text.replace(/^\d{4}-\d\d-\d\d[Tt ]\d\d?:\d\d:\d\d/, ''))) return false;
  try {
    return typeof YAML.parse(text, { version: '1.1' }) !== 'string';
  } catch {
    return false;
  }
}

/** kubectl leaves managedFields out of -o yaml|json unless asked: they are the server's bookkeeping. */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _hidden, ...metadata } = object.metadata;
  return { ...object, metadata };
}
