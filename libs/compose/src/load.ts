import { existsSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { BerthError } from '@berth/errors';
import { DEPENDS_ON_CONDITIONS } from './dependencies';
import { durationMs, sizeBytes } from './duration';
import { parseEnvFile } from './env-file';
import { interpolate } from './interpolate';
import { refusalOf } from './keys';
import { clean, isMapping, mergeValue } from './merge';
import type { ComposeProject, DeployConfig, FileObjectConfig, NetworkConfig, ServiceConfig, VolumeConfig } from './model';
import { dictOf, Mapping, normalizeService, PathError } from './normalize';
import { checkShape, COMPOSE_FILE_SHAPE, ShapeError } from './schema';
import { composeError, Override, parseComposeYaml, readTextFile } from './yaml-file';

export interface LoadOptions {
  /** The project directory (`--project-directory`): relative paths and `.env` are read from it. Default: the first file's directory, else the current one. */
  workingDir?: string;
  /** `-f`, in order (relative to the current directory); default: COMPOSE_FILE, else compose.yaml & co. in the working dir or above, with its override file. */
  files?: string[];
  /** `-p`. */
  projectName?: string;
  /** `--profile`; default COMPOSE_PROFILES. */
  profiles?: string[];
  /** The environment (default process.env); `.env` fills in what it does not have. */
  env?: Record<string, string | undefined>;
  /** `--env-file`, in order; default `.env` in the working dir when there is one. */
  envFiles?: string[];
  /** Services named on the command line: they run whatever their profiles (compose's rule), and so do their dependencies. */
  services?: string[];
}

/** What loading found beside the project: every profile the files name (for `config --profiles`). */
export interface LoadedProject {
  project: ComposeProject;
  profiles: string[];
}

const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const MAX_EXTENDS_DEPTH = 32;

/** Reads, checks, merges and canonicalises a compose project (see model.ts for what comes out). */
export async function loadProject(options: LoadOptions = {}): Promise<ComposeProject> {
  return (await loadProjectWithProfiles(options)).project;
}

export async function loadProjectWithProfiles(options: LoadOptions = {}): Promise<LoadedProject> {
  const cwd = process.cwd();
  const shellEnv = options.env ?? process.env;
  const files = (options.files?.length ? options.files.map((file) => resolve(cwd, file)) : undefined) ?? fromComposeFile(shellEnv, cwd) ?? findDefaultFiles(options.workingDir ? resolve(cwd, options.workingDir) : cwd);
  const workingDir = options.workingDir ? resolve(cwd, options.workingDir) : dirname(files[0]);
  const shown = (file: string) => {
    const rel = relative(workingDir, file);
    return rel.startsWith('..') ? file : rel;
  };
  const envFiles = options.envFiles?.length ? options.envFiles.map((file) => resolve(cwd, file)) : [resolve(workingDir, '.env')].filter((file) => existsSync(file));
  const lookup = await environment(envFiles, (name) => own(shellEnv, name), shown);
  const { merged, origins } = await readProject(files, workingDir, lookup, shown, [files.join('\0')]);

  const name = projectName(options.projectName, lookup('COMPOSE_PROJECT_NAME'), merged.name as string | undefined, workingDir, shown(files[0]));
  const active = new Set(options.profiles?.length ? options.profiles : (lookup('COMPOSE_PROFILES') ?? '').split(',').filter((p) => p !== ''));
  const project = await canonicalProject(merged, { name, workingDir, files, lookup, origins, shown: shown(files[0]), active, named: options.services ?? [] });
  const profiles = new Set<string>();
  for (const service of Object.values((merged.services as Record<string, Mapping> | undefined) ?? {})) for (const p of (service.profiles as string[] | undefined) ?? []) profiles.add(p);
  return { project, profiles: [...profiles].sort() };
}

/**
 * The variables interpolation reads: `outer`'s (the shell's, or the including project's), else the env
 * files' (later files win; a file's values may interpolate its earlier keys and `outer`'s).
 */
async function environment(envFiles: string[], outer: (name: string) => string | undefined, shown: (file: string) => string): Promise<(name: string) => string | undefined> {
  const values: Record<string, string> = Object.create(null);
  for (const file of envFiles) {
    const text = await readTextFile(file, shown(file));
    try {
      Object.assign(values, parseEnvFile(text, (name) => outer(name) ?? (Object.hasOwn(values, name) ? values[name] : undefined)));
    } catch (err) {
      throw composeError(shown(file), (err as Error).message);
    }
  }
  return (name) => outer(name) ?? (Object.hasOwn(values, name) ? values[name] : undefined);
}

const MAX_INCLUDE_DEPTH = 10;
const RESOURCES = ['services', 'networks', 'volumes', 'configs', 'secrets'] as const;

/**
 * A project's files read and merged in order (extends resolved in each), then its `include`s: each an
 * own project (its directory, its env files) whose resources are copied in; a name both define is one
 * line, never a silent choice. `origins`: the file each service was last written in, for messages.
 */
async function readProject(
  files: string[],
  workingDir: string,
  lookup: (name: string) => string | undefined,
  shown: (file: string) => string,
  chain: string[],
): Promise<{ merged: Mapping; origins: Map<string, string> }> {
  const reader = new LayerReader(lookup, lookup('HOME'), shown);
  let merged: Mapping = Object.create(null);
  const origins = new Map<string, string>();
  for (const file of files) {
    const layer = await reader.read(file, workingDir);
    await reader.resolveExtends(layer, file);
    for (const name of Object.keys((layer.services as Mapping | undefined) ?? {})) origins.set(name, shown(file));
    merged = mergeValue(merged, layer, '') as Mapping;
  }
  merged = clean(merged) as Mapping;
  const includes = (merged.include as Array<string | { path: string | string[]; project_directory?: string; env_file?: string | string[] }> | undefined) ?? [];
  delete merged.include;
  for (const [index, entry] of includes.entries()) {
    const at = `${shown(files.at(-1)!)}: include[${index}]`;
    const spec = typeof entry === 'string' ? { path: entry } : entry;
    const paths = (typeof spec.path === 'string' ? [spec.path] : spec.path).map((path) => resolve(workingDir, path));
    if (paths.length === 0) throw new BerthError('Invalid', `${at}: path names no file`);
    const key = paths.join('\0');
    if (chain.includes(key)) throw new BerthError('Invalid', `${at}: includes ${paths.map(shown).join(', ')} again, a cycle`);
    if (chain.length >= MAX_INCLUDE_DEPTH) throw new BerthError('Invalid', `${at}: includes go more than ${MAX_INCLUDE_DEPTH} deep`);
    const projectDir = spec.project_directory !== undefined ? resolve(workingDir, spec.project_directory) : dirname(paths[0]);
    const envFiles = spec.env_file !== undefined ? (typeof spec.env_file === 'string' ? [spec.env_file] : spec.env_file).map((file) => resolve(workingDir, file)) : [resolve(projectDir, '.env')].filter((file) => existsSync(file));
    const included = await readProject(paths, projectDir, await environment(envFiles, lookup, shown), shown, [...chain, key]);

    for (const kind of RESOURCES) {
      const from = (included.merged[kind] as Mapping | undefined) ?? {};
      const into = (merged[kind] ??= Object.create(null)) as Mapping;
      for (const name of Object.keys(from)) {
        if (Object.hasOwn(into, name)) throw new BerthError('Invalid', `${at}: ${kind}.${name} is defined both here and in ${paths.map(shown).join(', ')}`);
        into[name] = from[name];
        if (kind === 'services') origins.set(name, included.origins.get(name) ?? shown(paths[0]));
      }
    }
  }
  return { merged, origins };
}

function own(env: Record<string, string | undefined>, name: string): string | undefined {
  return Object.hasOwn(env, name) ? env[name] : undefined;
}

function fromComposeFile(env: Record<string, string | undefined>, cwd: string): string[] | undefined {
  const list = own(env, 'COMPOSE_FILE');
  if (!list) return undefined;
  return list.split(own(env, 'COMPOSE_PATH_SEPARATOR') || ':').filter((f) => f !== '').map((f) => resolve(cwd, f));
}

/** compose.yaml & co. in `dir` or the nearest directory above that has one, with its override file when there is one. */
export function findDefaultFiles(dir: string): string[] {
  for (let current = dir; ; current = dirname(current)) {
    for (const candidate of DEFAULT_FILES) {
      const file = resolve(current, candidate);
      if (!existsSync(file)) continue;
      const stem = candidate.replace(/\.ya?ml$/, '');
      const override = [`${stem}.override.yaml`, `${stem}.override.yml`].map((o) => resolve(current, o)).find((o) => existsSync(o));
      return override ? [file, override] : [file];
    }
    if (dirname(current) === current) break;
  }
  throw new BerthError('NotFound', `no configuration file provided: none of ${DEFAULT_FILES.join(', ')} in ${dir} or above`);
}

function projectName(flag: string | undefined, fromEnv: string | undefined, fromFile: string | undefined, workingDir: string, file: string): string {
  for (const [given, where] of [[flag, '-p'], [fromEnv, 'COMPOSE_PROJECT_NAME'], [fromFile, `${file}: name`]] as const) {
    if (!given) continue;
    if (!PROJECT_NAME.test(given)) {
      throw new BerthError('Invalid', `${where}: ${JSON.stringify(given)} is not a project name: lower case letters, digits, "-" and "_", starting with a letter or digit`);
    }
    return given;
  }
  const name = basename(workingDir).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
  if (!name) throw new BerthError('Invalid', `the directory name ${JSON.stringify(basename(workingDir))} gives no project name: name the project with -p`);
  return name;
}

/** Reads compose files into their long forms: parse, interpolate, check, normalise; and resolves `extends`. */
class LayerReader {
  private readonly cache = new Map<string, Mapping>();

  constructor(
    private readonly lookup: (name: string) => string | undefined,
    private readonly home: string | undefined,
    private readonly shown: (file: string) => string,
  ) {}

  async read(file: string, baseDir: string): Promise<Mapping> {
    const key = `${file}\0${baseDir}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const name = this.shown(file);
    const raw = parseComposeYaml(await readTextFile(file, name), name);
    if (!isMapping(raw)) throw composeError(name, 'must be a mapping of top-level keys (services, networks, ...)');
    let checked: Mapping;
    try {
      checked = checkShape(interpolateTree(raw, this.lookup, ''), COMPOSE_FILE_SHAPE, refusalOf) as Mapping;
      const services = (checked.services ?? Object.create(null)) as Record<string, Mapping | null>;
      if (isMapping(services)) {
        for (const service of Object.keys(services)) services[service] = normalizeService(service, services[service], { baseDir, home: this.home });
      }
      for (const kind of ['configs', 'secrets'] as const) {
        for (const object of Object.values((checked[kind] as Record<string, Mapping> | undefined) ?? {})) {
          if (isMapping(object) && typeof object.file === 'string') object.file = resolve(baseDir, object.file);
        }
      }
      for (const kind of ['volumes', 'networks'] as const) {
        const objects = checked[kind] as Record<string, Mapping | null> | undefined;
        if (!isMapping(objects)) continue;
        for (const object of Object.keys(objects)) {
          const value = objects[object] ?? Object.create(null);
          if (isMapping(value) && isMapping(value.labels)) value.labels = dictOf(value.labels);
          objects[object] = value;
        }
      }
    } catch (err) {
      if (err instanceof ShapeError || err instanceof PathError || err instanceof InterpolationError) throw composeError(name, err.message);
      throw err;
    }
    this.cache.set(key, checked);
    return checked;
  }

  /** Replaces every service's `extends` by the service it extends merged with its own keys (in place). */
  async resolveExtends(layer: Mapping, file: string): Promise<void> {
    const services = (layer.services as Record<string, Mapping> | undefined) ?? {};
    for (const name of Object.keys(services)) services[name] = await this.extended(layer, file, name, []);
  }

  private async extended(layer: Mapping, file: string, name: string, chain: string[]): Promise<Mapping> {
    const services = (layer.services as Record<string, Mapping> | undefined) ?? {};
    const service = Object.hasOwn(services, name) ? services[name] : undefined;
    const here = `${this.shown(file)}: services.${name}`;
    if (!service) throw new BerthError('Invalid', `${chain.at(-1) ?? this.shown(file)}: extends names the service ${JSON.stringify(name)}, which ${this.shown(file)} does not have`);
    const ext = service.extends as { service: string; file?: string } | undefined;
    if (!ext) return service;
    if (chain.includes(here)) throw new BerthError('Invalid', `${here}: extends makes a cycle: ${[...chain, here].join(' → ')}`);
    if (chain.length >= MAX_EXTENDS_DEPTH) throw new BerthError('Invalid', `${here}: extends goes more than ${MAX_EXTENDS_DEPTH} services deep`);
    let baseLayer = layer;
    let baseFile = file;
    if (ext.file !== undefined) {
      baseFile = resolve(dirname(file), ext.file);
      baseLayer = await this.read(baseFile, dirname(baseFile));
    }
    const base = await this.extended(baseLayer, baseFile, ext.service, [...chain, here]);
    const own: Mapping = Object.create(null);
    for (const key of Object.keys(service)) if (key !== 'extends') own[key] = service[key];
    return mergeValue(base, own, 'services.*') as Mapping;
  }
}

class InterpolationError extends Error {}

/** Interpolates every string value (never a key), naming the key path of a failure. */
function interpolateTree(value: unknown, lookup: (name: string) => string | undefined, path: string): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, lookup);
    } catch (err) {
      throw new InterpolationError(`${path || 'the top level'}: ${(err as Error).message}`);
    }
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateTree(item, lookup, `${path}[${index}]`));
  if (value instanceof Override) return new Override(interpolateTree(value.value, lookup, path));
  if (isMapping(value)) {
    const out: Mapping = Object.create(null);
    for (const key of Object.keys(value)) out[key] = interpolateTree(value[key], lookup, path ? `${path}.${key}` : key);
    return out;
  }
  return value;
}

interface CanonicalContext {
  name: string;
  workingDir: string;
  files: string[];
  lookup: (name: string) => string | undefined;
  origins: Map<string, string>;
  shown: string;
  active: Set<string>;
  named: string[];
}

async function canonicalProject(merged: Mapping, ctx: CanonicalContext): Promise<ComposeProject> {
  const rawServices = (merged.services as Record<string, Mapping> | undefined) ?? Object.create(null);
  const project: ComposeProject = {
    name: ctx.name,
    workingDir: ctx.workingDir,
    files: ctx.files,
    services: Object.create(null),
    networks: Object.create(null),
    volumes: Object.create(null),
    configs: Object.create(null),
    secrets: Object.create(null),
  };
  for (const service of ctx.named) {
    if (!Object.hasOwn(rawServices, service)) throw new BerthError('NotFound', `no such service: ${service}`);
  }
  const enabled = enabledServices(rawServices, ctx);
  for (const name of Object.keys(rawServices).sort()) {
    if (!enabled.has(name)) continue;
    const file = ctx.origins.get(name) ?? ctx.shown;
    try {
      project.services[name] = await canonicalService(name, rawServices[name], ctx);
    } catch (err) {
      if (err instanceof PathError) throw composeError(file, err.message);
      throw err;
    }
  }
  for (const [name, service] of Object.entries(project.services)) {
    const file = ctx.origins.get(name) ?? ctx.shown;
    for (const [dependency, setting] of Object.entries(service.depends_on)) {
      if (Object.hasOwn(project.services, dependency)) continue;
      // required: false — the dependency is optional (compose only warns), whether disabled or not defined at all.
      if (!setting.required) {
        delete service.depends_on[dependency];
        continue;
      }
      const why = Object.hasOwn(rawServices, dependency) ? `which is not enabled by the active profiles` : 'which is not defined';
      throw composeError(file, `services.${name}.depends_on: depends on the service ${JSON.stringify(dependency)}, ${why}`);
    }
  }
  canonicalNetworks(merged, project, ctx);
  canonicalVolumes(merged, project, ctx);
  for (const kind of ['configs', 'secrets'] as const) canonicalFileObjects(merged, project, kind, ctx);
  return project;
}

/** The services that run: those with no profile or an active one, and those named with what they depend on (compose's rule). */
function enabledServices(services: Record<string, Mapping>, ctx: CanonicalContext): Set<string> {
  const enabled = new Set<string>();
  for (const [name, service] of Object.entries(services)) {
    const profiles = (service.profiles as string[] | undefined) ?? [];
    if (profiles.length === 0 || ctx.active.has('*') || profiles.some((p) => ctx.active.has(p))) enabled.add(name);
  }
  const pulled = new Set<string>();
  const pending = [...ctx.named];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (pulled.has(name) || !Object.hasOwn(services, name)) continue;
    pulled.add(name);
    enabled.add(name);
    pending.push(...Object.keys((services[name].depends_on as Mapping | undefined) ?? {}));
  }
  return enabled;
}

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;
const PULL_POLICIES = ['always', 'never', 'missing', 'if_not_present', 'build'];
const DEPLOY_MODES = ['replicated', 'global', 'replicated-job', 'global-job'];

function fail(path: string, message: string): PathError {
  return new PathError(`${path}: ${message}`);
}

function oneOf(value: unknown, allowed: readonly string[], path: string): void {
  if (value !== undefined && !allowed.includes(value as string)) throw fail(path, `must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
}

function duration(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || durationMs(value) === undefined) throw fail(path, `must be a duration (10s, 1m30s, 500ms), not ${JSON.stringify(value)}`);
  return value;
}

function bytes(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  const size = sizeBytes(value as string | number);
  if (size === undefined) throw fail(path, `must be a size (512m, 1g, a number of bytes), not ${JSON.stringify(value)}`);
  return size;
}

function cpus(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^\d+(\.\d+)?$/.test(text)) throw fail(path, `must be a number of CPUs (0.5, 2), not ${JSON.stringify(value)}`);
  return text;
}

function strings(value: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [key, item] of Object.entries((value as Mapping | undefined) ?? {})) out[key] = item === null ? '' : String(item);
  return out;
}

async function canonicalService(name: string, raw: Mapping, ctx: CanonicalContext): Promise<ServiceConfig> {
  const at = `services.${name}`;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw fail(at, 'a service name has letters, digits, "_", "." and "-", starting with a letter or digit');
  if (raw.image === undefined && raw.build === undefined) throw fail(at, 'has neither an image nor a build');

  const environment: Record<string, string | null> = Object.create(null);
  for (const [index, entry] of ((raw.env_file as Array<{ path: string; required: boolean; format?: string }> | undefined) ?? []).entries()) {
    if (entry.format !== undefined && entry.format !== 'raw') throw fail(`${at}.env_file[${index}].format`, `must be raw or left out, not ${JSON.stringify(entry.format)}`);
    if (!existsSync(entry.path)) {
      if (entry.required) throw fail(`${at}.env_file[${index}]`, `the env file ${entry.path} does not exist`);
      continue;
    }
    try {
      Object.assign(environment, parseEnvFile(await readTextFile(entry.path, entry.path), ctx.lookup, entry.format === 'raw'));
    } catch (err) {
      throw fail(`${at}.env_file[${index}]`, (err as Error).message);
    }
  }
  for (const [key, value] of Object.entries((raw.environment as Record<string, string | null> | undefined) ?? {})) {
    environment[key] = value ?? ctx.lookup(key) ?? null;
  }

  const service: ServiceConfig = {
    name,
    environment,
    labels: strings(raw.labels),
    cap_add: (raw.cap_add as string[] | undefined) ?? [],
    cap_drop: (raw.cap_drop as string[] | undefined) ?? [],
    profiles: (raw.profiles as string[] | undefined) ?? [],
    depends_on: Object.create(null),
    ports: (raw.ports as ServiceConfig['ports'] | undefined) ?? [],
    expose: (raw.expose as string[] | undefined) ?? [],
    volumes: (raw.volumes as ServiceConfig['volumes'] | undefined) ?? [],
    tmpfs: (raw.tmpfs as string[] | undefined) ?? [],
    configs: (raw.configs as ServiceConfig['configs'] | undefined) ?? [],
    secrets: (raw.secrets as ServiceConfig['secrets'] | undefined) ?? [],
    networks: Object.create(null),
    extra_hosts: (raw.extra_hosts as ServiceConfig['extra_hosts'] | undefined) ?? [],
    dns: (raw.dns as string[] | undefined) ?? [],
    dns_search: (raw.dns_search as string[] | undefined) ?? [],
    sysctls: strings(raw.sysctls),
    ulimits: (raw.ulimits as ServiceConfig['ulimits'] | undefined) ?? Object.create(null),
  };
  for (const key of ['image', 'working_dir', 'user', 'hostname', 'domainname', 'stop_signal', 'restart', 'pull_policy', 'container_name', 'network_mode'] as const) {
    if (raw[key] !== undefined) service[key] = raw[key] as string;
  }
  for (const key of ['init', 'read_only', 'privileged', 'tty', 'stdin_open'] as const) {
    if (raw[key] !== undefined) service[key] = raw[key] as boolean;
  }
  if (raw.command !== undefined) service.command = raw.command as string[];
  if (raw.entrypoint !== undefined) service.entrypoint = raw.entrypoint as string[];
  if (raw.stop_grace_period !== undefined) service.stop_grace_period = duration(raw.stop_grace_period, `${at}.stop_grace_period`);
  if (service.restart !== undefined && !RESTART.test(service.restart)) {
    throw fail(`${at}.restart`, `must be no, always, on-failure[:N] or unless-stopped, not ${JSON.stringify(service.restart)}`);
  }
  if (service.pull_policy !== undefined && !PULL_POLICIES.includes(service.pull_policy)) {
    throw fail(`${at}.pull_policy`, `berth pulls by the node's image pull policy: ${PULL_POLICIES.join(', ')}, not ${JSON.stringify(service.pull_policy)}`);
  }
  if (service.network_mode !== undefined && service.network_mode !== 'host' && service.network_mode !== 'none') {
    throw fail(`${at}.network_mode`, `berth runs host or none, not ${JSON.stringify(service.network_mode)} (no namespaces are shared across pods)`);
  }
  if (service.network_mode !== undefined && raw.networks !== undefined) throw fail(`${at}.network_mode`, 'cannot be used with networks');

  for (const [dependency, setting] of Object.entries((raw.depends_on as Record<string, ServiceConfig['depends_on'][string]> | undefined) ?? {})) {
    oneOf(setting.condition, DEPENDS_ON_CONDITIONS, `${at}.depends_on.${dependency}.condition`);
    if (dependency === name) throw fail(`${at}.depends_on`, 'a service cannot depend on itself');
    service.depends_on[dependency] = { condition: setting.condition, required: setting.required, restart: setting.restart };
  }
  if (service.network_mode === undefined) {
    const networks = (raw.networks as Record<string, Mapping> | undefined) ?? { default: {} };
    for (const [network, setting] of Object.entries(networks)) {
      service.networks[network] = { aliases: (setting.aliases as string[] | undefined) ?? [] };
      if (setting.ipv4_address !== undefined) service.networks[network].ipv4_address = setting.ipv4_address as string;
      if (setting.priority !== undefined) service.networks[network].priority = setting.priority as number;
    }
  }
  for (const [limit, setting] of Object.entries(service.ulimits)) {
    if (setting.soft === undefined || setting.hard === undefined) throw fail(`${at}.ulimits.${limit}`, 'needs both soft and hard');
  }
  if (raw.healthcheck !== undefined) service.healthcheck = healthcheck(raw.healthcheck as Mapping, `${at}.healthcheck`);
  if (raw.build !== undefined) service.build = buildConfig(raw.build as Mapping, ctx);
  for (const [index, mount] of service.volumes.entries()) {
    if (mount.type === 'volume' && mount.source !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(mount.source)) {
      throw fail(`${at}.volumes[${index}]`, `${JSON.stringify(mount.source)} is not a volume name`);
    }
  }
  service.deploy = deployConfig(raw, at);
  if (service.deploy === undefined) delete service.deploy;
  if (service.container_name !== undefined) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(service.container_name)) {
      throw fail(`${at}.container_name`, `berth names pods by DNS labels (lower case letters, digits and "-"), not ${JSON.stringify(service.container_name)}`);
    }
    if ((service.deploy?.replicas ?? 1) > 1) throw fail(`${at}.container_name`, 'a service with a container_name cannot have more than one replica');
  }
  return service;
}

function healthcheck(raw: Mapping, at: string): NonNullable<ServiceConfig['healthcheck']> {
  const check: NonNullable<ServiceConfig['healthcheck']> = {};
  if (raw.test !== undefined) {
    const test = raw.test as string[];
    if (!['NONE', 'CMD', 'CMD-SHELL'].includes(test[0])) throw fail(`${at}.test`, `must start with CMD, CMD-SHELL or NONE, not ${JSON.stringify(test[0] ?? '')}`);
    if (test[0] !== 'NONE' && test.length < 2) throw fail(`${at}.test`, `${test[0]} needs a command`);
    check.test = test;
  }
  for (const key of ['interval', 'timeout', 'start_period', 'start_interval'] as const) {
    if (raw[key] !== undefined) check[key] = duration(raw[key], `${at}.${key}`);
  }
  if (raw.retries !== undefined) {
    if (!Number.isInteger(raw.retries) || (raw.retries as number) < 0) throw fail(`${at}.retries`, `must be a whole number, not ${JSON.stringify(raw.retries)}`);
    check.retries = raw.retries as number;
  }
  if (raw.disable !== undefined) check.disable = raw.disable as boolean;
  return check;
}

function buildConfig(raw: Mapping, ctx: CanonicalContext): NonNullable<ServiceConfig['build']> {
  const args: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries((raw.args as Record<string, string | null> | undefined) ?? {})) {
    const resolved = value ?? ctx.lookup(key);
    if (resolved !== undefined) args[key] = resolved;
  }
  const build: NonNullable<ServiceConfig['build']> = {
    context: raw.context as string,
    dockerfile: (raw.dockerfile as string | undefined) ?? 'Dockerfile',
    args,
    labels: strings(raw.labels),
    tags: (raw.tags as string[] | undefined) ?? [],
  };
  if (raw.dockerfile_inline !== undefined) build.dockerfile_inline = raw.dockerfile_inline as string;
  if (raw.target !== undefined) build.target = raw.target as string;
  if (raw.no_cache !== undefined) build.no_cache = raw.no_cache as boolean;
  if (raw.pull !== undefined) build.pull = raw.pull as boolean;
  return build;
}

function updateConfig(raw: Mapping | undefined, at: string): DeployConfig['update_config'] {
  if (raw === undefined) return undefined;
  oneOf(raw.failure_action, ['continue', 'rollback', 'pause'], `${at}.failure_action`);
  oneOf(raw.order, ['start-first', 'stop-first'], `${at}.order`);
  const config: NonNullable<DeployConfig['update_config']> = { ...(raw as DeployConfig['update_config']) };
  if (raw.delay !== undefined) config.delay = duration(raw.delay, `${at}.delay`);
  if (raw.monitor !== undefined) config.monitor = duration(raw.monitor, `${at}.monitor`);
  return config;
}

/** `deploy` with `scale`, `mem_limit`, `mem_reservation`, `cpus` and `pids_limit` folded in (a conflict is one line). */
function deployConfig(raw: Mapping, at: string): DeployConfig | undefined {
  const given = raw.deploy as Mapping | undefined;
  const folded = ['scale', 'mem_limit', 'mem_reservation', 'cpus', 'pids_limit'].some((key) => raw[key] !== undefined);
  if (given === undefined && !folded) return undefined;
  const d = (given ?? {}) as Mapping;
  oneOf(d.mode, DEPLOY_MODES, `${at}.deploy.mode`);
  oneOf(d.endpoint_mode, ['vip', 'dnsrr'], `${at}.deploy.endpoint_mode`);
  const deploy: DeployConfig = { labels: strings(d.labels) };
  if (d.mode !== undefined) deploy.mode = d.mode as DeployConfig['mode'];
  if (d.endpoint_mode !== undefined) deploy.endpoint_mode = d.endpoint_mode as DeployConfig['endpoint_mode'];
  const fold = <T>(outside: T | undefined, inside: T | undefined, what: string, where: string): T | undefined => {
    if (outside !== undefined && inside !== undefined && outside !== inside) {
      throw fail(`${at}.${what}`, `says ${JSON.stringify(outside)} but ${where} says ${JSON.stringify(inside)}`);
    }
    return inside ?? outside;
  };
  const replicas = fold(raw.scale as number | undefined, d.replicas as number | undefined, 'scale', 'deploy.replicas');
  if (replicas !== undefined) {
    if (replicas < 0) throw fail(`${at}.deploy.replicas`, `must not be negative, not ${replicas}`);
    deploy.replicas = replicas;
  }
  const resources = (d.resources as { limits?: Mapping; reservations?: Mapping } | undefined) ?? {};
  const limits = {
    cpus: fold(cpus(raw.cpus, `${at}.cpus`), cpus(resources.limits?.cpus, `${at}.deploy.resources.limits.cpus`), 'cpus', 'deploy.resources.limits.cpus'),
    memory: fold(bytes(raw.mem_limit, `${at}.mem_limit`), bytes(resources.limits?.memory, `${at}.deploy.resources.limits.memory`), 'mem_limit', 'deploy.resources.limits.memory'),
    pids: fold(raw.pids_limit as number | undefined, resources.limits?.pids as number | undefined, 'pids_limit', 'deploy.resources.limits.pids'),
  };
  const reservations = {
    cpus: cpus(resources.reservations?.cpus, `${at}.deploy.resources.reservations.cpus`),
    memory: fold(bytes(raw.mem_reservation, `${at}.mem_reservation`), bytes(resources.reservations?.memory, `${at}.deploy.resources.reservations.memory`), 'mem_reservation', 'deploy.resources.reservations.memory'),
  };
  const defined = <T extends object>(value: T): T | undefined => {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length ? (Object.fromEntries(entries) as T) : undefined;
  };
  const resourceConfig = defined({ limits: defined(limits), reservations: defined(reservations) });
  if (resourceConfig) deploy.resources = resourceConfig;
  const restart = d.restart_policy as Mapping | undefined;
  if (restart) {
    oneOf(restart.condition, ['none', 'on-failure', 'any'], `${at}.deploy.restart_policy.condition`);
    deploy.restart_policy = { ...(restart as DeployConfig['restart_policy']) };
    if (restart.delay !== undefined) deploy.restart_policy!.delay = duration(restart.delay, `${at}.deploy.restart_policy.delay`);
    if (restart.window !== undefined) deploy.restart_policy!.window = duration(restart.window, `${at}.deploy.restart_policy.window`);
  }
  const placement = d.placement as Mapping | undefined;
  if (placement) {
    deploy.placement = { constraints: (placement.constraints as string[] | undefined) ?? [], preferences: (placement.preferences as Array<{ spread: string }> | undefined) ?? [] };
    if (placement.max_replicas_per_node !== undefined) deploy.placement.max_replicas_per_node = placement.max_replicas_per_node as number;
  }
  const update = updateConfig(d.update_config as Mapping | undefined, `${at}.deploy.update_config`);
  if (update) deploy.update_config = update;
  const rollback = updateConfig(d.rollback_config as Mapping | undefined, `${at}.deploy.rollback_config`);
  if (rollback) deploy.rollback_config = rollback;
  return deploy;
}

/** `external: {name: x}` (the old form) is `external: true, name: x`. */
function externalName(raw: Mapping): { external?: boolean; name?: string } {
  if (isMapping(raw.external)) return { external: true, name: (raw.external.name as string | undefined) ?? (raw.name as string | undefined) };
  return { external: raw.external as boolean | undefined, name: raw.name as string | undefined };
}

function canonicalNetworks(merged: Mapping, project: ComposeProject, ctx: CanonicalContext): void {
  const declared = (merged.networks as Record<string, Mapping> | undefined) ?? {};
  const used = new Set(Object.values(project.services).flatMap((service) => Object.keys(service.networks)));
  for (const network of used) {
    if (network !== 'default' && !Object.hasOwn(declared, network)) {
      const user = Object.values(project.services).find((service) => Object.hasOwn(service.networks, network))!;
      throw composeError(ctx.origins.get(user.name) ?? ctx.shown, `services.${user.name}.networks: the network ${JSON.stringify(network)} is not declared in networks`);
    }
  }
  const keys = new Set([...Object.keys(declared), ...(used.has('default') ? ['default'] : [])]);
  for (const key of [...keys].sort()) {
    const raw = (Object.hasOwn(declared, key) ? declared[key] : {}) as Mapping;
    const { external, name } = externalName(raw);
    const network: NetworkConfig = { name: name ?? (external ? key : `${project.name}_${key}`), labels: strings(raw.labels) };
    if (external) network.external = true;
    if (raw.internal !== undefined) network.internal = raw.internal as boolean;
    if (raw.driver !== undefined) network.driver = raw.driver as string;
    project.networks[key] = network;
  }
}

function canonicalVolumes(merged: Mapping, project: ComposeProject, ctx: CanonicalContext): void {
  const declared = (merged.volumes as Record<string, Mapping> | undefined) ?? {};
  for (const service of Object.values(project.services)) {
    for (const [index, mount] of service.volumes.entries()) {
      if (mount.type === 'volume' && mount.source !== undefined && !Object.hasOwn(declared, mount.source)) {
        throw composeError(ctx.origins.get(service.name) ?? ctx.shown, `services.${service.name}.volumes[${index}]: the volume ${JSON.stringify(mount.source)} is not declared in volumes`);
      }
    }
  }
  for (const key of Object.keys(declared).sort()) {
    const raw = declared[key];
    const { external, name } = externalName(raw);
    const volume: VolumeConfig = { name: name ?? (external ? key : `${project.name}_${key}`), driver_opts: strings(raw.driver_opts), labels: strings(raw.labels) };
    if (external) volume.external = true;
    if (raw.driver !== undefined) volume.driver = raw.driver as string;
    project.volumes[key] = volume;
  }
}

function canonicalFileObjects(merged: Mapping, project: ComposeProject, kind: 'configs' | 'secrets', ctx: CanonicalContext): void {
  const declared = (merged[kind] as Record<string, Mapping> | undefined) ?? {};
  for (const service of Object.values(project.services)) {
    for (const [index, reference] of service[kind].entries()) {
      if (!Object.hasOwn(declared, reference.source)) {
        throw composeError(ctx.origins.get(service.name) ?? ctx.shown, `services.${service.name}.${kind}[${index}]: ${JSON.stringify(reference.source)} is not declared in ${kind}`);
      }
    }
  }
  for (const key of Object.keys(declared).sort()) {
    const raw = declared[key];
    const { external, name } = externalName(raw);
    const sources = ['file', 'environment', 'content'].filter((source) => raw[source] !== undefined).length + (external ? 1 : 0);
    if (sources !== 1) throw composeError(ctx.shown, `${kind}.${key}: needs exactly one of file, environment${kind === 'configs' ? ', content' : ''} or external`);
    if (kind === 'secrets' && raw.content !== undefined) throw composeError(ctx.shown, `${kind}.${key}: a secret comes from a file or the environment, not content`);
    const object: FileObjectConfig = { name: name ?? (external ? key : `${project.name}_${key}`), labels: strings(raw.labels) };
    if (external) object.external = true;
    for (const source of ['file', 'environment', 'content'] as const) if (raw[source] !== undefined) object[source] = raw[source] as string;
    project[kind][key] = object;
  }
}
