import { isAbsolute, resolve } from 'node:path';
import { shellWords } from './shell-words';
import { sizeBytes } from './duration';
import { Override, RESET } from './yaml-file';

/**
 * One compose file's services in the long forms the merge rules work on (after the shape check): short
 * port, volume, secret and network syntax written out, lists of KEY=value made mappings, shell strings
 * split, relative paths made absolute against `baseDir` (the project directory for the files given, the
 * file's own directory for an `extends: file:`). `!reset` and `!override` markers are kept for the merge.
 * Throws an Error whose message starts with the key path.
 */
export type Mapping = Record<string, unknown>;

export class PathError extends Error {}

/** Ports of one service, ranges expanded: a bound, so a short file cannot ask for millions of entries. */
const MAX_PORTS = 1000;

const fail = (path: string, message: string) => new PathError(`${path}: ${message}`);

function mapping(): Mapping {
  return Object.create(null) as Mapping;
}

/** Applies `fn` to a value unless it is `!reset`; inside `!override`, to what it overrides with. */
function marked(value: unknown, fn: (value: unknown) => unknown): unknown {
  if (value === RESET) return value;
  if (value instanceof Override) return new Override(fn(value.value));
  return fn(value);
}

/** A list of KEY=value (or bare KEY: null) or a mapping, as a mapping. */
export function dictOf(value: unknown, separator = '='): Mapping {
  if (!Array.isArray(value)) return value as Mapping;
  const out = mapping();
  for (const item of value as string[]) {
    const at = item.indexOf(separator);
    if (at < 0) out[item] = null;
    else out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

function listOf(value: unknown): string[] {
  return typeof value === 'string' ? [value] : (value as string[]);
}

export function hostPath(source: string, baseDir: string, home: string | undefined): string {
  if (source === '~' || source.startsWith('~/')) {
    if (!home) throw new Error(`${JSON.stringify(source)} starts with ~ but HOME is not set`);
    return resolve(home, source.slice(2));
  }
  return isAbsolute(source) ? resolve(source) : resolve(baseDir, source);
}

export interface NormalizeContext {
  baseDir: string;
  home: string | undefined;
}

export function normalizeService(name: string, raw: Mapping | null, ctx: NormalizeContext): Mapping {
  const out = mapping();
  const at = `services.${name}`;
  for (const [key, value] of Object.entries(raw ?? {})) {
    const path = `${at}.${key}`;
    out[key] = marked(value, (v) => normalizeKey(key, v, path, ctx));
  }
  return out;
}

function normalizeKey(key: string, value: unknown, path: string, ctx: NormalizeContext): unknown {
  switch (key) {
    case 'command':
    case 'entrypoint':
      if (value === null) return undefined;
      if (typeof value === 'string') {
        try {
          return shellWords(value);
        } catch (err) {
          throw fail(path, (err as Error).message);
        }
      }
      return value;
    case 'environment':
    case 'labels':
    case 'sysctls':
      return dictOf(value);
    case 'dns':
    case 'dns_search':
    case 'tmpfs':
      return listOf(value);
    case 'expose':
      return (value as Array<string | number>).map((item, index) => {
        const text = String(item);
        if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp))?$/.test(text)) throw fail(`${path}[${index}]`, `must be a port or a range (3306, 8000-8001/udp), not ${JSON.stringify(text)}`);
        return text;
      });
    case 'depends_on':
      return dependsOn(value);
    case 'networks':
      return networks(value);
    case 'extra_hosts':
      return extraHosts(value, path);
    case 'ulimits': {
      const out = mapping();
      for (const [limit, setting] of Object.entries(value as Mapping)) {
        out[limit] = typeof setting === 'number' ? { soft: setting, hard: setting } : setting;
      }
      return out;
    }
    case 'ports': {
      const all: Mapping[] = [];
      for (const [index, item] of (value as unknown[]).entries()) {
        all.push(...ports(item, `${path}[${index}]`));
        if (all.length > MAX_PORTS) throw fail(path, `has more than the ${MAX_PORTS} ports a service may publish`);
      }
      return all;
    }
    case 'volumes':
      return (value as unknown[]).map((item, index) => volume(item, `${path}[${index}]`, ctx));
    case 'secrets':
    case 'configs':
      return (value as unknown[]).map((item) => fileReference(item, key));
    case 'env_file':
      return listOf(value as string | string[]).map((item: unknown) => {
        const entry = typeof item === 'string' ? { path: item } : (item as { path?: string; required?: boolean; format?: string });
        if (entry.path === undefined) throw fail(path, 'an env_file entry needs a path');
        return { ...entry, path: hostPath(entry.path, ctx.baseDir, ctx.home), required: entry.required ?? true };
      });
    case 'build':
      return build(value, path, ctx);
    case 'healthcheck': {
      const check = { ...(value as Mapping) };
      if (typeof check.test === 'string') check.test = ['CMD-SHELL', check.test];
      return check;
    }
    case 'extends':
      return typeof value === 'string' ? { service: value } : value;
    case 'deploy': {
      if (value === null) return mapping();
      const deploy = { ...(value as Mapping) };
      if (deploy.labels !== undefined) deploy.labels = dictOf(deploy.labels);
      return deploy;
    }
    default:
      return value;
  }
}

function dependsOn(value: unknown): Mapping {
  const out = mapping();
  if (Array.isArray(value)) {
    for (const service of value as string[]) out[service] = { condition: 'service_started', required: true, restart: false };
    return out;
  }
  for (const [service, setting] of Object.entries(value as Mapping)) {
    const s = setting as { condition?: string; required?: boolean; restart?: boolean };
    out[service] = { condition: s.condition ?? 'service_started', required: s.required ?? true, restart: s.restart ?? false };
  }
  return out;
}

function networks(value: unknown): Mapping {
  const out = mapping();
  if (Array.isArray(value)) {
    for (const network of value as string[]) out[network] = mapping();
    return out;
  }
  for (const [network, setting] of Object.entries(value as Mapping)) out[network] = setting ?? mapping();
  return out;
}

function extraHosts(value: unknown, path: string): Array<{ host: string; ip: string }> {
  if (!Array.isArray(value)) {
    return Object.entries(value as Mapping).flatMap(([host, ips]) => listOf(ips as string | string[]).map((ip) => ({ host, ip })));
  }
  return (value as string[]).map((entry, index) => {
    // `host=ip`, or `host:ip` (the first colon: an IPv6 address has more).
    const at = entry.includes('=') ? entry.indexOf('=') : entry.indexOf(':');
    if (at <= 0) throw fail(`${path}[${index}]`, `must be HOST:IP or HOST=IP, not ${JSON.stringify(entry)}`);
    return { host: entry.slice(0, at), ip: entry.slice(at + 1).replace(/^\[(.*)\]$/, '$1') };
  });
}

function portNumber(text: string | number, what: string, path: string, min = 0): number {
  const n = typeof text === 'number' ? text : /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > 65535) throw fail(path, `${what} must be a port number (${min}-65535), not ${JSON.stringify(text)}`);
  return n;
}

function portRange(text: string, what: string, path: string, min: number): [number, number] {
  const [from, to = from] = text.split('-');
  const range: [number, number] = [portNumber(from, what, path, min), portNumber(to, what, path, min)];
  if (range[1] < range[0]) throw fail(path, `${what} range ${JSON.stringify(text)} ends before it starts`);
  return range;
}

/** One ports entry in its long form(s): a range of targets is one entry per port. */
function ports(item: unknown, path: string): Mapping[] {
  if (typeof item === 'number') return [{ target: portNumber(item, 'target', path, 1), protocol: 'tcp', mode: 'ingress' }];
  if (typeof item === 'string') return shortPort(item, path);
  const long = item as { target?: number | string; published?: number | string; protocol?: string; mode?: string; host_ip?: string; name?: string; app_protocol?: string };
  if (long.target === undefined) throw fail(path, 'target is required');
  const protocol = long.protocol ?? 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') throw fail(path, `protocol must be tcp or udp, not ${JSON.stringify(protocol)}`);
  const mode = long.mode ?? 'ingress';
  if (mode !== 'ingress' && mode !== 'host') throw fail(path, `mode must be ingress or host, not ${JSON.stringify(mode)}`);
  const entry: Mapping = { ...long, target: portNumber(long.target, 'target', path, 1), protocol, mode };
  if (long.published !== undefined && long.published !== '') entry.published = portNumber(long.published, 'published', path);
  else delete entry.published;
  return [entry];
}

function shortPort(text: string, path: string): Mapping[] {
  let rest = text;
  let protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (protocol !== 'tcp' && protocol !== 'udp') throw fail(path, `protocol must be tcp or udp, not ${JSON.stringify(protocol)}`);
  }
  let hostIp: string | undefined;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  let parts: string[];
  if (bracket) {
    hostIp = bracket[1];
    parts = bracket[2].split(':');
    if (parts.length !== 2) throw fail(path, `${JSON.stringify(text)} is not [IP]:PUBLISHED:TARGET`);
  } else {
    parts = rest.split(':');
    if (parts.length > 3) throw fail(path, `${JSON.stringify(text)} is not [IP:][PUBLISHED:]TARGET`);
    if (parts.length === 3) hostIp = parts.shift();
  }
  const targetText = parts.pop()!;
  const publishedText = parts.pop();
  const [targetFrom, targetTo] = portRange(targetText, 'target', path, 1);
  const count = targetTo - targetFrom + 1;
  let published: [number, number] | undefined;
  if (publishedText !== undefined && publishedText !== '') {
    published = portRange(publishedText, 'published', path, 0);
    if (published[1] - published[0] + 1 !== count) {
      throw fail(path, `published ${JSON.stringify(publishedText)} and target ${JSON.stringify(targetText)} must be ranges of the same length (berth publishes each port, it does not pick one of a range)`);
    }
  }
  if (count > MAX_PORTS) throw fail(path, `the range ${JSON.stringify(targetText)} has more than ${MAX_PORTS} ports`);
  const entries: Mapping[] = [];
  for (let i = 0; i < count; i++) {
    const entry: Mapping = { target: targetFrom + i, protocol, mode: 'ingress' };
    if (published) entry.published = published[0] + i;
    if (hostIp) entry.host_ip = hostIp;
    entries.push(entry);
  }
  return entries;
}

function volume(item: unknown, path: string, ctx: NormalizeContext): Mapping {
  if (typeof item !== 'string') {
    const long = { ...(item as Mapping) } as Mapping & { type?: string; source?: string; target?: string; tmpfs?: { size?: number | string; mode?: number | string } };
    if (long.type === undefined) throw fail(path, 'type is required (volume, bind or tmpfs)');
    if (!['volume', 'bind', 'tmpfs'].includes(long.type)) throw fail(`${path}.type`, `berth mounts volume, bind and tmpfs, not ${JSON.stringify(long.type)}`);
    if (long.target === undefined) throw fail(path, 'target is required');
    if (long.type === 'bind') {
      if (!long.source) throw fail(path, 'a bind mount needs a source');
      long.source = hostPath(long.source, ctx.baseDir, ctx.home);
    }
    if (long.tmpfs) {
      const tmpfs = { ...long.tmpfs };
      if (tmpfs.size !== undefined) {
        const size = sizeBytes(tmpfs.size);
        if (size === undefined) throw fail(`${path}.tmpfs.size`, `must be a size (64m, 1g, bytes), not ${JSON.stringify(tmpfs.size)}`);
        tmpfs.size = size;
      }
      if (typeof tmpfs.mode === 'string') {
        if (!/^0?[0-7]{1,4}$/.test(tmpfs.mode)) throw fail(`${path}.tmpfs.mode`, `must be an octal mode (1777), not ${JSON.stringify(tmpfs.mode)}`);
        tmpfs.mode = parseInt(tmpfs.mode, 8);
      }
      long.tmpfs = tmpfs;
    }
    return long;
  }
  const parts = item.split(':');
  if (parts.length > 3 || parts.some((part) => part === '')) throw fail(path, `${JSON.stringify(item)} is not [SOURCE:]TARGET[:MODE]`);
  if (parts.length === 1) return { type: 'volume', target: parts[0] };
  const [source, target, modeText = ''] = parts;
  const entry: Mapping = { type: 'volume', source, target };
  if (/^[./~]/.test(source)) {
    entry.type = 'bind';
    entry.source = hostPath(source, ctx.baseDir, ctx.home);
    entry.bind = { create_host_path: true };
  }
  for (const mode of modeText.split(',').filter((m) => m !== '')) {
    if (mode === 'ro') entry.read_only = true;
    else if (mode === 'rw') entry.read_only = false;
    else if (mode === 'nocopy' && entry.type === 'volume') entry.volume = { nocopy: true };
    else throw fail(path, `berth does not support the mount option ${JSON.stringify(mode)} (ro, rw${entry.type === 'volume' ? ', nocopy' : ''})`);
  }
  return entry;
}

function fileReference(item: unknown, kind: 'secrets' | 'configs'): Mapping {
  const entry: Mapping = typeof item === 'string' ? { source: item } : { ...(item as Mapping) };
  const source = entry.source as string;
  if (entry.target === undefined) entry.target = kind === 'secrets' ? `/run/secrets/${source}` : `/${source}`;
  else if (kind === 'secrets' && !(entry.target as string).startsWith('/')) entry.target = `/run/secrets/${entry.target as string}`;
  if (typeof entry.mode === 'string') entry.mode = parseInt(entry.mode, 8);
  return entry;
}

function build(value: unknown, path: string, ctx: NormalizeContext): Mapping {
  const spec: Mapping = typeof value === 'string' ? { context: value } : { ...(value as Mapping) };
  const context = (spec.context as string | undefined) ?? '.';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context) || /^git@/.test(context)) {
    throw fail(`${path}.context`, `berth builds from a directory on this host, not ${JSON.stringify(context)}`);
  }
  spec.context = hostPath(context, ctx.baseDir, ctx.home);
  if (spec.args !== undefined) spec.args = dictOf(spec.args);
  if (spec.labels !== undefined) spec.labels = dictOf(spec.labels);
  return spec;
}
