import { isMapping } from './merge';
import { Override, RESET } from './yaml-file';

/**
 * The Compose Specification's file shape (its JSON schema, `schema/compose-spec.json`), written as
 * TypeScript values and checked by one small walker. Every key the specification has is here; what berth
 * does not carry is `any` here and refused by name through COMPOSE_KEYS (keys.ts), so the checker's one
 * line says why. Where the specification allows a string for a boolean or a number (interpolated values
 * are strings), the checker converts it, so what follows reads typed values.
 */
export type Shape =
  | { kind: 'string' }
  | { kind: 'integer' }
  | { kind: 'number' }
  | { kind: 'boolean' }
  | { kind: 'null' }
  /** Anything: a key refused by COMPOSE_KEYS, whose content is never read. */
  | { kind: 'any' }
  /** Mapping of scalars (`KEY: value`) or list of `KEY=value` strings: environment, labels, args... Its keys are data. */
  | { kind: 'dict' }
  | { kind: 'list'; items: Shape }
  /** Named properties, then `additional` for any other key (`*` in paths); `x-` keys are dropped. */
  | { kind: 'object'; properties: Record<string, Shape>; additional?: Shape }
  /** The first option whose kind takes the value's type. */
  | { kind: 'union'; options: Shape[] };

const str: Shape = { kind: 'string' };
const int: Shape = { kind: 'integer' };
const num: Shape = { kind: 'number' };
const bool: Shape = { kind: 'boolean' };
const nul: Shape = { kind: 'null' };
const any: Shape = { kind: 'any' };
const dict: Shape = { kind: 'dict' };
const list = (items: Shape): Shape => ({ kind: 'list', items });
const obj = (properties: Record<string, Shape>, additional?: Shape): Shape => ({ kind: 'object', properties, additional });
const union = (...options: Shape[]): Shape => ({ kind: 'union', options });
const strings = list(str);
const stringOrList = union(str, strings);
/** A port or a count: compose writes numbers, interpolation gives strings. */
const intOrString = union(int, str);
const external = union(bool, obj({ name: str }));

const updateConfig = obj({ parallelism: int, delay: str, failure_action: str, monitor: str, max_failure_ratio: num, order: str });
const fileReference = union(str, obj({ source: str, target: str, uid: str, gid: str, mode: union(int, str) }));
const ulimits = obj({}, union(int, obj({ soft: int, hard: int })));

const service = obj({
  annotations: any,
  attach: any,
  blkio_config: any,
  build: union(
    str,
    obj({
      context: str,
      dockerfile: str,
      dockerfile_inline: str,
      args: dict,
      target: str,
      labels: dict,
      no_cache: bool,
      pull: bool,
      tags: strings,
      entitlements: any,
      ssh: any,
      cache_from: any,
      cache_to: any,
      additional_contexts: any,
      network: any,
      provenance: any,
      sbom: any,
      shm_size: any,
      extra_hosts: any,
      isolation: any,
      privileged: any,
      secrets: any,
      ulimits: any,
      platforms: any,
    }),
  ),
  cap_add: strings,
  cap_drop: strings,
  cgroup: any,
  cgroup_parent: any,
  command: union(nul, str, strings),
  configs: list(fileReference),
  container_name: str,
  cpu_count: any,
  cpu_percent: any,
  cpu_shares: any,
  cpu_quota: any,
  cpu_period: any,
  cpu_rt_period: any,
  cpu_rt_runtime: any,
  cpus: union(num, str),
  cpuset: any,
  credential_spec: any,
  depends_on: union(strings, obj({}, obj({ condition: str, required: bool, restart: bool }))),
  deploy: union(
    nul,
    obj({
      mode: str,
      endpoint_mode: str,
      replicas: int,
      labels: dict,
      rollback_config: updateConfig,
      update_config: updateConfig,
      resources: obj({
        limits: obj({ cpus: union(num, str), memory: union(str, int), pids: int }),
        reservations: obj({ cpus: union(num, str), memory: union(str, int), generic_resources: any, devices: any }),
      }),
      restart_policy: obj({ condition: str, delay: str, max_attempts: int, window: str }),
      placement: obj({ constraints: strings, preferences: list(obj({ spread: str })), max_replicas_per_node: int }),
    }),
  ),
  develop: any,
  device_cgroup_rules: any,
  devices: any,
  dns: stringOrList,
  dns_opt: any,
  dns_search: stringOrList,
  domainname: str,
  entrypoint: union(nul, str, strings),
  env_file: union(str, list(union(str, obj({ path: str, required: bool, format: str })))),
  environment: dict,
  expose: list(intOrString),
  extends: union(str, obj({ service: str, file: str })),
  external_links: any,
  extra_hosts: union(strings, obj({}, union(str, strings))),
  gpus: any,
  group_add: any,
  healthcheck: obj({ disable: bool, interval: str, retries: int, test: stringOrList, timeout: str, start_period: str, start_interval: str }),
  hostname: str,
  image: str,
  init: bool,
  ipc: any,
  isolation: any,
  label_file: any,
  labels: dict,
  links: any,
  logging: any,
  mac_address: any,
  mem_limit: union(int, str),
  mem_reservation: union(int, str),
  mem_swappiness: any,
  memswap_limit: any,
  models: any,
  network_mode: str,
  networks: union(
    strings,
    obj(
      {},
      union(
        nul,
        obj({
          aliases: strings,
          ipv4_address: str,
          priority: num,
          interface_name: any,
          ipv6_address: any,
          link_local_ips: any,
          mac_address: any,
          driver_opts: any,
          gw_priority: any,
        }),
      ),
    ),
  ),
  oom_kill_disable: any,
  oom_score_adj: any,
  pid: any,
  pids_limit: int,
  platform: any,
  ports: list(union(int, str, obj({ name: str, mode: str, host_ip: str, target: intOrString, published: intOrString, protocol: str, app_protocol: str }))),
  post_start: any,
  pre_stop: any,
  privileged: bool,
  profiles: strings,
  provider: any,
  pull_policy: str,
  pull_refresh_after: any,
  read_only: bool,
  restart: str,
  runtime: any,
  scale: int,
  secrets: list(fileReference),
  security_opt: any,
  shm_size: any,
  stdin_open: bool,
  stop_grace_period: str,
  stop_signal: str,
  storage_opt: any,
  sysctls: dict,
  tmpfs: stringOrList,
  tty: bool,
  ulimits,
  use_api_socket: any,
  user: str,
  userns_mode: any,
  uts: any,
  volumes: list(
    union(
      str,
      obj({
        type: str,
        source: str,
        target: str,
        read_only: bool,
        consistency: any,
        bind: obj({ propagation: str, create_host_path: bool, recursive: any, selinux: any }),
        volume: obj({ nocopy: bool, subpath: str, labels: any }),
        tmpfs: obj({ size: union(int, str), mode: union(int, str) }),
        image: any,
      }),
    ),
  ),
  volumes_from: any,
  working_dir: str,
});

/** A whole compose file. */
export const COMPOSE_FILE_SHAPE: Shape = obj({
  version: str,
  name: str,
  include: list(union(str, obj({ path: stringOrList, env_file: stringOrList, project_directory: str }))),
  services: obj({}, union(nul, service)),
  networks: obj({}, union(nul, obj({ name: str, driver: str, driver_opts: any, ipam: any, external, internal: bool, enable_ipv4: any, enable_ipv6: any, attachable: any, labels: dict }))),
  volumes: obj({}, union(nul, obj({ name: str, driver: str, driver_opts: obj({}, union(str, num)), external, labels: dict }))),
  secrets: obj({}, obj({ name: str, environment: str, file: str, external, labels: dict, driver: any, driver_opts: any, template_driver: any })),
  configs: obj({}, obj({ name: str, content: str, environment: str, file: str, external, labels: dict, template_driver: any })),
  models: any,
});

/** Every key path the shape accepts (`services.*.ports[].published`), in the notation of COMPOSE_KEYS. */
export function shapePaths(shape: Shape = COMPOSE_FILE_SHAPE, path = ''): string[] {
  switch (shape.kind) {
    case 'object': {
      const paths: string[] = [];
      for (const [key, child] of Object.entries(shape.properties)) {
        const at = path ? `${path}.${key}` : key;
        paths.push(at, ...shapePaths(child, at));
      }
      if (shape.additional) paths.push(...shapePaths(shape.additional, `${path}.*`));
      return paths;
    }
    case 'list':
      return shapePaths(shape.items, `${path}[]`);
    case 'union':
      return [...new Set(shape.options.flatMap((option) => shapePaths(option, path)))];
    default:
      return [];
  }
}

/** What a key path is refused for (its pattern, with `*` and `[]`); undefined when it is carried. */
export type RefusalLookup = (pattern: string) => string | undefined;

/** Where the walker is: the path in the file (`services.web.ports[0]`) and its pattern (`services.*.ports[]`). */
interface Place {
  path: string;
  pattern: string;
}

/** A problem at a key path; the loader puts the file's name in front. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  return String(value);
}

const KIND_NAMES: Record<Shape['kind'], string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  null: 'null',
  any: 'anything',
  dict: 'a mapping or a list of KEY=value',
  list: 'a list',
  object: 'a mapping',
  union: 'one of several forms',
};

/**
 * The value checked against the shape and converted where the specification allows strings for typed
 * values ("true" → true, "3" → 3); `x-` keys dropped; a key refused by `refused` is one ShapeError naming it.
 */
export function checkShape(value: unknown, shape: Shape, refused: RefusalLookup, place: Place = { path: '', pattern: '' }): unknown {
  // The merge's tags: `!reset` takes any value's place; `!override`'s value is checked as the value it stands for.
  if (value === RESET) return value;
  if (value instanceof Override) return new Override(checkShape(value.value, shape, refused, place));
  const fail = (message: string) => new ShapeError(place.path, message);
  switch (shape.kind) {
    case 'any':
      return value;
    case 'null':
      if (value !== null) throw fail(`must be null, not ${describe(value)}`);
      return value;
    case 'string':
      if (typeof value !== 'string') throw fail(`must be a string, not ${describe(value)}`);
      return value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw fail(`must be a boolean, not ${describe(value)}`);
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim())) return Number(value);
      throw fail(`must be an integer, not ${describe(value)}`);
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
      throw fail(`must be a number, not ${describe(value)}`);
    case 'dict':
      return checkDict(value, fail);
    case 'list': {
      if (!Array.isArray(value)) throw fail(`must be a list, not ${describe(value)}`);
      return value.map((item, index) => checkShape(item, shape.items, refused, { path: `${place.path}[${index}]`, pattern: `${place.pattern}[]` }));
    }
    case 'object': {
      if (!isMapping(value)) throw fail(`must be a mapping, not ${describe(value)}`);
      const out: Record<string, unknown> = Object.create(null);
      for (const key of Object.keys(value)) {
        if (key.startsWith('x-')) continue;
        const named = Object.hasOwn(shape.properties, key);
        const child = named ? shape.properties[key] : shape.additional;
        if (!child) throw fail(`unknown key ${JSON.stringify(key)}`);
        const at: Place = {
          path: place.path ? `${place.path}.${key}` : key,
          pattern: place.pattern ? `${place.pattern}.${named ? key : '*'}` : named ? key : '*',
        };
        if (named) {
          const reason = refused(at.pattern);
          if (reason !== undefined) throw new ShapeError(at.path, `berth does not support this key: ${reason}`);
        }
        out[key] = checkShape(value[key], child, refused, at);
      }
      return out;
    }
    case 'union': {
      for (const option of shape.options) {
        if (takes(option, value)) return checkShape(value, option, refused, place);
      }
      throw fail(`must be ${[...new Set(shape.options.map((option) => KIND_NAMES[option.kind]))].join(' or ')}, not ${describe(value)}`);
    }
  }
}

/** Whether a union's option is the one for this value's type (the option then checks the value itself). */
function takes(shape: Shape, value: unknown): boolean {
  switch (shape.kind) {
    case 'null':
      return value === null;
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'object':
      return isMapping(value);
    case 'dict':
      return Array.isArray(value) || isMapping(value);
    default:
      return true;
  }
}

/** A dict's values: strings, numbers and booleans become strings, null stays (a name without a value). */
function checkDict(value: unknown, fail: (message: string) => ShapeError): unknown {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (typeof item !== 'string' && typeof item !== 'number') throw fail(`[${index}] must be a string KEY=value, not ${describe(item)}`);
    });
    return value.map(String);
  }
  if (!isMapping(value)) throw fail(`must be a mapping or a list of KEY=value, not ${describe(value)}`);
  const out: Record<string, string | null> = Object.create(null);
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item === null || item === RESET) out[key] = item as null;
    else if (typeof item === 'string' || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item))) out[key] = String(item);
    else throw fail(`${JSON.stringify(key)} must have a string, number or boolean, not ${describe(item)}`);
  }
  return out;
}
