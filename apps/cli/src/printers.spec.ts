import type { Table } from '@berth/client';
import { asList, renderTable, TableLayout, tableRow, toJson, toYaml, withoutManagedFields } from './printers';

const table: Table = {
  apiVersion: 'meta.k8s.io/v1',
  kind: 'Table',
  metadata: { resourceVersion: '9' },
  columnDefinitions: [
    { name: 'Name', type: 'string', format: 'name', description: '', priority: 0 },
    { name: 'Ready', type: 'string', format: '', description: '', priority: 0 },
    { name: 'Age', type: 'string', format: '', description: '', priority: 0 },
    { name: 'Containers', type: 'string', format: '', description: '', priority: 1 },
  ],
  rows: [
    { cells: ['web', '2/2', '5m', 'web'], object: { apiVersion: 'v1', kind: 'PartialObjectMetadata', metadata: { name: 'web', namespace: 'default', labels: { tier: 'front', app: 'web' } } } },
    { cells: ['api-server', '0/1', '12s', null], object: { apiVersion: 'v1', kind: 'PartialObjectMetadata', metadata: { name: 'api-server', namespace: 'prod' } } },
  ],
};

const plain = { wide: false, withNamespace: false, showLabels: false };

describe('table rendering', () => {
  it('prints upper-cased headers over aligned columns, hiding wide columns', () => {
    expect(renderTable(table, plain)).toBe(['NAME         READY   AGE', 'web          2/2     5m', 'api-server   0/1     12s', ''].join('\n'));
  });

  it('adds wide columns, NAMESPACE and LABELS on request', () => {
    expect(renderTable(table, { wide: true, withNamespace: true, showLabels: true })).toBe(
      [
        'NAMESPACE   NAME         READY   AGE   CONTAINERS   LABELS',
        'default     web          2/2     5m    web          app=web,tier=front',
        'prod        api-server   0/1     12s   <none>       <none>',
        '',
      ].join('\n'),
    );
  });

  it('prefixes names with the kind when several types are printed', () => {
    expect(tableRow(table, table.rows[0], { ...plain, kindPrefix: 'deployment.apps' })[0]).toBe('deployment.apps/web');
  });

  it('keeps earlier column widths for rows that arrive later', () => {
    const layout = new TableLayout();
    renderTable(table, plain, layout);
    expect(layout.format([['db', '1/1', '1s']])).toBe('db           1/1     1s\n');
  });
});

describe('object printers', () => {
  it('orders keys alphabetically at every level, as kubectl does', () => {
    expect(toJson({ kind: 'Pod', apiVersion: 'v1', spec: { z: [{ b: 1, a: 2 }], a: 1 } })).toBe(
      JSON.stringify({ apiVersion: 'v1', kind: 'Pod', spec: { a: 1, z: [{ a: 2, b: 1 }] } }, null, 4) + '\n',
    );
  });

  it('prints JSON with four-space indents and several objects as a List', () => {
    expect(toJson({ a: { b: 1 } })).toBe('{\n    "a": {\n        "b": 1\n    }\n}\n');
    expect(asList([])).toEqual({ apiVersion: 'v1', items: [], kind: 'List', metadata: { resourceVersion: '' } });
  });

  it('escapes HTML characters in JSON and quotes 1.1 timestamps and booleans in YAML, as kubectl', () => {
    expect(toJson({ html: '<b>&</b>' })).toBe('{\n    "html": "\\u003cb\\u003e\\u0026\\u003c/b\\u003e"\n}\n');
    expect(JSON.parse(toJson({ html: '<b>&</b>' })).html).toBe('<b>&</b>');
    expect(toYaml({ at: '2026-11-29T02:10:47Z', answer: 'yes', count: 1 })).toBe('answer: "yes"\nat: "2026-11-29T02:10:47Z"\ncount: 1\n');
  });

  it('leaves managedFields out', () => {
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', managedFields: [{ manager: 'berth' }] } };
    expect(withoutManagedFields(obj)).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
  });

  it('prints YAML without folding long strings', () => {
    const long = 'x'.repeat(200);
    expect(toYaml({ metadata: { name: 'a' }, data: { long } })).toBe(`data:\n  long: ${long}\nmetadata:\n  name: a\n`);
  });
});
