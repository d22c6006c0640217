import { BerthError } from '@berth/errors';
import { expandWords } from './lexer';
import type { Directives, Heredoc, Warning } from './types';

/**
 * The Dockerfile's line syntax, as BuildKit's parser reads it: parser directives at the top, comment lines
 * (also inside continuations), the escape character's line continuation, empty continuation lines (a
 * warning), heredoc bodies after RUN/COPY/ADD. Produces logical lines ("nodes"); instructions.ts types them.
 */

/** Bounds against hostile Dockerfiles; BuildKit's own limits are of the same order. */
export const MAX_DOCKERFILE_BYTES = 16 << 20;

export interface Node {
  /** The instruction keyword as written (`run`, `RUN`). */
  keyword: string;
  /** Everything after the keyword, trimmed. */
  rest: string;
  line: number;
  endLine: number;
  original: string;
  heredocs: Heredoc[];
}

export interface Lines {
  directives: Directives;
  nodes: Node[];
  warnings: Warning[];
}

/** A parse error worded as BuildKit's: `dockerfile parse error on line 3: unknown instruction: RUNN`. */
export function parseError(line: number, message: string): BerthError {
  // One line, bounded: messages quote hostile input.
  message = message.replace(/[\r\n]+/g, ' ');
  if (message.length > 1000) message = `${message.slice(0, 1000)}...`;
  return new BerthError('BadRequest', `dockerfile parse error on line ${line}: ${message}`, {
    causes: [{ reason: 'FieldValueInvalid', field: `Dockerfile:${line}`, message }],
  });
}

const DIRECTIVE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_COMMANDS = new Set(['run', 'copy', 'add']);
const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;

/** Index of the first character that is not blank (s.length when none): no string made per line. */
function firstNonBlank(s: string): number {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && (c < 9 || c > 13)) break;
  }
  return i;
}
const trimLeft = (s: string) => s.slice(firstNonBlank(s));

/** Removes a trailing escape character (and blanks after it): a continuation. */
function trimContinuation(line: string, escape: string): { text: string; ends: boolean } {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end > 0 && line[end - 1] === escape) return { text: line.slice(0, end - 1), ends: false };
  return { text: line, ends: true };
}

/** Reads the directives from the first lines; returns them and how many lines they took. */
function readDirectives(lines: string[]): Directives {
  const directives: Directives = { escape: '\\' };
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const match = DIRECTIVE.exec(trimLeft(lines[i]));
    if (!match) break;
    const name = match[1].toLowerCase();
    if (!KNOWN_DIRECTIVES.has(name)) break;
    if (seen.has(name)) throw parseError(i + 1, `only one ${name} parser directive can be used`);
    seen.add(name);
    const value = match[2];
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') throw parseError(i + 1, `invalid escape token '${value}' does not match \` or \\`);
      directives.escape = value;
    } else if (name === 'syntax') directives.syntax = value;
    else directives.check = value;
  }
  return directives;
}

/** A heredoc operator word (`<<EOF`, `<<-"EOF"`, `3<<EOF`), or undefined. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const match = HEREDOC_WORD.exec(word);
  if (!match || !match[3]) return undefined;
  const none = () => undefined;
  let plain: string[];
  let raw: string[];
  try {
    plain = expandWords(match[3], none, { skipUnset: true });
    raw = expandWords(match[3], none, { skipUnset: true, rawQuotes: true });
  } catch {
    return undefined;
  }
  if (plain.length !== 1 || raw.length !== 1) return undefined;
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return { name: plain[0], expand: quotes(plain[0]) === quotes(raw[0]), chomp: match[2] === '-', fd: Number(match[1] || 0) };
}

/** The heredocs named in an instruction's arguments, in order. */
function heredocsIn(rest: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = expandWords(rest, () => undefined, { rawQuotes: true, rawEscapes: true, skipUnset: true });
  } catch {
    return [];
  }
  return words.flatMap((w) => parseHeredocWord(w) ?? []);
}

/** A heredoc's content as used: with `<<-`, leading tabs removed from every line. */
export function heredocContent(doc: Heredoc): string {
  return doc.chomp ? doc.content.replace(/^\t+/gm, '') : doc.content;
}

export function splitLines(text: string): Lines {
  if (Buffer.byteLength(text) > MAX_DOCKERFILE_BYTES) {
    throw parseError(1, `the Dockerfile is larger than ${MAX_DOCKERFILE_BYTES} bytes`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const directives = readDirectives(lines);
  const escape = directives.escape;
  const nodes: Node[] = [];
  const warnings: Warning[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i;
    const first = trimLeft(lines[i++]);
    if (first === '' || first.startsWith('#')) continue;
    let { text, ends } = trimContinuation(first, escape);
    const pieces = [text];
    let emptyContinuation = false;
    while (!ends && i < lines.length) {
      const next = lines[i++];
      const k = firstNonBlank(next);
      if (next[k] === '#') continue;
      if (k === next.length) {
        emptyContinuation = true;
        continue;
      }
      ({ text, ends } = trimContinuation(next, escape));
      pieces.push(text);
    }
    const logical = pieces.join('');
    if (logical.trim() === '') continue;
    if (emptyContinuation) warnings.push({ line: start + 1, message: 'Empty continuation line found in: ' + logical.trim() });
    const trimmed = logical.trim();
    const split = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
    const node: Node = { keyword: split[1], rest: split[2], line: start + 1, endLine: i, original: trimmed, heredocs: [] };
    if (HEREDOC_COMMANDS.has(node.keyword.toLowerCase()) && node.rest.includes('<<')) {
      for (const doc of heredocsIn(node.rest)) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const line = lines[i++];
          const candidate = doc.chomp ? line.replace(/^\t+/, '') : line;
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += line + '\n';
        }
        if (!terminated) throw parseError(node.line, 'unterminated heredoc');
        node.heredocs.push({ ...doc, content });
      }
      node.endLine = i;
    }
    nodes.push(node);
  }
  return { directives, nodes, warnings };
}
