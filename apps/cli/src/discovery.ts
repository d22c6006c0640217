import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { decodeJson, ownMember, type ResourceType, type Subresource } from '@berth/api';
import { BerthError } from '@berth/errors';

/** What kubectl asks discovery for: aggregated v2 (one round trip for all groups), else the legacy documents. */
export const AGGREGATED_DISCOVERY_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

/** kubectl keeps discovery this long before it asks again (unless a name is not found in it). */
export const DISCOVERY_CACHE_TTL_MS = 6 * 60 * 60 * 1000;

/** A discovery document or cache file larger than this is refused: berth's whole discovery is ~10 KiB. */
const MAX_DISCOVERY_BYTES = 4 * 1024 * 1024;
/** More resources than this in one answer is not a real server. */
const MAX_RESOURCES = 5000;

const KNOWN_SUBRESOURCES: readonly Subresource[] = ['status', 'scale', 'binding', 'log', 'exec'];

/** One resource the server serves, as discovery describes it, with every subresource it names. */
export interface DiscoveredResource {
  type: ResourceType;
  /** All subresources discovery lists (`eviction` too, which ResourceType's list leaves out). */
  subresources: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMember(record: unknown, key: string): string | undefined {
  const value = isRecord(record) ? ownMember(record, key) : undefined;
  return typeof value === 'string' ? value : undefined;
}

function stringList(record: unknown, key: string): string[] {
  const value = isRecord(record) ? ownMember(record, key) : undefined;
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function listMember(record: unknown, key: string): unknown[] {
  const value = isRecord(record) ? ownMember(record, key) : undefined;
  return Array.isArray(value) ? value : [];
}

/**
 * The resources of an aggregated discovery answer (`APIGroupDiscoveryList`, v2 or v2beta1), for `/api`
 * and `/apis` alike; only the preferred (first) version of each group, as kubectl resolves names. A
 * resource without `responseKind`, name or kind is skipped, as kubectl skips it.
 */
export function parseAggregatedDiscovery(document: unknown): DiscoveredResource[] {
  if (!isRecord(document) || stringMember(document, 'kind') !== 'APIGroupDiscoveryList') {
    throw new BerthError('InternalError', 'the server answered discovery with something other than an APIGroupDiscoveryList');
  }
  const found: DiscoveredResource[] = [];
  for (const item of listMember(document, 'items')) {
    const group = stringMember(isRecord(item) ? ownMember(item, 'metadata') : undefined, 'name') ?? '';
    const [preferred] = listMember(item, 'versions');
    const version = stringMember(preferred, 'version');
    if (!version) continue;
    for (const entry of listMember(preferred, 'resources')) {
      const plural = stringMember(entry, 'resource');
      const responseKind = isRecord(entry) ? ownMember(entry, 'responseKind') : undefined;
      const kind = stringMember(responseKind, 'kind');
      if (!plural || !kind || plural.includes('/')) continue;
      if (found.length >= MAX_RESOURCES) throw new BerthError('InternalError', `the server's discovery lists more than ${MAX_RESOURCES} resources`);
      const subresources = listMember(entry, 'subresources')
        .map((sub) => stringMember(sub, 'subresource'))
        .filter((sub): sub is string => !!sub);
      found.push({
        type: {
          group,
          version,
          kind,
          listKind: `${kind}List`,
          plural,
          singular: stringMember(entry, 'singularResource') || kind.toLowerCase(),
          shortNames: stringList(entry, 'shortNames'),
          namespaced: stringMember(entry, 'scope') === 'Namespaced',
          categories: stringList(entry, 'categories'),
          subresources: KNOWN_SUBRESOURCES.filter((sub) => subresources.includes(sub)),
          verbs: stringList(entry, 'verbs'),
        },
        subresources,
      });
    }
  }
  return found;
}

export function apiVersionOfType(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/**
 * What the server serves, looked up the ways kubectl's RESTMapper does: a typed name (plural, singular,
 * short name or kind, optionally `.group` or `.version.group`), a manifest's apiVersion + kind, a category.
 */
export class ResourceCatalog {
  constructor(readonly resources: readonly DiscoveredResource[]) {}

  get types(): ResourceType[] {
    return this.resources.map((r) => r.type);
  }

  resolve(typed: string): ResourceType | undefined {
    const lower = typed.toLowerCase();
    const dot = lower.indexOf('.');
    const name = dot >= 0 ? lower.slice(0, dot) : lower;
    const group = dot >= 0 ? lower.slice(dot + 1) : undefined;
    const inGroup = (type: ResourceType) => group === undefined || type.group === group || `${type.version}.${type.group}` === group;
    const types = this.types.filter(inGroup);
    // kubectl prefers an exact resource name over a kind or a short name of another resource.
    return (
      types.find((t) => t.plural === name) ??
      types.find((t) => t.singular === name) ??
      types.find((t) => t.kind.toLowerCase() === name) ??
      types.find((t) => t.shortNames.includes(name))
    );
  }

  forKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOfType(t) === apiVersion && t.kind === kind);
  }

  /** Every resource in a category (`all`), in discovery order. */
  category(name: string): ResourceType[] {
    const lower = name.toLowerCase();
    return this.types.filter((t) => t.categories.includes(lower));
  }

  hasSubresource(type: ResourceType, subresource: string): boolean {
    return !!this.resources.find((r) => r.type.group === type.group && r.type.plural === type.plural)?.subresources.includes(subresource);
  }
}

/** kubectl's cache directory: `--cache-dir`, else `$KUBECACHEDIR`, else `~/.kube/cache`. */
export function discoveryCacheDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return flag || env.KUBECACHEDIR || join(home, '.kube', 'cache');
}

/** `https://127.0.0.1:6443` → `127.0.0.1_6443`, as kubectl names a server's discovery cache directory. */
export function serverCacheName(server: string): string {
  let hostPort = server;
  try {
    hostPort = new URL(server).host;
  } catch {
    // Not a URL: its characters are still made safe below.
  }
  return hostPort.replace(/:/g, '_').replace(/[^a-zA-Z0-9._-]/g, '_').replace(/^\.+/, '_') || 'server';
}

interface CacheFile {
  savedAt: number;
  resources: DiscoveredResource[];
}

/** Where one server's discovery is kept: a file under the cache dir, read and written whole. */
export class DiscoveryCache {
  constructor(
    private readonly dir: string,
    private readonly server: string,
    private readonly now: () => number = Date.now,
  ) {}

  get path(): string {
    return join(this.dir, 'discovery', serverCacheName(this.server), 'berth-resources.json');
  }

  /** The cached resources if they are fresh and well-formed; anything else is a miss. */
  read(): DiscoveredResource[] | undefined {
    try {
      if (statSync(this.path).size > MAX_DISCOVERY_BYTES) return undefined;
      const decoded = decodeJson(readFileSync(this.path, 'utf8'), 'the discovery cache');
      if (!isRecord(decoded)) return undefined;
      const savedAt = ownMember(decoded, 'savedAt');
      const age = typeof savedAt === 'number' ? this.now() - savedAt : NaN;
      if (!(age >= 0 && age < DISCOVERY_CACHE_TTL_MS)) return undefined;
      const resources = ownMember(decoded, 'resources');
      if (!Array.isArray(resources) || !resources.every(isCachedResource)) return undefined;
      return resources;
    } catch {
      return undefined;
    }
  }

  /** Best effort, as kubectl's cache: a directory that cannot be written only means asking again next time. */
  write(resources: DiscoveredResource[]): void {
    try {
      mkdirSync(join(this.path, '..'), { recursive: true, mode: 0o750 });
      const temp = `${this.path}.${process.pid}.tmp`;
      const file: CacheFile = { savedAt: this.now(), resources };
      writeFileSync(temp, JSON.stringify(file), { mode: 0o640 });
      renameSync(temp, this.path);
    } catch {
      // Not cached.
    }
  }
}

function isCachedResource(value: unknown): value is DiscoveredResource {
  if (!isRecord(value) || !Array.isArray(value.subresources) || !isRecord(value.type)) return false;
  const t = value.type;
  const strings = ['group', 'version', 'kind', 'listKind', 'plural', 'singular'].every((key) => typeof t[key] === 'string');
  const lists = ['shortNames', 'categories', 'subresources', 'verbs'].every((key) => Array.isArray(t[key]) && (t[key] as unknown[]).every((s) => typeof s === 'string'));
  return strings && lists && typeof t.namespaced === 'boolean' && value.subresources.every((s) => typeof s === 'string') && (t.plural as string) !== '';
}

/** Fetches a discovery document (`/api` or `/apis`) with the aggregated accept header. */
export type DiscoveryFetch = (path: '/api' | '/apis') => Promise<unknown>;

/**
 * The server's resources for one invocation: from the cache when fresh, else from the server (and then
 * cached). `refresh()` asks the server again, once per invocation, as kubectl does on a name it does not know.
 */
export class Discovery {
  private catalog: ResourceCatalog | undefined;
  private fromServer = false;

  constructor(
    private readonly fetchDocument: DiscoveryFetch,
    private readonly cache: DiscoveryCache | undefined,
  ) {}

  async resources(): Promise<ResourceCatalog> {
    if (this.catalog) return this.catalog;
    const cached = this.cache?.read();
    if (cached) return (this.catalog = new ResourceCatalog(cached));
    return this.load();
  }

  /** Asks the server again, unless this invocation already did; answers whether anything new may have come. */
  async refresh(): Promise<boolean> {
    if (this.fromServer) return false;
    await this.load();
    return true;
  }

  /** Looks a typed name up, asking the server again when the cache does not know it. */
  async resolve(typed: string): Promise<ResourceType> {
    const found = (await this.resources()).resolve(typed) ?? ((await this.refresh()) ? this.catalog!.resolve(typed) : undefined);
    if (!found) throw new BerthError('NotFound', `the server doesn't have a resource type "${typed}"`);
    return found;
  }

  /** A manifest's apiVersion + kind, asking the server again when the cache does not know it. */
  async forKind(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    return (await this.resources()).forKind(apiVersion, kind) ?? ((await this.refresh()) ? this.catalog!.forKind(apiVersion, kind) : undefined);
  }

  private async load(): Promise<ResourceCatalog> {
    const [core, groups] = await Promise.all([this.fetchDocument('/api'), this.fetchDocument('/apis')]);
    const resources = [...parseAggregatedDiscovery(core), ...parseAggregatedDiscovery(groups)];
    this.fromServer = true;
    this.cache?.write(resources);
    return (this.catalog = new ResourceCatalog(resources));
  }
}
