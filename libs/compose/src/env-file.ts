import { interpolate } from './interpolate';

/**
 * An env file (`.env`, `--env-file`, a service's `env_file`) as compose reads it: `KEY=value` lines, an
 * optional `export `, `#` comments (after a blank when unquoted), single quotes literal, double quotes with
 * `\n`, `\t`, `\\`, `\"` escapes; unquoted and double-quoted values interpolate `${VAR}` (the file's earlier
 * keys first, then `lookup`); quoted values may span lines. A bare `KEY` takes the value `lookup` has (and is
 * left out when it has none). `raw`: values are taken as written, no quotes, escapes or interpolation.
 * Throws an Error naming the line.
 */
export function parseEnvFile(text: string, lookup: (name: string) => string | undefined, raw = false): Record<string, string> {
  const values: Record<string, string> = Object.create(null);
  const find = (name: string) => (Object.hasOwn(values, name) ? values[name] : lookup(name));
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index].replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=|$)/.exec(line);
    if (!match) throw new Error(`line ${lineNumber}: ${JSON.stringify(truncate(line))} is not KEY=value`);
    const key = match[1];
    if (match[2] === '') {
      const inherited = lookup(key);
      if (inherited !== undefined) values[key] = inherited;
      continue;
    }
    let rest = line.slice(match[0].length).replace(/^[ \t]+/, '');
    if (raw) {
      values[key] = rest;
      continue;
    }
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // The value runs to the matching quote, over line ends.
      let body = rest.slice(1);
      let end = closingQuote(body, quote);
      while (end < 0 && index + 1 < lines.length) {
        body += `\n${lines[++index]}`;
        end = closingQuote(body, quote);
      }
      if (end < 0) throw new Error(`line ${lineNumber}: the value of ${key} has no closing ${quote}`);
      const after = body.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) throw new Error(`line ${lineNumber}: unexpected ${JSON.stringify(truncate(after))} after the quoted value of ${key}`);
      body = body.slice(0, end);
      values[key] = quote === "'" ? body : interpolateIn(unescape(body), find, lineNumber);
      continue;
    }
    rest = rest.replace(/\s+#.*$/, '').trim();
    values[key] = interpolateIn(rest, find, lineNumber);
  }
  return values;
}

function closingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}

function unescape(body: string): string {
  return body.replace(/\\([nrt"\\$])/g, (_all, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c as 'n'] ?? (c === '$' ? '$$' : c));
}

function interpolateIn(value: string, lookup: (name: string) => string | undefined, lineNumber: number): string {
  try {
    return interpolate(value, lookup);
  } catch (err) {
    throw new Error(`line ${lineNumber}: ${(err as Error).message}`);
  }
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
