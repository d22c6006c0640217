import type { ResourceType } from './registry';
import type { KubeObject } from './types';

/** meta.k8s.io/v1 TableColumnDefinition. priority 1 columns show only with `-o wide`. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** The columns `kubectl get` prints for this type, as Kubernetes' own printers define them. */
export function tableColumns(type: ResourceType): TableColumn[] {
  void type;
  throw new Error('tableColumns: not implemented yet');
}

/** One row's cells, in tableColumns order; ages are computed against `now`. */
export function tableCells(type: ResourceType, obj: KubeObject, now: Date): unknown[] {
  void type;
  void obj;
  void now;
  throw new Error('tableCells: not implemented yet');
}

/** `5s`, `3m20s`, `4h`, `12d`: Kubernetes' HumanDuration for the AGE column. */
export function humanAge(from: string | undefined, now: Date): string {
  void from;
  void now;
  throw new Error('humanAge: not implemented yet');
}
