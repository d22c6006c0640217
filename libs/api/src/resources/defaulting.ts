/**
 * The vocabulary kinds' defaults are written in. Defaulting runs before validation, on whatever a client
 * sent, so it touches only values of the shape it expects and leaves anything else for validation to report.
 */
import { formatQuantity } from '../quantity';

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at obj[key], created empty when absent; undefined when something else sits there. */
export function child(obj: Obj, key: string): Obj | undefined {
  if (obj[key] === undefined || obj[key] === null) obj[key] = {};
  return isObj(obj[key]) ? (obj[key] as Obj) : undefined;
}

export function objects(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

/**
 * Kubernetes defaults Go zero values: an absent field, and an empty string where the field is a plain string
 * (`restartPolicy: ""` becomes `Always`).
 */
export function setDefault(obj: Obj, key: string, value: unknown): void {
  const current = obj[key];
  if (current === undefined || current === null || (current === '' && typeof value === 'string')) obj[key] = value;
}

/** For Go's non-pointer integers, where 0 also means "not set" (probe timings). */
export function setDefaultCount(obj: Obj, key: string, value: number): void {
  if (obj[key] === 0) delete obj[key];
  setDefault(obj, key, value);
}


/** YAML's `cpu: 1` arrives as a number; Kubernetes stores and returns quantities as canonical strings. */
export function quantitiesAsStrings(list: unknown): void {
  if (!isObj(list)) return;
  for (const [name, amount] of Object.entries(list)) {
    if (typeof amount === 'number' && Number.isFinite(amount)) list[name] = formatQuantity(amount);
  }
}
