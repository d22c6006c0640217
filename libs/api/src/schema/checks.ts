/** Reusable value rules, worded as Kubernetes' validation words them. */
import { field } from '@berth/errors';
import { isQuantity, parseQuantity } from '../quantity';
import type { Check, Problem } from './fields';
import { allowingOnly, isAbsent, problem } from './fields';
import { percentErrors, portNameErrors } from './syntax';

export function oneOf<T extends string>(allowed: readonly T[]): Check<string> {
  return allowingOnly((value) => (allowed.includes(value as T) ? undefined : problem(field.notSupported('', value, allowed))), allowed);
}

export function atLeast(min: number): Check<number> {
  return (value) => (value >= min ? undefined : problem(field.invalid('', value, `must be greater than or equal to ${min}`)));
}

export function greaterThan(min: number): Check<number> {
  return (value) => (value > min ? undefined : problem(field.invalid('', value, `must be greater than ${min}`)));
}

export function between(min: number, max: number): Check<number> {
  return (value) =>
    value >= min && value <= max ? undefined : problem(field.invalid('', value, `must be between ${min} and ${max}, inclusive`));
}

export const portNumber = between(1, 65535);
export const nonNegative = atLeast(0);

/** A port given by number or by name (`targetPort`, probes' `port`). */
export const portNumberOrName: Check<number | string> = (value, owner) =>
  typeof value === 'number'
    ? portNumber(value, owner)
    : portNameErrors(value).map((detail) => problem(field.invalid('', value, detail)));

/** `maxSurge`/`maxUnavailable`: a non-negative count or a percentage. */
export const countOrPercent: Check<number | string> = (value, owner) =>
  typeof value === 'number'
    ? nonNegative(value, owner)
    : percentErrors(value).map((detail) => problem(field.invalid('', value, detail)));

/** Flags every element whose key repeats an earlier one: `[1].name: Duplicate value: "web"`. */
export function uniqueBy(key: string, seedFrom?: string): Check<Array<Record<string, unknown>>> {
  return (list, owner) => {
    const seen = new Set<unknown>();
    const seed = seedFrom ? owner[seedFrom] : undefined;
    if (Array.isArray(seed)) for (const item of seed) if (item && typeof item === 'object') seen.add((item as Record<string, unknown>)[key]);
    const problems: Problem[] = [];
    list.forEach((item, i) => {
      const value = item?.[key];
      if (isAbsent(value) || value === '') return;
      if (seen.has(value)) problems.push(problem(field.duplicate('', value), `[${i}].${key}`));
      seen.add(value);
    });
    return problems;
  };
}

export function notFound(value: unknown, subpath?: string): Problem {
  return { reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(value)}`, ...(subpath ? { subpath } : {}) };
}

export function tooLong(maxBytes: number, subpath?: string): Problem {
  return { reason: 'FieldValueTooLong', message: `Too long: must have at most ${maxBytes} bytes`, ...(subpath ? { subpath } : {}) };
}

const QUANTITY_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** A single quantity (`sizeLimit`, `divisor`). */
export const quantity: Check<string | number> = (amount) =>
  isQuantity(amount) ? undefined : problem(field.invalid('', amount, QUANTITY_FORMAT));

/** Resource lists: every amount a quantity, and none negative. */
export const quantities: Check<Record<string, string | number>> = (list) =>
  Object.entries(list).flatMap(([name, amount]) => {
    if (!isQuantity(amount)) return [problem(field.invalid('', amount, QUANTITY_FORMAT), `[${name}]`)];
    if (parseQuantity(amount) < 0) return [problem(field.invalid('', amount, 'must be greater than or equal to 0'), `[${name}]`)];
    return [];
  });

/** The byte size of a map's keys and values, as Kubernetes totals annotations and config data. */
export function mapBytes(map: Record<string, unknown>): number {
  let total = 0;
  for (const [key, value] of Object.entries(map)) {
    total += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  }
  return total;
}

export function maxMapBytes(maxBytes: number): Check<Record<string, string>> {
  return (map) => (mapBytes(map) > maxBytes ? tooLong(maxBytes) : undefined);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Secret data and ConfigMap binaryData values must decode as standard base64. */
export const base64Values: Check<Record<string, string>> = (map) =>
  Object.entries(map).flatMap(([key, value]) =>
    BASE64.test(value) ? [] : [problem(field.invalid('', '<value omitted>', 'must be valid base64 data'), `[${key}]`)],
  );

/** Exactly one of `members` must be set on the object at each list index (volume sources, probe handlers). */
export function exactlyOneOf(
  members: readonly string[],
  noneDetail: string,
  manyDetail: string,
): (obj: Record<string, unknown>, subpath: string) => Problem[] {
  return (obj, subpath) => {
    const present = members.filter((m) => !isAbsent(obj[m]));
    if (present.length === 0) return [problem(field.required('', noneDetail), subpath)];
    return present.slice(1).map((m) => problem(field.forbidden('', manyDetail), `${subpath}.${m}`));
  };
}
