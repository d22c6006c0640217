import type { KubeObject, ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError, Table } from '@berth/client';
import { kindPrefix, objectName, parseTargets, Target } from '../kinds';
import { Output, parseOutput, renderObjects, sortByPath } from '../output';
import { renderTable, TableFormat, TableLayout, tableHeader, tableRow, toJson, toYaml, withoutManagedFields } from '../printers';
import type { Session } from '../session';

type OutputFormat = Output['kind'];

export interface GetOptions {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  allNamespaces?: boolean;
  watch?: boolean;
  showLabels?: boolean;
  /** `--sort-by`: a JSONPath whose value orders the objects. */
  sortBy?: string;
  /** `--no-headers`: tables and custom columns without their header line. */
  headers?: boolean;
  /** `-L`: label keys shown as columns. */
  labelColumns?: string[];
}

/** The namespace to read a type from: none for cluster-scoped types and for `-A`. */
function listNamespace(session: Session, type: ResourceType, options: GetOptions): string | undefined {
  return type.namespaced && !options.allNamespaces ? session.namespace : undefined;
}

function noResourcesMessage(session: Session, targets: Target[], options: GetOptions): string {
  const namespaced = targets.some((t) => t.type.namespaced);
  return namespaced && !options.allNamespaces ? `No resources found in ${session.namespace} namespace.` : 'No resources found';
}

function mergeFieldSelectors(...selectors: (string | undefined)[]): string | undefined {
  const parts = selectors.filter((s): s is string => !!s);
  return parts.length ? parts.join(',') : undefined;
}

export async function get(session: Session, args: string[], options: GetOptions): Promise<void> {
  const output = parseOutput(options.output);
  const format = output.kind;
  const targets = await parseTargets(args, session.discovery);
  if (options.allNamespaces && targets.some((t) => t.names.length > 0 && t.type.namespaced)) {
    throw new BerthError('BadRequest', 'a resource cannot be retrieved by name across all namespaces');
  }
  if (options.watch) {
    if (format !== 'table' && format !== 'wide' && format !== 'json' && format !== 'yaml' && format !== 'name') {
      throw new BerthError('BadRequest', `--watch prints tables, json, yaml or names, not ${format}`);
    }
    return watch(session, targets, format, options);
  }
  if (format === 'table' || format === 'wide') return printTables(session, targets, format, options);
  return printObjects(session, targets, output, options);
}

/** Reports a failed named read and goes on with the other names, as kubectl does. */
async function eachName<T>(session: Session, names: string[], read: (name: string) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (const name of names) {
    try {
      results.push(await read(name));
    } catch (err) {
      if (!(err instanceof StatusError) || err.reason !== 'NotFound') throw err;
      session.fail(err);
    }
  }
  return results;
}

async function fetchTable(session: Session, target: Target, options: GetOptions): Promise<Table | undefined> {
  const { type, names } = target;
  const namespace = listNamespace(session, type, options);
  // Sorting needs each row's whole object, as kubectl asks for it.
  const includeObject = options.sortBy ? 'Object' : undefined;
  let table: Table | undefined;
  if (names.length === 0) {
    table = await session.client.getTable(type, { namespace, labelSelector: options.selector, fieldSelector: options.fieldSelector, includeObject });
  } else {
    const tables = await eachName(session, names, (name) => session.client.getTable(type, { namespace, name, includeObject }));
    if (tables.length === 0) return undefined;
    table = { ...tables[0], rows: tables.flatMap((t) => t.rows) };
  }
  if (options.sortBy) table = { ...table, rows: sortByPath(table.rows, options.sortBy, (row) => row.object) };
  return table;
}

function tableFormat(target: Target, format: OutputFormat, options: GetOptions, withKind: boolean): TableFormat {
  return {
    wide: format === 'wide',
    withNamespace: !!options.allNamespaces && target.type.namespaced,
    showLabels: !!options.showLabels,
    kindPrefix: withKind ? kindPrefix(target.type) : undefined,
    labelColumns: options.labelColumns,
  };
}

async function printTables(session: Session, targets: Target[], format: OutputFormat, options: GetOptions): Promise<void> {
  const withKind = targets.length > 1;
  const anyNames = targets.some((t) => t.names.length > 0);
  let printed = 0;
  for (const target of targets) {
    const table = await fetchTable(session, target, options);
    if (!table || table.rows.length === 0) continue;
    const text = renderTable(table, tableFormat(target, format, options, withKind), undefined, options.headers !== false);
    session.out(`${printed > 0 ? '\n' : ''}${text.replace(/\n$/, '')}`);
    printed++;
  }
  if (printed === 0 && !anyNames) session.notice(noResourcesMessage(session, targets, options));
}

async function fetchObjects(session: Session, target: Target, options: GetOptions): Promise<KubeObject[]> {
  const { type, names } = target;
  const namespace = listNamespace(session, type, options);
  if (names.length === 0) {
    const list = await session.client.list(type, { namespace, labelSelector: options.selector, fieldSelector: options.fieldSelector });
    return list.items;
  }
  return eachName(session, names, (name) => session.client.get(type, name, { namespace }));
}

function printObject(session: Session, type: ResourceType, object: KubeObject, format: OutputFormat): void {
  if (format === 'name') session.out(objectName(type, object.metadata.name ?? ''));
  else if (format === 'json') session.out(toJson(withoutManagedFields(object)));
  else session.out(toYaml(withoutManagedFields(object)));
}

async function printObjects(session: Session, targets: Target[], output: Output, options: GetOptions): Promise<void> {
  let found: { type: ResourceType; object: KubeObject }[] = [];
  for (const target of targets) {
    for (const object of await fetchObjects(session, target, options)) found.push({ type: target.type, object });
  }
  if (options.sortBy) found = sortByPath(found, options.sortBy, (f) => f.object);
  const nothing = found.length === 0 && !targets.some((t) => t.names.length > 0);
  if (output.kind === 'name' || output.kind === 'custom-columns') {
    if (nothing) return session.notice(noResourcesMessage(session, targets, options));
    if (found.length > 0) session.out(renderObjects(output, found, false, options.headers !== false));
    return;
  }
  // One named object prints as itself; anything else as a List, even an empty one.
  const single = targets.length === 1 && targets[0].names.length === 1 && found.length === 1;
  const text = renderObjects(output, found, single);
  // A template prints exactly what it says, without a newline of its own.
  if (output.kind === 'jsonpath' && !output.asJson) process.stdout.write(text);
  else session.out(text);
}

/** `get -w`: what exists now, then every change as it happens, until the server ends the stream. */
async function watch(session: Session, targets: Target[], format: OutputFormat, options: GetOptions): Promise<void> {
  const [target] = targets;
  if (targets.length > 1 || target.names.length > 1) {
    throw new BerthError('BadRequest', 'watch is only supported on individual resources and resource collections, but more than one resource was found');
  }
  const { type } = target;
  const namespace = listNamespace(session, type, options);
  const query = {
    namespace,
    labelSelector: options.selector,
    fieldSelector: mergeFieldSelectors(options.fieldSelector, target.names[0] !== undefined ? `metadata.name=${target.names[0]}` : undefined),
  };
  if (format === 'table' || format === 'wide') {
    const table = await session.client.getTable(type, query);
    const tableOptions = tableFormat(target, format, options, false);
    const layout = new TableLayout();
    let headerPrinted = table.rows.length > 0;
    if (headerPrinted) session.out(renderTable(table, tableOptions, layout));
    else session.notice(noResourcesMessage(session, targets, options));
    const watch = await session.client.watchTable(type, { ...query, resourceVersion: table.metadata.resourceVersion });
    for await (const event of watch) {
      if (event.type === 'BOOKMARK') continue;
      const eventTable: Table = { ...event.object, columnDefinitions: event.object.columnDefinitions.length ? event.object.columnDefinitions : table.columnDefinitions };
      const lines = eventTable.rows.map((row) => tableRow(eventTable, row, tableOptions));
      if (!headerPrinted) lines.unshift(tableHeader(eventTable, tableOptions));
      headerPrinted = true;
      session.out(layout.format(lines));
    }
    return;
  }
  const list = await session.client.list(type, query);
  if (format === 'name' && list.items.length === 0) session.notice(noResourcesMessage(session, targets, options));
  // A stream of YAML documents needs separators.
  const printWatched = (object: KubeObject) => {
    if (format === 'yaml') session.out('---');
    printObject(session, type, object, format);
  };
  list.items.forEach(printWatched);
  const watch = await session.client.watch(type, { ...query, resourceVersion: list.metadata.resourceVersion });
  for await (const event of watch) {
    if (event.type !== 'BOOKMARK') printWatched(event.object);
  }
}
