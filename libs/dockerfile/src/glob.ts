/**
 * One glob matcher for the two pattern languages of this lib: the `${v#pattern}` family of the Dockerfile
 * lexer (`*` and `?` match any character) and .dockerignore (`*` and `?` stop at `/`, `**` crosses
 * directories). Each language tokenizes its own syntax; both match here, by simulating the NFA over token
 * positions, so a hostile pattern (`*a*a*a*b`, `**\/**\/**`) costs at most characters × tokens steps, never
 * the exponential backtracking a RegExp can take.
 */

export type GlobToken =
  /** A run of any characters; with `slash: false` not crossing a `/`. */
  | { t: 'star'; slash: boolean }
  /** One character; with `slash: false` not a `/`. */
  | { t: 'one'; slash: boolean }
  | { t: 'lit'; c: string }
  /** .dockerignore's inner `**`: nothing, or anything that ends with a `/`. */
  | { t: 'dirs' }
  | { t: 'class'; negate: boolean; ranges: [string, string][] };

/** Counts NFA steps across calls; `limit` exceeded → `onLimit` throws. */
export interface GlobBudget {
  work: number;
  limit: number;
  onLimit: () => never;
}

/**
 * Every n such that the pattern matches chars[start, start+n) exactly, ascending. States k in 0..len are
 * "before token k"; len+1+k is "inside the `dirs` token k" (which must end on a `/` before moving on).
 */
export function globMatchLengths(tokens: readonly GlobToken[], chars: string | readonly string[], start = 0, budget?: GlobBudget): number[] {
  const n = tokens.length;
  const add = (set: Set<number>, k: number) => {
    while (!set.has(k)) {
      set.add(k);
      const tok = tokens[k];
      if (k >= n || (tok.t !== 'star' && tok.t !== 'dirs')) return;
      k++;
    }
  };
  let states = new Set<number>();
  add(states, 0);
  const lengths: number[] = [];
  for (let i = start; ; i++) {
    if (states.has(n)) lengths.push(i - start);
    const ch = chars[i];
    if (ch === undefined || states.size === 0) break;
    const next = new Set<number>();
    for (const s of states) {
      if (budget && ++budget.work > budget.limit) budget.onLimit();
      if (s > n) {
        next.add(s);
        if (ch === '/') add(next, s - n);
        continue;
      }
      if (s === n) continue;
      const tok = tokens[s];
      switch (tok.t) {
        case 'lit':
          if (tok.c === ch) add(next, s + 1);
          break;
        case 'one':
          if (tok.slash || ch !== '/') add(next, s + 1);
          break;
        case 'star':
          if (tok.slash || ch !== '/') add(next, s);
          break;
        case 'dirs':
          next.add(n + 1 + s);
          if (ch === '/') add(next, s + 1);
          break;
        case 'class':
          if (tok.ranges.some(([lo, hi]) => ch >= lo && ch <= hi) !== tok.negate) add(next, s + 1);
          break;
      }
    }
    states = next;
  }
  return lengths;
}

/** Does the pattern match the whole text? */
export function globMatches(tokens: readonly GlobToken[], text: string): boolean {
  const chars = /[\uD800-\uDFFF]/.test(text) ? Array.from(text) : text;
  const lengths = globMatchLengths(tokens, chars);
  return lengths[lengths.length - 1] === chars.length;
}
