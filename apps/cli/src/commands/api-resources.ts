import { BerthError } from '@berth/errors';
import type { ResourceType } from '@berth/api';
import { TableLayout } from '../printers';
import type { Session } from '../session';

export interface ApiResourcesOptions {
  output?: string;
  namespaced?: string;
  apiGroup?: string;
  verbs?: string[];
  sortBy?: string;
  headers?: boolean;
  cached?: boolean;
}

function apiVersion(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** `berth api-resources`: what the server's discovery serves, as kubectl prints it. */
export async function apiResources(session: Session, options: ApiResourcesOptions): Promise<void> {
  const output = options.output ?? '';
  if (!['', 'wide', 'name'].includes(output)) throw new BerthError('BadRequest', `--output ${output} is not available`);
  if (options.sortBy !== undefined && !['name', 'kind'].includes(options.sortBy)) throw new BerthError('BadRequest', `--sort-by accepts only name or kind`);
  if (options.namespaced !== undefined && !['true', 'false'].includes(options.namespaced)) {
    throw new BerthError('BadRequest', `invalid argument "${options.namespaced}" for "--namespaced" flag: strconv.ParseBool: parsing "${options.namespaced}": invalid syntax`);
  }
  if (!options.cached) await session.discovery.refresh();
  let types = (await session.discovery.resources()).types.filter((t) => t.verbs.length > 0);
  if (options.namespaced !== undefined) types = types.filter((t) => t.namespaced === (options.namespaced === 'true'));
  if (options.apiGroup !== undefined) types = types.filter((t) => t.group === options.apiGroup);
  const verbs = options.verbs ?? [];
  if (verbs.length > 0) types = types.filter((t) => verbs.every((v) => t.verbs.includes(v)));
  // kubectl's order: by group, then by name (or by the --sort-by column).
  const key = (t: ResourceType) => (options.sortBy === 'kind' ? t.kind : options.sortBy === 'name' ? t.plural : t.group);
  types = [...types].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
  if (output === 'name') {
    session.out(types.map((t) => (t.group ? `${t.plural}.${t.group}` : t.plural)).join('\n'));
    return;
  }
  const wide = output === 'wide';
  const header = ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND', ...(wide ? ['VERBS', 'CATEGORIES'] : [])];
  const rows = types.map((t) => [
    t.plural,
    t.shortNames.join(','),
    apiVersion(t),
    String(t.namespaced),
    t.kind,
    ...(wide ? [`[${t.verbs.join(' ')}]`, t.categories.join(',')] : []),
  ]);
  session.out(new TableLayout().format(options.headers === false ? rows : [header, ...rows]).replace(/\n$/, ''));
}
