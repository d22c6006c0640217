import { KubeObject, ResourceType, tableCells, tableColumns } from '@berth/api';
import { errors } from '@berth/errors';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function parseIncludeObject(value: string | null): IncludeObject {
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw errors.badRequest(`includeObject: unsupported value "${value}": supported values: "None", "Metadata", "Object"`);
}

export interface TableOptions {
  /** meta.k8s.io version the client asked for (v1 or v1beta1). */
  version: string;
  includeObject: IncludeObject;
  /** Watch events leave the column definitions out after the first. */
  withColumns: boolean;
}

function rowObject(obj: KubeObject, include: IncludeObject, version: string): unknown {
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

/** A meta.k8s.io Table of objects, with the columns `kubectl get` prints for the type. */
export function toTable(type: ResourceType, objects: KubeObject[], resourceVersion: string | undefined, opts: TableOptions): KubeObject {
  const now = new Date();
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata: resourceVersion === undefined ? {} : { resourceVersion },
    ...(opts.withColumns ? { columnDefinitions: tableColumns(type) } : { columnDefinitions: [] }),
    rows: objects.map((obj) => ({
      cells: tableCells(type, obj, now),
      ...(opts.includeObject === 'None' ? {} : { object: rowObject(obj, opts.includeObject, opts.version) }),
    })),
  };
}
