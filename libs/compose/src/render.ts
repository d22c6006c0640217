import { stringify } from 'yaml';
import type { ComposeProject } from './model';

/** Lists that say something when empty: `command: []` clears the image's command. */
const KEEP_EMPTY = new Set(['command', 'entrypoint']);

/**
 * The project as `docker compose config` prints it: YAML, keys sorted, every value in its long form,
 * paths absolute, empty lists and mappings left out. Loading the text again gives the same project
 * (the working dir and file list aside, which the text does not carry).
 */
export function renderProject(project: ComposeProject): string {
  const services: Record<string, unknown> = Object.create(null);
  for (const [name, service] of Object.entries(project.services)) {
    const { name: _name, networks, ...rest } = service;
    const rendered = prune(rest) as Record<string, unknown>;
    if (service.network_mode === undefined) {
      // A network the service joins without settings is `NAME: null`, as compose prints it.
      rendered.networks = Object.fromEntries(Object.entries(networks).map(([network, setting]) => [network, setting.aliases.length || setting.ipv4_address || setting.priority !== undefined ? prune(setting) : null]));
    }
    services[name] = rendered;
  }
  const document: Record<string, unknown> = { name: project.name, services };
  for (const kind of ['networks', 'volumes', 'configs', 'secrets'] as const) {
    if (Object.keys(project[kind]).length > 0) document[kind] = prune(project[kind]) ?? {};
  }
  return stringify(document, { sortMapEntries: true, lineWidth: 0 });
}

/** A plain copy without undefined values, empty lists (but KEEP_EMPTY's) and empty mappings. */
function prune(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 && !KEEP_EMPTY.has(key)) return undefined;
    return value.map((item) => prune(item) ?? {});
  }
  if (value !== null && typeof value === 'object') {
    // No prototype: a key named __proto__ (an env file may have one) stays a key.
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value)) {
      const item = prune(v, k);
      if (item !== undefined) out[k] = item;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return value;
}
