import { errors } from '@berth/errors';
import { globMatches, type GlobToken } from './glob';
import { shorten } from './lexer';

const ANYTHING: GlobToken = { t: 'star', slash: true };

/**
 * `.dockerignore` with moby's semantics (ignorefile.ReadAll + patternmatcher): patterns cleaned as Go's
 * filepath.Clean does, a leading `/` dropped, `#` comment lines, `!` exceptions where the last matching
 * pattern wins, `*` and `?` within a path segment, `**` across segments, and a pattern that matches a parent
 * directory matching everything inside it.
 *
 * Patterns are matched by glob.ts's NFA rather than a RegExp: a hostile pattern (`*a*a*a*a*b`, `**\/**\/**`)
 * cannot make matching exponential. Bounds: MAX_PATTERNS patterns of MAX_PATTERN_LENGTH characters.
 */

export const MAX_PATTERNS = 10_000;
export const MAX_PATTERN_LENGTH = 4096;

/** Go's path.Clean: the shortest lexically equivalent slash path ("" → "."). */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(seg);
  }
  const joined = out.join('/');
  return rooted ? '/' + joined : joined || '.';
}

/** The patterns of a .dockerignore file, as moby's ReadAll returns them (`!` kept in front of exceptions). */
export function readDockerignore(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const patterns: string[] = [];
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    let pattern = raw.trim();
    if (!pattern) continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? '!' + pattern : pattern);
    if (patterns.length > MAX_PATTERNS) throw errors.badRequest(`.dockerignore has more than ${MAX_PATTERNS} patterns`);
  }
  return patterns;
}

function tokenize(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        while (chars[i + 1] === '*') i++;
        if (chars[i + 1] === '/') i++;
        const last = tokens[tokens.length - 1];
        if (i + 1 >= chars.length) tokens.push({ t: 'star', slash: true });
        else if (!last || last.t !== 'dirs') tokens.push({ t: 'dirs' });
      } else tokens.push({ t: 'star', slash: false });
    } else if (ch === '?') tokens.push({ t: 'one', slash: false });
    else if (ch === '\\') {
      if (i + 1 < chars.length) tokens.push({ t: 'lit', c: chars[++i] });
      else tokens.push({ t: 'lit', c: '\\' });
    } else if (ch === '[') {
      let j = i + 1;
      const negate = chars[j] === '^';
      if (negate) j++;
      const ranges: [string, string][] = [];
      let closed = false;
      for (let first = true; j < chars.length; first = false) {
        if (chars[j] === ']' && !first) {
          closed = true;
          break;
        }
        let lo = chars[j++];
        if (lo === '\\') lo = chars[j++];
        let hi = lo;
        if (chars[j] === '-' && chars[j + 1] !== undefined && chars[j + 1] !== ']') {
          hi = chars[j + 1] === '\\' ? chars[j + 2] : chars[j + 1];
          j += chars[j + 1] === '\\' ? 3 : 2;
        }
        if (lo === undefined || hi === undefined || hi < lo) throw new Error('syntax error in pattern');
        ranges.push([lo, hi]);
      }
      if (!closed || !ranges.length) throw new Error('syntax error in pattern');
      tokens.push({ t: 'class', negate, ranges });
      i = j;
    } else tokens.push({ t: 'lit', c: ch });
  }
  return tokens;
}

interface Pattern {
  text: string;
  exclusion: boolean;
  tokens: GlobToken[];
  /** The pattern's segments, for shouldWalk (a segment with `**` as one crossing star). */
  segments: GlobToken[][];
}

function compile(raw: string): Pattern | undefined {
  let p = raw.trim();
  if (!p) return undefined;
  if (p.length > MAX_PATTERN_LENGTH) throw errors.badRequest(`.dockerignore pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  p = cleanPath(p);
  const exclusion = p.startsWith('!');
  if (exclusion) {
    if (p.length === 1) throw errors.badRequest('illegal exclusion pattern: "!"');
    p = p.slice(1);
  }
  let tokens: GlobToken[];
  try {
    tokens = tokenize(p);
  } catch {
    throw errors.badRequest(`invalid .dockerignore pattern ${JSON.stringify(shorten(raw))}: syntax error in pattern`);
  }
  // A segment that does not stand alone (`[a/b]` split at its /) may match anything: walking is the safe side.
  const segment = (seg: string): GlobToken[] => {
    if (seg.includes('**')) return [ANYTHING];
    try {
      return tokenize(seg);
    } catch {
      return [ANYTHING];
    }
  };
  return { text: p, exclusion, tokens, segments: p.split('/').map(segment) };
}

export class DockerIgnore {
  private readonly patterns: Pattern[];

  /** From the patterns readDockerignore returns (or any list of moby patterns). */
  constructor(patterns: readonly string[]) {
    if (patterns.length > MAX_PATTERNS) throw errors.badRequest(`.dockerignore has more than ${MAX_PATTERNS} patterns`);
    this.patterns = patterns.map(compile).filter((p): p is Pattern => p !== undefined);
  }

  static parse(text: string): DockerIgnore {
    return new DockerIgnore(readDockerignore(text));
  }

  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /**
   * Is this context path (slash-separated, relative to the context root) left out of the build context?
   * The last pattern that matches it or one of its parent directories decides.
   */
  ignores(path: string): boolean {
    const file = cleanPath(path.replace(/^\/+/, ''));
    if (file === '.') return false; // the context itself
    const parts = file.split('/');
    const parents: string[] = [];
    for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let matched = false;
    for (const p of this.patterns) {
      // An inclusion cannot change an already-ignored path, an exception cannot change a kept one.
      if (p.exclusion !== matched) continue;
      const hit = globMatches(p.tokens, file) || parents.some((dir) => globMatches(p.tokens, dir));
      if (hit) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * Must the client descend into this directory? False only when the directory is ignored and no exception
   * (`!pattern`) could re-include anything below it, so a whole ignored tree (`node_modules`) is never read.
   * More precise than moby's literal-prefix test: an exception with wildcards (`!**\/*.go`) keeps the walk.
   */
  shouldWalk(dir: string): boolean {
    if (!this.ignores(dir)) return true;
    const segs = cleanPath(dir.replace(/^\/+/, '')).split('/');
    return this.patterns.some((p) => p.exclusion && this.couldMatchInside(p, segs));
  }

  private couldMatchInside(p: Pattern, dirSegs: string[]): boolean {
    for (let i = 0; i < dirSegs.length; i++) {
      const seg = p.segments[i];
      if (!seg) return true; // the exception matches a parent of everything inside
      if (seg.length === 1 && seg[0] === ANYTHING) return true; // ** can be anything
      if (!globMatches(seg, dirSegs[i])) return false;
    }
    return true;
  }
}

/** The ignore file BuildKit reads for a Dockerfile: `<Dockerfile>.dockerignore` first, then `.dockerignore`. */
export function dockerignoreCandidates(dockerfilePath = 'Dockerfile'): string[] {
  return [`${dockerfilePath}.dockerignore`, '.dockerignore'];
}
