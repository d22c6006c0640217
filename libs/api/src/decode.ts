import { errors } from '@berth/errors';
import type { CST, Document, DocumentOptions, ParseOptions, SchemaOptions } from 'yaml';

/**
 * How deep a decoded document may nest (objects and lists). Kubernetes' JSON and YAML decoders stop at
 * 10,000 levels and its CBOR decoder at 64; berth's walks over objects (validation, canonical JSON,
 * clones, merges, tables) recurse in JavaScript, where running out of stack throws at best and, when it
 * happens inside V8's regular expression compiler, aborts the whole process. No Kubernetes object comes
 * near 100 levels (a Deployment's deepest field is about 10, its managedFields about 15), so 100 leaves
 * every walk a wide margin.
 */
export const MAX_NESTING_DEPTH = 100;

/**
 * YAML tokens a body may have. The yaml library needs several microseconds per token on a busy machine,
 * so a 3 MiB body dense with tokens would hold the event loop for tens of seconds; a manifest has a few
 * hundred tokens, and block scalars (`|`) count as one however long they are. JSON text, which is what
 * kubectl and berth send even as apply-patch+yaml, never reaches the YAML parser.
 */
export const MAX_YAML_TOKENS = 100_000;

/**
 * A key that JavaScript objects treat as their prototype: assigning it replaces an object's prototype,
 * reading it where it is not an own property yields Object.prototype. Decoded documents must not have it,
 * so no later merge, patch or copy can reach a prototype through it. (`constructor` and `prototype` are
 * plain data: only code that reads inherited properties could be misled by them, and berth's walks read
 * own properties.)
 */
export const PROTOTYPE_KEY = '__proto__';

/**
 * An object's own member: what a plain object inherits (`constructor`, `toString`, `__proto__`) is not
 * data, so a key naming it (a field selector, a patch) finds nothing there rather than a function or
 * Object.prototype.
 */
export function ownMember<T>(object: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return object !== undefined && Object.hasOwn(object, key) ? object[key] : undefined;
}

interface Place {
  key: string | number;
  parent: Place | undefined;
}

function pathOf(place: Place | undefined): string {
  const parts: string[] = [];
  for (let p = place; p; p = p.parent) parts.push(typeof p.key === 'number' ? `[${p.key}]` : p.parent ? `.${p.key}` : p.key);
  return parts.reverse().join('') || 'the top level';
}

/**
 * Checks a decoded document before anything walks it: at most MAX_NESTING_DEPTH levels deep, no
 * `__proto__` key, only JSON values (finite numbers; YAML can also yield `.inf`). Iterative, so it is
 * safe on any input. Throws BadRequest naming the place, `what` being the document (`the body of the request`).
 */
export function checkDecoded(value: unknown, what: string): void {
  const pending: Array<{ value: unknown; depth: number; place: Place | undefined }> = [{ value, depth: 0, place: undefined }];
  while (pending.length > 0) {
    const { value: current, depth, place } = pending.pop()!;
    if (current === null || typeof current === 'string' || typeof current === 'boolean') continue;
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) throw errors.badRequest(`${what} has a number out of range at ${pathOf(place)}`);
      continue;
    }
    const isList = Array.isArray(current);
    if (!isList && !isObjectLiteral(current)) {
      throw errors.badRequest(`${what} has a value JSON cannot hold at ${pathOf(place)}`);
    }
    if (depth >= MAX_NESTING_DEPTH) throw errors.badRequest(`${what} nests deeper than ${MAX_NESTING_DEPTH} levels at ${pathOf(place)}`);
    if (isList) {
      current.forEach((item, index) => pending.push({ value: item, depth: depth + 1, place: { key: index, parent: place } }));
      continue;
    }
    for (const key of Object.keys(current as object)) {
      const at: Place = { key, parent: place };
      if (key === PROTOTYPE_KEY) throw errors.badRequest(`${what} has a field named "${PROTOTYPE_KEY}" at ${pathOf(at)}, which is not allowed`);
      pending.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1, place: at });
    }
  }
}

/**
 * An object literal's kind of object (its prototype is some realm's Object.prototype, or none), from any realm
 * (structuredClone makes them in the main one, also under jest). Stricter than schema's isPlainObject, which
 * takes any non-array object: this one refuses Dates, Maps and class instances, which JSON cannot hold.
 */
function isObjectLiteral(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** JSON text to a checked value (see checkDecoded); BadRequest when it is not JSON. */
export function decodeJson(text: string, what = 'the body of the request'): unknown {
  let value: unknown;
  try {
    // V8's JSON.parse does not recurse, whatever the nesting.
    value = JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`${what} could not be decoded as JSON: ${(err as Error).message}`);
  }
  checkDecoded(value, what);
  return value;
}

/** A YAML collection's nesting, counted on the parser's tokens without recursion. */
function cstDepth(token: CST.Token): number {
  const pending: Array<{ node: unknown; depth: number }> = [{ node: token, depth: 0 }];
  let deepest = 0;
  while (pending.length > 0) {
    const { node, depth } = pending.pop()!;
    if (!node || typeof node !== 'object') continue;
    const { type, value, key, items } = node as { type?: string; value?: unknown; key?: unknown; items?: Array<{ key?: unknown; value?: unknown }> };
    const here = type === 'block-map' || type === 'block-seq' || type === 'flow-collection' ? depth + 1 : depth;
    if (here > deepest) deepest = here;
    if (deepest > MAX_NESTING_DEPTH) return deepest;
    pending.push({ node: value, depth: here }, { node: key, depth: here });
    for (const item of items ?? []) pending.push({ node: item.key, depth: here }, { node: item.value, depth: here });
  }
  return deepest;
}

/**
 * YAML (one document) to a checked value. JSON text takes JSON's fast path. Otherwise the text is
 * tokenized within MAX_YAML_TOKENS and its nesting counted before the yaml library's (recursive)
 * composition runs, which also refuses alias bombs (more than 100 alias expansions).
 */
export function decodeYaml(text: string, what = 'the body of the request'): unknown {
  const documents = decodeYamlDocuments(text, what);
  if (documents.length > 1) throw errors.badRequest(`${what} could not be decoded as YAML: it holds ${documents.length} documents, not one`);
  return documents[0] ?? null;
}

/**
 * Every document of a YAML stream (`---` separated), each checked as decodeYaml does. `maxTokens` bounds the
 * time a hostile text can take; a local manifest file (the CLI's) may lift it, the nesting bound stays.
 */
export function decodeYamlDocuments(text: string, what = 'the body of the request', maxTokens = MAX_YAML_TOKENS): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      checkDecoded(value, what);
      return [value];
    } catch (err) {
      // Flow-style YAML is not always JSON: the YAML path decides.
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  const bad = (why: string) => errors.badRequest(`${what} could not be decoded as YAML: ${why}`);
  const documents = composeYamlDocuments(text, what, maxTokens, { uniqueKeys: false });
  const numbered = (index: number, why: string) => (documents.length > 1 ? `document ${index + 1}: ${why}` : why);
  return documents.map((doc, index) => {
    if (doc.errors.length) throw bad(numbered(index, doc.errors[0].message));
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // The yaml library's way to refuse an alias bomb.
      throw bad(numbered(index, (err as Error).message));
    }
    checkDecoded(value, what);
    return value;
  });
}

/**
 * A YAML stream's documents as the yaml library composes them (with `options`), after the text was
 * tokenized within `maxTokens` and its nesting counted within MAX_NESTING_DEPTH without recursion: what a
 * reader that needs the documents themselves (their tags, their warnings) starts from. The documents'
 * own errors are left to the caller; toJS them with a maxAliasCount.
 */
export function composeYamlDocuments(text: string, what: string, maxTokens: number, options: ParseOptions & DocumentOptions & SchemaOptions): Document[] {
  const bad = (why: string) => errors.badRequest(`${what} could not be decoded as YAML: ${why}`);
  // yaml loads here, on the first YAML text, not with @berth/api: most `berth` calls read none (~50 ms).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Composer, Lexer, Parser } = require('yaml') as typeof import('yaml');
  const lexer = new Lexer();
  const parser = new Parser();
  const tokens: CST.Token[] = [];
  let count = 0;
  for (const lexeme of lexer.lex(text)) {
    if (++count > maxTokens) throw bad(`it has more than ${maxTokens} tokens; send large documents as JSON`);
    for (const token of parser.next(lexeme)) tokens.push(token);
  }
  for (const token of parser.end()) tokens.push(token);
  for (const token of tokens) {
    if (cstDepth(token) > MAX_NESTING_DEPTH) throw errors.badRequest(`${what} nests deeper than ${MAX_NESTING_DEPTH} levels`);
  }
  return [...new Composer(options).compose(tokens)];
}
