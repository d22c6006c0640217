import type { RunMount } from './types';

/**
 * `RUN --mount=type=cache,target=/root/.cache,sharing=locked`: BuildKit's run mounts, CSV fields of key=value.
 * berth's builder does bind (from the context or a stage/image), cache and tmpfs; secret and ssh mounts need
 * a client-side session berth does not have, so they are refused with a clear message rather than ignored.
 */

function csvFields(spec: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i];
    if (quoted) {
      if (ch === '"' && spec[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw new Error(`invalid mount spec ${JSON.stringify(spec)}: unterminated quote`);
  fields.push(field);
  return fields;
}

function boolValue(key: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false'].includes(v)) return false;
  throw new Error(`invalid value for ${key}: ${value}`);
}

function intValue(key: string, value: string | undefined, radix: 8 | 10): number {
  const pattern = radix === 8 ? /^0?[0-7]{1,4}$/ : /^\d{1,10}$/;
  if (value === undefined || !pattern.test(value)) throw new Error(`invalid value for ${key}: ${value ?? ''}`);
  const n = parseInt(value, radix);
  if (n > 0xffffffff) throw new Error(`invalid value for ${key}: ${value}`);
  return n;
}

/** A size for tmpfs (`size=64m`, bytes with an optional k/m/g suffix, powers of 1024). */
function sizeValue(value: string | undefined): number {
  const m = /^(\d{1,15})([kmg]?)i?b?$/i.exec(value ?? '');
  if (!m) throw new Error(`invalid value for size: ${value ?? ''}`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * scale;
}

export function parseMount(spec: string): RunMount {
  if (spec.length > 4096) throw new Error('invalid mount spec: longer than 4096 characters');
  const options = new Map<string, string | undefined>();
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (!key) continue;
    if (options.has(key)) throw new Error(`duplicate mount option: ${key}`);
    options.set(key, value);
  }
  const type = (options.get('type') ?? 'bind').toLowerCase();
  if (type === 'secret' || type === 'ssh') {
    throw new Error(`RUN --mount=type=${type} is not supported by berth's builder (it has no client session to forward ${type === 'ssh' ? 'an SSH agent' : 'secrets'})`);
  }
  if (type !== 'bind' && type !== 'cache' && type !== 'tmpfs') throw new Error(`unsupported mount type "${type}"`);
  const allowed: Record<string, readonly string[]> = {
    bind: ['type', 'target', 'dst', 'destination', 'source', 'src', 'from', 'readonly', 'ro', 'rw', 'readwrite'],
    cache: ['type', 'target', 'dst', 'destination', 'source', 'src', 'from', 'readonly', 'ro', 'rw', 'readwrite', 'id', 'sharing', 'mode', 'uid', 'gid'],
    tmpfs: ['type', 'target', 'dst', 'destination', 'size'],
  };
  for (const key of options.keys()) {
    if (!allowed[type].includes(key)) throw new Error(`unexpected key '${key}' in '${spec}'`);
  }
  const pick = (...keys: string[]) => {
    const present = keys.filter((k) => options.has(k));
    if (present.length > 1) throw new Error(`mount options ${present.join(' and ')} are the same option`);
    return present.length ? options.get(present[0]) : undefined;
  };
  const target = pick('target', 'dst', 'destination');
  if (!target) throw new Error('mount target is required: --mount=type=' + type + ',target=PATH');
  if (type === 'tmpfs') {
    const size = options.has('size') ? sizeValue(options.get('size')) : undefined;
    return size === undefined ? { type, target } : { type, target, size };
  }
  const source = pick('source', 'src');
  const from = options.get('from');
  let readonly = type === 'bind';
  if (options.has('readonly') || options.has('ro')) readonly = boolValue('readonly', pick('readonly', 'ro'));
  if (options.has('rw') || options.has('readwrite')) readonly = !boolValue('rw', pick('rw', 'readwrite'));
  if (type === 'bind') {
    return { type, target, ...(source !== undefined && { source }), ...(from !== undefined && { from }), readonly };
  }
  const sharing = (options.get('sharing') ?? 'shared').toLowerCase();
  if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw new Error(`unrecognized sharing mode ${JSON.stringify(sharing)}`);
  const cache: RunMount = { type: 'cache', target, readonly, sharing };
  if (options.get('id') !== undefined) cache.id = options.get('id');
  if (source !== undefined) cache.source = source;
  if (from !== undefined) cache.from = from;
  if (options.has('mode')) cache.mode = intValue('mode', options.get('mode'), 8);
  if (options.has('uid')) cache.uid = intValue('uid', options.get('uid'), 10);
  if (options.has('gid')) cache.gid = intValue('gid', options.get('gid'), 10);
  return cache;
}
