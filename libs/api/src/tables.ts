import { definitionOf } from './registry';
import type { ResourceType } from './registry';
import type { TableColumn } from './resources/definition';
import type { KubeObject } from './types';

export type { TableColumn } from './resources/definition';
export { humanAge, humanDuration } from './resources/columns';

/** The columns `kubectl get` prints for this type, as Kubernetes' own printers define them. */
export function tableColumns(type: ResourceType): TableColumn[] {
  return definitionOf(type).table.columns;
}

/** One row's cells, in tableColumns order; ages are computed against `now`. */
export function tableCells(type: ResourceType, obj: KubeObject, now: Date): unknown[] {
  return definitionOf(type).table.cells(obj, now);
}
