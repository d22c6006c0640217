/**
 * What every kind's table (its `kubectl get` columns) is built from: the column vocabulary of Kubernetes'
 * server-side printers (pkg/printers/internalversion) and the cell helpers several kinds share. The
 * apiserver always prints wide, so every row carries the priority-1 cells too and kubectl hides them
 * unless -o wide.
 */
import { formatRequirements, requirementsOfSelector } from '../selectors';
import type { KubeObject } from '../types';
import type { TableColumn, TablePrinter } from './definition';

export type ColumnSpec = [name: string, type: TableColumn['type'], description: string, options?: { wide?: boolean; format?: string }];

export const NAME: ColumnSpec = ['Name', 'string', 'Name must be unique within a namespace.', { format: 'name' }];
export const AGE: ColumnSpec = ['Age', 'string', 'The time since the object was created.'];
export const CONTAINERS: ColumnSpec = ['Containers', 'string', 'Names of each container in the template.', { wide: true }];
export const IMAGES: ColumnSpec = ['Images', 'string', 'Images referenced by each container in the template.', { wide: true }];
export const SELECTOR: ColumnSpec = ['Selector', 'string', 'Label query over pods selected by this object.', { wide: true }];

function column([name, type, description, options]: ColumnSpec): TableColumn {
  return { name, type, format: options?.format ?? '', description, priority: options?.wide ? 1 : 0 };
}

/** A kind's table from Kubernetes-style column specs and a printer of one row's cells, in their order. */
export function table(columns: ColumnSpec[], cells: (obj: KubeObject, now: Date) => unknown[]): TablePrinter {
  return { columns: columns.map(column), cells };
}

/** NAME and AGE: the table of a kind Kubernetes has no printer for. */
export const NAME_AGE_TABLE = table([NAME, AGE], (obj, now) => [obj.metadata.name ?? '', humanAge(obj.metadata.creationTimestamp, now)]);

/**
 * `5s`, `3m20s`, `4h`, `12d`: Kubernetes' duration.HumanDuration for the AGE column; `<unknown>` without
 * a timestamp, `<invalid>` for one more than a second in the future (clock skew up to that is "now").
 */
export function humanAge(from: string | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const then = Date.parse(from);
  if (Number.isNaN(then)) return '<unknown>';
  return humanDuration(now.getTime() - then);
}

/** Kubernetes' duration.HumanDuration of a span in milliseconds. */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.trunc(milliseconds / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return withRemainder(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return withRemainder(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return withRemainder(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return withRemainder(years, 'y', days % 365, 'd');
  return `${years}y`;
}

function withRemainder(whole: number, unit: string, rest: number, restUnit: string): string {
  return rest === 0 ? `${whole}${unit}` : `${whole}${unit}${rest}${restUnit}`;
}

/** Printers read the wire shapes loosely: a stored object is whatever validation let through. */
export function view<T>(obj: KubeObject): T {
  return obj as unknown as T;
}

export function orNone(value: string | undefined): string {
  return value ? value : '<none>';
}

export function countOf(map: unknown): number {
  return map && typeof map === 'object' ? Object.keys(map).length : 0;
}

export interface ConditionView {
  type: string;
  status: string;
  reason?: string;
}

export function conditionTrue(conditions: ConditionView[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export interface ContainerView {
  name: string;
  image?: string;
  restartPolicy?: string;
}

/** The wide CONTAINERS and IMAGES cells: every container of the template, comma-separated. */
export function containerCells(containers: ContainerView[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name).join(','), list.map((c) => c.image ?? '').join(',')];
}

/** A workload's selector as text; `malformed` is what Kubernetes prints when it cannot be parsed. */
export function selectorText(selector: unknown, malformed: string): string {
  try {
    return formatRequirements(requirementsOfSelector(selector));
  } catch {
    return malformed;
  }
}
