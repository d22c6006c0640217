import { parseError, parseHeredocWord, type Node } from './syntax';
import { parseDuration } from './values';
import { parseMount } from './mounts';
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  Directives,
  HealthConfig,
  Instruction,
  KeyValue,
  Warning,
} from './types';

/**
 * Turns logical lines into typed instructions, with BuildKit's argument rules and error wording
 * (`RUN requires at least one argument`, `unknown flag: foo`, ...). Words stay unexpanded.
 */

type FlagKind = 'string' | 'bool' | 'strings';
type FlagSpec = Record<string, FlagKind>;
type FlagValues = Map<string, string | boolean | string[]>;

const FLAGS: Record<string, FlagSpec> = {
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  add: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', exclude: 'strings' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

const INSTRUCTIONS = new Set([
  'from', 'run', 'cmd', 'entrypoint', 'copy', 'add', 'env', 'arg', 'label', 'workdir', 'user', 'expose',
  'volume', 'healthcheck', 'stopsignal', 'onbuild', 'shell', 'maintainer',
]);

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/i;

/** Leading `--flag[=value]` words (quotes and backslashes processed), and the rest of the line. */
function extractFlags(text: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
    if (!text.startsWith('--', pos)) return { flags, rest: text.slice(pos) };
    let word = '';
    let quote = '';
    let blankOk = false;
    let i = pos;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (quote) {
        if (ch === quote) quote = '';
        else if (ch === '\\' && i + 1 < text.length) word += text[++i];
        else if (ch !== '\\') word += ch;
        continue;
      }
      if (/\s/.test(ch)) break;
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
      } else if (ch === '\\') {
        if (i + 1 < text.length) word += text[++i];
      } else word += ch;
    }
    pos = i;
    if (word === '--') return { flags, rest: text.slice(pos).trimStart() };
    if (word || blankOk) flags.push(word);
  }
}

function parseFlags(words: string[], spec: FlagSpec, line: number): FlagValues {
  const values: FlagValues = new Map();
  for (const word of words) {
    if (!word.startsWith('--')) throw parseError(line, `Arg "${word}" is not a flag`);
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (!kind) throw parseError(line, `unknown flag: ${name}`);
    if (kind === 'strings') {
      if (value === undefined) throw parseError(line, `Missing a value on flag: ${name}`);
      const list = (values.get(name) as string[] | undefined) ?? [];
      list.push(value);
      values.set(name, list);
      continue;
    }
    if (values.has(name)) throw parseError(line, `Duplicate flag specified: ${name}`);
    if (kind === 'bool') {
      if (value === undefined || value.toLowerCase() === 'true') values.set(name, true);
      else if (value.toLowerCase() === 'false') values.set(name, false);
      else throw parseError(line, `expecting boolean value for flag ${name}, not: ${value}`);
    } else {
      if (value === undefined) throw parseError(line, `Missing a value on flag: ${name}`);
      values.set(name, value);
    }
  }
  return values;
}

const isSpace = (ch: string) => {
  const c = ch.charCodeAt(0);
  return c < 128 ? c === 32 || (c >= 9 && c <= 13) : /\s/u.test(ch);
};
/** Characters splitWords stops at: whitespace, quotes (34, 39) and the escape. */
const isPlain = (c: number, escape: number) => c > 39 ? c !== escape && (c < 128 || !/\s/u.test(String.fromCharCode(c))) : c !== 34 && c !== 39 && c !== 32 && (c < 9 || c > 13) && c !== escape;

/**
 * Whitespace-separated words, quotes and escapes kept (they are removed by expansion), as ENV/LABEL/ARG take
 * them: whitespace inside quotes or after the escape character does not split. Each word is a slice of the
 * text (only an escape character ending the text is dropped), so a huge line costs no per-character strings.
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isSpace(text[i])) i++;
    if (i >= n) break;
    const start = i;
    let quote = '';
    let end = -1;
    const esc = escape.charCodeAt(0);
    for (; i < n; i++) {
      if (!quote && isPlain(text.charCodeAt(i), esc)) continue;
      const ch = text[i];
      if (quote) {
        if (ch === quote) quote = '';
        else if (ch === escape && quote !== "'") {
          if (i + 1 === n) {
            end = i;
            break;
          }
          i++;
        }
        continue;
      }
      if (isSpace(ch)) break;
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === escape) {
        if (i + 1 === n) {
          end = i;
          break;
        }
        i++;
      }
    }
    const word = text.slice(start, end < 0 ? i : end);
    if (end >= 0) i = n;
    if (word) words.push(word);
  }
  return words;
}

/** The JSON (exec) form when the text is a JSON array of strings, else undefined. */
export function parseJsonArray(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return undefined;
  return value as string[];
}

function commandForm(text: string): CommandForm {
  const args = parseJsonArray(text);
  return args ? { form: 'exec', args } : { form: 'shell', command: text };
}

/** JSON list or whitespace-separated words (COPY/ADD/VOLUME). */
function listForm(text: string): string[] {
  return parseJsonArray(text) ?? text.split(/\s+/).filter(Boolean);
}

function nameValues(keyword: string, rest: string, escape: string, line: number, warnings: Warning[]): KeyValue[] {
  const upper = keyword.toUpperCase();
  const words = splitWords(rest, escape);
  if (!words.length) throw parseError(line, `${upper} requires at least one argument`);
  if (!words[0].includes('=')) {
    // Legacy `ENV key value`: the value is the rest of the line.
    const parts = /^(\S+)\s+([\s\S]+)$/.exec(rest.trim());
    if (!parts) throw parseError(line, `${upper} must have two arguments`);
    warnings.push({ line, message: `"${upper} key=value" should be used instead of legacy "${upper} key value" format` });
    return [{ key: parts[1], value: parts[2] }];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) throw parseError(line, `Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    const key = word.slice(0, eq);
    if (!key) throw parseError(line, `${upper} names can not be blank`);
    return { key, value: word.slice(eq + 1) };
  });
}

function argValues(rest: string, escape: string, line: number): ArgInstruction['args'] {
  const words = splitWords(rest, escape);
  if (!words.length) throw parseError(line, 'ARG requires at least one argument');
  return words.map((word) => {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    if (!key) throw parseError(line, 'ARG names can not be blank');
    return eq < 0 ? { key } : { key, value: word.slice(eq + 1) };
  });
}

function healthcheck(rest: string, flags: FlagValues, line: number): HealthConfig {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(rest.trim());
  if (!match) throw parseError(line, 'HEALTHCHECK requires at least one argument');
  const type = match[1].toUpperCase();
  if (type === 'NONE') {
    if (match[2] || flags.size) throw parseError(line, 'HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (type !== 'CMD') throw parseError(line, `Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const command = commandForm(match[2]);
  if (command.form === 'shell' && !command.command.trim()) throw parseError(line, 'Missing command after HEALTHCHECK CMD');
  const health: HealthConfig = { Test: command.form === 'exec' ? ['CMD', ...command.args] : ['CMD-SHELL', command.command] };
  const duration = (name: string, key: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval') => {
    const text = flags.get(name) as string | undefined;
    if (text === undefined) return;
    let ns: number;
    try {
      ns = parseDuration(text);
    } catch (err) {
      throw parseError(line, (err as Error).message);
    }
    if (ns < 0) throw parseError(line, `Interval "${name}" cannot be negative`);
    if (ns !== 0 && ns < 1_000_000) throw parseError(line, `Interval "${name}" cannot be less than 1ms`);
    if (ns) health[key] = ns;
  };
  duration('interval', 'Interval');
  duration('timeout', 'Timeout');
  duration('start-period', 'StartPeriod');
  duration('start-interval', 'StartInterval');
  const retries = flags.get('retries') as string | undefined;
  if (retries !== undefined) {
    if (!/^-?\d+$/.test(retries)) throw parseError(line, `strconv.ParseInt: parsing "${retries}": invalid syntax`);
    const n = Number(retries);
    if (n < 0) throw parseError(line, `--retries cannot be negative (${n})`);
    if (n > 0x7fffffff) throw parseError(line, `--retries value out of range (${retries})`);
    if (n) health.Retries = n;
  }
  return health;
}

/** One instruction from one logical line. `onbuild`: parsing an ONBUILD trigger (no FROM/ONBUILD/MAINTAINER). */
export function toInstruction(node: Node, directives: Directives, warnings: Warning[], onbuild = false): Instruction {
  const { line, endLine, original, heredocs } = node;
  const base = { line, endLine, original };
  const keyword = node.keyword.toLowerCase();
  if (!INSTRUCTIONS.has(keyword)) throw parseError(line, `unknown instruction: ${node.keyword}`);
  if (onbuild) {
    if (keyword === 'onbuild') throw parseError(line, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    if (keyword === 'from' || keyword === 'maintainer') throw parseError(line, `${keyword.toUpperCase()} isn't allowed as an ONBUILD trigger`);
  }
  const upper = keyword.toUpperCase();
  const { flags: flagWords, rest } = extractFlags(node.rest);
  const flags = parseFlags(flagWords, FLAGS[keyword] ?? {}, line);
  const escape = directives.escape;
  const str = (name: string) => flags.get(name) as string | undefined;
  const bool = (name: string) => flags.get(name) === true;
  const strs = (name: string) => (flags.get(name) as string[] | undefined) ?? [];
  const exactlyOne = () => {
    if (!rest.trim()) throw parseError(line, `${upper} requires exactly one argument`);
    return rest.trim();
  };

  switch (keyword) {
    case 'from': {
      const words = rest.split(/\s+/).filter(Boolean);
      if (!(words.length === 1 || (words.length === 3 && words[1].toLowerCase() === 'as'))) {
        throw parseError(line, 'FROM requires either one or three arguments');
      }
      let name: string | undefined;
      if (words.length === 3) {
        if (!STAGE_NAME.test(words[2])) {
          throw parseError(line, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
        }
        name = words[2].toLowerCase();
      }
      return { kind: 'FROM', ...base, image: words[0], platform: str('platform'), name };
    }
    case 'run': {
      if (!rest.trim()) throw parseError(line, 'RUN requires at least one argument');
      const command = commandForm(rest);
      if (command.form === 'exec' && !command.args.length) throw parseError(line, 'RUN requires at least one argument');
      const network = str('network') ?? 'default';
      if (network === 'host') throw parseError(line, 'RUN --network=host is not supported by berth\'s builder (RUN steps run in their own network namespace)');
      if (network !== 'default' && network !== 'none') throw parseError(line, `unsupported network mode: ${network}`);
      const security = str('security');
      if (security !== undefined && security !== 'sandbox') {
        throw parseError(line, security === 'insecure' ? 'RUN --security=insecure is not supported by berth\'s builder' : `unsupported security mode: ${security}`);
      }
      const mounts = strs('mount').map((spec) => {
        try {
          return { spec, mount: parseMount(spec) };
        } catch (err) {
          throw parseError(line, (err as Error).message);
        }
      });
      return { kind: 'RUN', ...base, command, mounts, network, heredocs: command.form === 'shell' ? heredocs : [] };
    }
    case 'cmd':
    case 'entrypoint': {
      const command = commandForm(rest);
      if (command.form === 'shell' && !command.command.trim()) throw parseError(line, `${upper} requires at least one argument`);
      return { kind: upper as 'CMD' | 'ENTRYPOINT', ...base, command };
    }
    case 'copy':
    case 'add': {
      const json = parseJsonArray(rest);
      const args = json ?? listForm(rest);
      if (args.length < 2) {
        throw parseError(line, `${upper} requires at least two arguments, but only one was provided. Destination could not be determined.`);
      }
      const sources: string[] = [];
      const files: CopyInstruction['files'] = [];
      const docs = json ? [] : [...heredocs];
      for (const src of args.slice(0, -1)) {
        const word = parseHeredocWord(src);
        if (word && docs.length && docs[0].name === word.name) {
          files.push(docs.shift()!);
        } else sources.push(src);
      }
      const inst: CopyInstruction = {
        kind: upper as 'COPY' | 'ADD',
        ...base,
        sources,
        files,
        dest: args[args.length - 1],
        chown: str('chown'),
        chmod: str('chmod'),
        link: bool('link'),
        parents: bool('parents'),
        excludes: strs('exclude'),
        keepGitDir: bool('keep-git-dir'),
      };
      if (keyword === 'copy' && str('from') !== undefined) inst.from = str('from');
      if (str('checksum') !== undefined) inst.checksum = str('checksum');
      return inst;
    }
    case 'env':
    case 'label':
      return { kind: upper as 'ENV' | 'LABEL', ...base, pairs: nameValues(keyword, rest, escape, line, warnings) };
    case 'arg':
      return { kind: 'ARG', ...base, args: argValues(rest, escape, line) };
    case 'workdir':
    case 'user':
    case 'stopsignal':
    case 'maintainer':
      if (keyword === 'maintainer') warnings.push({ line, message: 'MAINTAINER instruction is deprecated in favor of using label' });
      return { kind: upper as 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER', ...base, value: exactlyOne() };
    case 'expose': {
      const values = rest.split(/\s+/).filter(Boolean);
      if (!values.length) throw parseError(line, 'EXPOSE requires at least one argument');
      return { kind: 'EXPOSE', ...base, values };
    }
    case 'volume': {
      const values = listForm(rest);
      if (!values.length) throw parseError(line, 'VOLUME requires at least one argument');
      for (const v of values) if (!v.trim()) throw parseError(line, 'VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...base, values };
    }
    case 'healthcheck':
      return { kind: 'HEALTHCHECK', ...base, health: healthcheck(rest, flags, line) };
    case 'shell': {
      const shell = parseJsonArray(rest);
      if (!shell) throw parseError(line, 'SHELL requires the arguments to be in JSON form');
      if (!shell.length) throw parseError(line, 'SHELL requires at least one argument');
      return { kind: 'SHELL', ...base, shell };
    }
    case 'onbuild': {
      const expression = rest.trim();
      if (!expression) throw parseError(line, 'ONBUILD requires at least one argument');
      const split = /^(\S+)\s*([\s\S]*)$/.exec(expression)!;
      const trigger = toInstruction(
        { keyword: split[1], rest: split[2], line, endLine, original: expression, heredocs },
        directives,
        warnings,
        true,
      );
      return { kind: 'ONBUILD', ...base, expression, trigger };
    }
  }
  throw parseError(line, `unknown instruction: ${node.keyword}`);
}
