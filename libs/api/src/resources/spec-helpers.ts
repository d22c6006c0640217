/** What the specs beside the kinds' folders share: an object as the apiserver admits it, a `kubectl get` row. */
import { applyDefaults } from '../defaults';
import { resolveResourceName, type ResourceType } from '../registry';
import { tableCells, tableColumns } from '../tables';
import type { KubeObject } from '../types';
import { validateObject } from '../validation';

export function typeNamed(name: string): ResourceType {
  const type = resolveResourceName(name);
  if (!type) throw new Error(`no type ${name}`);
  return type;
}

/** Defaults obj in place, validates it (against old, for an update) and returns the causes as `field: message`. */
export function admitted(name: string, obj: KubeObject, old?: KubeObject): string[] {
  const type = typeNamed(name);
  applyDefaults(type, obj);
  return validateObject(type, obj, { fieldValidation: 'Strict', old }).causes.map((c) => `${c.field}: ${c.message}`);
}

/** One row's cells keyed by column name, as `kubectl get -o wide` shows them. */
export function tableRow(name: string, obj: KubeObject, now: Date): Record<string, unknown> {
  const type = typeNamed(name);
  const columns = tableColumns(type);
  const cells = tableCells(type, obj, now);
  if (cells.length !== columns.length) throw new Error(`${cells.length} cells for ${columns.length} columns`);
  return Object.fromEntries(columns.map((c, i) => [c.name, cells[i]]));
}
