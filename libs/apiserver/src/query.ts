import { errors } from '@berth/errors';

/** Go's int64 text, as Kubernetes parses its numeric query parameters: digits with an optional sign. */
const INTEGER = /^[+-]?\d+$/;

/**
 * An integer query parameter (`gracePeriodSeconds`, `timeoutSeconds`, `limit`, `tailLines`, ...), or
 * undefined when absent. Kubernetes reads these as int64; berth takes what a JavaScript number holds
 * exactly, and each caller's range. Anything else (`1e20`, `1.5`, out of range) is a 400 naming it.
 */
export function integerParam(q: URLSearchParams, name: string, range: { min: number; max?: number }): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  return integerValue(name, raw, range);
}

/** The same rules for a value from a body (DeleteOptions' gracePeriodSeconds). */
export function integerValue(name: string, raw: unknown, range: { min: number; max?: number }): number {
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && INTEGER.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > max) {
    throw errors.badRequest(`${name}: Invalid value: ${JSON.stringify(raw)}: must be an integer from ${range.min} to ${max}`);
  }
  return value;
}

/**
 * A boolean query parameter (`watch`, `allowWatchBookmarks`, `follow`, `stdin`, ...): `true` or `1` is
 * true; anything else, or absence, is false.
 */
export function booleanParam(q: URLSearchParams, name: string): boolean {
  const raw = q.get(name);
  return raw === 'true' || raw === '1';
}

/** A resourceVersion to start from: the store's revisions are non-negative integers. */
export function resourceVersionParam(q: URLSearchParams): string | null {
  const raw = q.get('resourceVersion');
  if (raw === null || raw === '') return raw;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw errors.badRequest(`invalid resource version: ${JSON.stringify(raw)}`);
  return raw;
}
