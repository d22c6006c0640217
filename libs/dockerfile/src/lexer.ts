import { errors } from '@berth/errors';
import { globMatchLengths, type GlobBudget, type GlobToken } from './glob';

/**
 * The Dockerfile's word expansion (the reference's "Environment replacement"), as BuildKit's shell lexer does
 * it: `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`, `${v:?msg}`, `${v?msg}`, `${v#p}`, `${v##p}`,
 * `${v%p}`, `${v%%p}`, `${v/p/r}`, `${v//p/r}`; single quotes literal, double quotes expand, the escape
 * character escapes (`\$` is a literal `$`). Unset variables expand to "".
 *
 * Written for hostile input: no recursion on input nesting beyond MAX_DEPTH, results bounded by MAX_RESULT,
 * and the `#`/`%`/`/` patterns are matched by glob.ts's NFA (not a backtracking RegExp), so time stays
 * polynomial and bounded by MAX_PATTERN_WORK.
 */

export type Lookup = (name: string) => string | undefined;

export interface LexOptions {
  /** The escape character (the `# escape=` directive); default backslash. */
  escape?: string;
  /** Keep quote characters in the result (used to find heredoc words and split flags). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written (`$x`, `${x:-y}`). */
  skipUnset?: boolean;
  /**
   * A heredoc body (COPY <<EOF): quotes are ordinary characters and the escape character escapes only `$`,
   * itself, a backquote and a newline, as in a shell here-document.
   */
  heredoc?: boolean;
}

export const MAX_DEPTH = 64;
export const MAX_RESULT = 1 << 20;
const MAX_PATTERN_WORK = 1_000_000;

class LexError extends Error {}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
// ASCII fast paths: these run once per character of every word.
const isSpace = (ch: string) => {
  const c = ch.charCodeAt(0);
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return /\s/u.test(ch);
};
const isNameChar = (ch: string) => {
  const c = ch.charCodeAt(0);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  return /[\p{L}\p{Nd}]/u.test(ch);
};
const isDigit = (ch: string) => {
  const c = ch.charCodeAt(0);
  if (c < 128) return c >= 48 && c <= 57;
  return /\p{Nd}/u.test(ch);
};

class Words {
  words: string[] = [];
  word = '';
  inWord = false;
  /** Word splitting is only tracked when asked for (expandWords): it costs a string per character. */
  constructor(private readonly enabled: boolean) {}
  addChar(ch: string): void {
    if (!this.enabled) return;
    if (isSpace(ch)) {
      if (this.inWord && this.word.length) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else this.addRaw(ch);
  }
  addString(s: string): void {
    if (!this.enabled) return;
    for (const ch of s) this.addChar(ch);
  }
  addRaw(s: string): void {
    if (!this.enabled) return;
    this.word += s;
    this.inWord = true;
  }
  done(): string[] {
    if (this.word.length) this.words.push(this.word);
    this.word = '';
    return this.words;
  }
}

class Scanner {
  private pos = 0;
  /** The text itself when it has no surrogate pairs (indexing a string is cheaper than an array of chars). */
  private readonly chars: string | string[];
  depth = 0;
  used = new Set<string>();
  constructor(
    text: string,
    private readonly lookup: Lookup,
    private readonly opts: Required<LexOptions>,
    private readonly wantWords: boolean,
  ) {
    this.chars = /[\uD800-\uDFFF]/.test(text) ? Array.from(text) : text;
  }

  peek(): string | undefined {
    return this.chars[this.pos];
  }
  next(): string | undefined {
    return this.chars[this.pos++];
  }

  /** Consumes and returns the longest run of characters that are none of `a`, `b` and the escape character. */
  private run(a: string, b: string): string {
    const start = this.pos;
    const chars = this.chars;
    const escape = this.opts.escape;
    let i = start;
    for (; i < chars.length; i++) {
      const ch = chars[i];
      if (ch === a || ch === b || ch === escape) break;
    }
    this.pos = i;
    return typeof chars === 'string' ? chars.slice(start, i) : chars.slice(start, i).join('');
  }

  get(name: string): string | undefined {
    this.used.add(name);
    return this.lookup(name);
  }

  /** Reads up to `stop` (consumed) or the end; returns the text and its words. */
  processStopOn(stop: string | undefined, rawEscapes: boolean): { text: string; words: string[] } {
    if (++this.depth > MAX_DEPTH) throw new LexError('variable substitutions are nested too deeply');
    let out = '';
    const words = new Words(this.wantWords);
    const append = (s: string) => {
      out += s;
      if (out.length > MAX_RESULT) throw new LexError(`the expanded word is longer than ${MAX_RESULT} characters`);
    };
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) break;
      if (stop !== undefined && ch === stop) {
        this.next();
        this.depth--;
        return { text: out, words: words.done() };
      }
      if (ch === '$') {
        const value = this.dollar();
        append(value);
        words.addString(value);
      } else if (this.opts.heredoc) {
        let c = this.next()!;
        if (c === this.opts.escape) {
          const after = this.peek();
          if (after === '$' || after === '`' || after === this.opts.escape) c = this.next()!;
          else if (after === '\n') {
            this.next();
            continue;
          }
        }
        append(c);
      } else if (ch === "'") {
        const value = this.singleQuote();
        append(value);
        words.addRaw(value);
      } else if (ch === '"') {
        const value = this.doubleQuote();
        append(value);
        words.addRaw(value);
      } else {
        let c = this.next()!;
        if (c === this.opts.escape) {
          if (rawEscapes) {
            words.addRaw(c);
            append(c);
          }
          const escaped = this.next();
          if (escaped === undefined) break;
          c = escaped;
          words.addRaw(c);
        } else words.addChar(c);
        append(c);
      }
    }
    if (stop !== undefined) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
    this.depth--;
    return { text: out, words: words.done() };
  }

  private singleQuote(): string {
    let out = this.next()!;
    if (!this.opts.rawQuotes) out = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.opts.rawQuotes ? out + ch : out;
      out += ch;
    }
  }

  private doubleQuote(): string {
    let out = this.next()!;
    if (!this.opts.rawQuotes) out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return this.opts.rawQuotes ? out + ch : out;
      }
      if (ch === '$') {
        out += this.dollar();
      } else if (ch !== this.opts.escape) {
        out += this.run('"', '$');
      } else {
        let c = this.next()!;
        if (c === this.opts.escape) {
          if (this.opts.rawEscapes) out += c;
          const after = this.peek();
          if (after === undefined) continue;
          if (after === '"' || after === '$' || after === this.opts.escape) c = this.next()!;
        }
        out += c;
      }
      if (out.length > MAX_RESULT) throw new LexError(`the expanded word is longer than ${MAX_RESULT} characters`);
    }
  }

  private name(): string {
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) break;
      if (!name && isDigit(ch)) {
        while (this.peek() !== undefined && isDigit(this.peek()!)) name += this.next();
        return name;
      }
      if (!name && SPECIAL_PARAMS.has(ch)) return this.next()!;
      if (!isNameChar(ch)) break;
      name += this.next();
    }
    return name;
  }

  private dollar(): string {
    this.next(); // $
    if (this.peek() !== '{') {
      const name = this.name();
      if (!name) return '$';
      const value = this.get(name);
      if (value === undefined && this.opts.skipUnset) return '$' + name;
      return value ?? '';
    }
    this.next(); // {
    const first = this.peek();
    if (first === undefined) throw new LexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexError('syntax error: bad substitution');
    const name = this.name();
    let op = this.next();
    if (op === undefined) throw new LexError("syntax error: missing '}'");
    if (op === '}') {
      const value = this.get(name);
      if (value === undefined && this.opts.skipUnset) return '${' + name + '}';
      return value ?? '';
    }
    let spelled = op;
    let nullIsUnset = false;
    if (op === ':') {
      nullIsUnset = true;
      op = this.next();
      if (op === undefined) throw new LexError("syntax error: missing '}'");
      spelled += op;
    }
    if (op === '/' && !nullIsUnset) return this.replace(name);
    if (!['+', '-', '?', '#', '%'].includes(op)) throw new LexError(`unsupported modifier (${spelled}) in substitution`);
    let word: string;
    try {
      word = this.processStopOn('}', op === '#' || op === '%').text;
    } catch (err) {
      if (this.peek() === undefined && err instanceof LexError && err.message.startsWith('unexpected end')) {
        throw new LexError("syntax error: missing '}'");
      }
      throw err;
    }
    const value = this.get(name);
    if (value === undefined && this.opts.skipUnset) return '${' + name + spelled + word + '}';
    const empty = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return empty ? word : value!;
      case '+':
        return empty ? '' : word;
      case '?':
        if (value === undefined) throw new LexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (empty) throw new LexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        if (nullIsUnset) throw new LexError(`unsupported modifier (${spelled}) in substitution`);
        const greedy = word.startsWith(op);
        const pattern = compilePattern(greedy ? word.slice(1) : word);
        const subject = value ?? '';
        return op === '#' ? trimPrefix(pattern, subject, greedy) : trimSuffix(pattern, subject, greedy);
      }
    }
  }

  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const part = (stop: string, missing: string) => {
      try {
        return this.processStopOn(stop, true).text;
      } catch (err) {
        if (this.peek() === undefined && err instanceof LexError && err.message.startsWith('unexpected end')) throw new LexError(missing);
        throw err;
      }
    };
    const patternText = part('/', "syntax error: missing '/' in ${}");
    const replacement = part('}', "syntax error: missing '}'");
    const value = this.get(name);
    if (value === undefined && this.opts.skipUnset) return '${' + name + (all ? '//' : '/') + patternText + '/' + replacement + '}';
    const pattern = compilePattern(patternText);
    return replaceMatches(pattern, value ?? '', replacement, all);
  }
}

// ---- glob patterns for # % / (`*` any string, `?` any char, `\` escapes * ? \), matched by glob.ts ----

function compilePattern(text: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      if (tokens[tokens.length - 1]?.t !== 'star') tokens.push({ t: 'star', slash: true });
    } else if (ch === '?') tokens.push({ t: 'one', slash: true });
    else if (ch === '\\') {
      const after = chars[i + 1];
      if (after === '}' || after === '/') continue;
      if (after !== '*' && after !== '?' && after !== '\\') {
        throw new LexError(`invalid pattern (${text}) in substitution: invalid escape '\\${after ?? ''}'`);
      }
      tokens.push({ t: 'lit', c: after });
      i++;
    } else tokens.push({ t: 'lit', c: ch });
  }
  return tokens;
}

const patternBudget = (): GlobBudget => ({
  work: 0,
  limit: MAX_PATTERN_WORK,
  onLimit: () => {
    throw new LexError('the pattern substitution is too costly');
  },
});

function trimPrefix(pattern: GlobToken[], value: string, greedy: boolean): string {
  const chars = Array.from(value);
  const lengths = globMatchLengths(pattern, chars, 0, patternBudget());
  if (!lengths.length) return value;
  return chars.slice(greedy ? lengths[lengths.length - 1] : lengths[0]).join('');
}

function trimSuffix(pattern: GlobToken[], value: string, greedy: boolean): string {
  const reversed = Array.from(value).reverse();
  const lengths = globMatchLengths([...pattern].reverse(), reversed, 0, patternBudget());
  if (!lengths.length) return value;
  return reversed
    .slice(greedy ? lengths[lengths.length - 1] : lengths[0])
    .reverse()
    .join('');
}

/** `${v/p/r}` replaces the first leftmost-longest match, `${v//p/r}` every non-overlapping one. */
function replaceMatches(pattern: GlobToken[], value: string, replacement: string, all: boolean): string {
  const chars = Array.from(value);
  const budget = patternBudget();
  let out = '';
  let i = 0;
  let replaced = false;
  while (i <= chars.length) {
    if (!replaced || all) {
      const lengths = globMatchLengths(pattern, chars, i, budget);
      if (lengths.length) {
        const n = lengths[lengths.length - 1];
        out += replacement;
        replaced = true;
        if (out.length > MAX_RESULT) throw new LexError(`the expanded word is longer than ${MAX_RESULT} characters`);
        if (n > 0) {
          i += n;
          continue;
        }
      }
    }
    if (i < chars.length) out += chars[i];
    i++;
  }
  return out;
}

/** A word for an error message: hostile words can be megabytes long. */
export function shorten(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function lex(text: string, lookup: Lookup, options: LexOptions, wantWords = false) {
  const opts: Required<LexOptions> = {
    escape: options.escape ?? '\\',
    rawQuotes: options.rawQuotes ?? false,
    rawEscapes: options.rawEscapes ?? false,
    skipUnset: options.skipUnset ?? false,
    heredoc: options.heredoc ?? false,
  };
  const scanner = new Scanner(text, lookup, opts, wantWords);
  try {
    const result = scanner.processStopOn(undefined, opts.rawEscapes);
    return { ...result, used: scanner.used };
  } catch (err) {
    if (err instanceof LexError) throw errors.badRequest(`failed to process ${JSON.stringify(shorten(text))}: ${shorten(err.message)}`);
    throw err;
  }
}

/** Expands one word (whitespace kept), as COPY/ENV/WORKDIR/... arguments are. */
export function expandWord(text: string, lookup: Lookup, options: LexOptions = {}): string {
  return lex(text, lookup, options).text;
}

/** Expands and splits on unquoted whitespace (EXPOSE's `$PORTS`, heredoc detection). */
export function expandWords(text: string, lookup: Lookup, options: LexOptions = {}): string[] {
  return lex(text, lookup, options, true).words;
}

/** Expands a word and reports which variable names it referred to (for cache keys and unused-arg checks). */
export function expandWordWithMatches(text: string, lookup: Lookup, options: LexOptions = {}): { result: string; used: Set<string> } {
  const r = lex(text, lookup, options);
  return { result: r.text, used: r.used };
}

/** A Lookup over a Map (never over a plain object: `constructor` must not resolve). */
export function mapLookup(map: ReadonlyMap<string, string>): Lookup {
  return (name) => map.get(name);
}
