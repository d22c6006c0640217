/**
 * Store keys as NATS KV keys. A key is a path (`/registry/apps/deployments/default/web`); each path
 * segment becomes one subject token, so a watch on a path prefix is a subject filter (`registry.apps.>`).
 * NATS gives `.`, `*`, `>` and whitespace meaning and KV keys allow only `[-/_=.A-Za-z0-9]`, so a
 * segment keeps letters, digits and `-` and writes every other byte of its UTF-8 form as `_HH`; an empty
 * segment (the one before a leading `/`) is a lone `_`, which no encoded segment can be.
 */
const PLAIN = /^[A-Za-z0-9-]$/;
const ESCAPE = '_';
const EMPTY_SEGMENT = '_';

export function encodeSegment(segment: string): string {
  if (segment === '') return EMPTY_SEGMENT;
  let out = '';
  for (const ch of segment) {
    if (PLAIN.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += ESCAPE + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function decodeSegment(token: string): string {
  if (token === EMPTY_SEGMENT) return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === ESCAPE) {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function encodeKey(key: string): string {
  return key.split('/').map(encodeSegment).join('.');
}

export function decodeKey(kvKey: string): string {
  return kvKey.split('.').map(decodeSegment).join('/');
}

/**
 * The narrowest KV key filter that matches every key starting with prefix: the prefix's complete
 * segments followed by `>`. A partial last segment (`/registry/po`) can't be a subject filter, so the
 * caller still checks startsWith on the decoded keys.
 */
export function prefixFilter(prefix: string): string {
  const complete = prefix.split('/').slice(0, -1);
  return [...complete.map(encodeSegment), '>'].join('.');
}
