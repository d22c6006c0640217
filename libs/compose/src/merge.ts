import { Override, RESET } from './yaml-file';

/**
 * The Compose Specification's merge rules ("Merge and override"), on files already in their long forms
 * (normalize.ts): mappings merge key by key; `command`, `entrypoint` and `healthcheck.test` are replaced;
 * `ports` are unique by (host_ip, target, published, protocol), `volumes`, `secrets` and `configs` by
 * target (a later entry with the same key replaces the earlier); other sequences are appended without
 * duplicates; `!reset` removes the value, `!override` replaces it whole. `pattern` is the key's path with
 * `*` for names (`services.*.ports`).
 */
export function mergeValue(base: unknown, over: unknown, pattern: string): unknown {
  if (over === RESET) return undefined;
  if (over instanceof Override) return clean(over.value);
  if (over === undefined) return clean(base);
  if (base === undefined || base === RESET) return clean(over);
  if (isMapping(base) && isMapping(over)) {
    const out: Record<string, unknown> = Object.create(null);
    for (const key of new Set([...Object.keys(base), ...Object.keys(over)])) {
      const value = mergeValue(base[key], over[key], childPattern(pattern, key));
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    if (REPLACED.has(pattern)) return clean(over);
    const identity = UNIQUE_BY[pattern] ?? ((item: unknown) => JSON.stringify(item));
    const merged = new Map<string, unknown>();
    for (const item of [...base, ...over].map(clean)) {
      const key = identity(item);
      merged.delete(key); // a later entry with the same key takes the earlier one's place, at the end
      merged.set(key, item);
    }
    return [...merged.values()];
  }
  return clean(over);
}

const REPLACED = new Set(['services.*.command', 'services.*.entrypoint', 'services.*.healthcheck.test']);

const byTarget = (item: unknown) => String((item as { target?: unknown }).target);
const UNIQUE_BY: Record<string, (item: unknown) => string> = {
  'services.*.ports': (item) => {
    const port = item as { host_ip?: string; target?: number; published?: number; protocol?: string };
    return JSON.stringify([port.host_ip ?? '', port.target, port.published ?? '', port.protocol ?? 'tcp']);
  },
  'services.*.volumes': byTarget,
  'services.*.secrets': byTarget,
  'services.*.configs': byTarget,
};

/** Keys under these are names (services, networks...), `*` in patterns. */
const NAMED = new Set(['services', 'networks', 'volumes', 'configs', 'secrets', 'services.*.depends_on', 'services.*.networks', 'services.*.ulimits']);

function childPattern(pattern: string, key: string): string {
  if (NAMED.has(pattern)) return pattern ? `${pattern}.*` : key;
  return pattern ? `${pattern}.${key}` : key;
}

/** A value without the tags' markers: `!reset` entries left out, `!override` taken as its value. */
export function clean(value: unknown): unknown {
  if (value === RESET) return undefined;
  if (value instanceof Override) return clean(value.value);
  if (Array.isArray(value)) return value.map(clean).filter((item) => item !== undefined);
  if (isMapping(value)) {
    const out: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value)) {
      const item = clean(value[key]);
      if (item !== undefined) out[key] = item;
    }
    return out;
  }
  return value;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Override);
}
