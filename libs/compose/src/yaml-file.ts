import { readFile, stat } from 'node:fs/promises';
import { checkDecoded, composeYamlDocuments } from '@berth/api';
import { BerthError } from '@berth/errors';
import type { Node } from 'yaml';

/** A compose file (or an env file, a config's content) is at most this big: the largest public ones are tens of KiB. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Tokens a compose file may have; 4 MiB of dense YAML is ~1M tokens, and each costs microseconds. */
const MAX_TOKENS = 1_000_000;

/** A problem with a compose file: one line, naming the file and (when there is one) the key path. */
export function composeError(file: string, message: string): BerthError {
  return new BerthError('Invalid', `${file}: ${message}`);
}

/**
 * The `!reset` tag's value (the merge sets the key back to nothing) and `!override`'s (the value replaces
 * the earlier file's instead of being merged into it), as the merge rules of the Compose Specification have them.
 */
export const RESET = Symbol('compose !reset');
export class Override {
  constructor(readonly value: unknown) {}
}
/** What `!override X` reads as until the file is walked: a list whose first item is this marker. */
const OVERRIDE_MARK = Symbol('compose !override');

/** A text file within MAX_FILE_BYTES, as UTF-8 (a file that is not is one line, not mojibake). */
export async function readTextFile(path: string, shown: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw composeError(shown, 'not a regular file');
    size = info.size;
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw composeError(shown, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot be read: ${(err as Error).message}`);
  }
  if (size > MAX_FILE_BYTES) throw composeError(shown, `is ${size} bytes, more than the ${MAX_FILE_BYTES} a compose file may have`);
  const bytes = await readFile(path);
  if (bytes.length > MAX_FILE_BYTES) throw composeError(shown, `is more than the ${MAX_FILE_BYTES} bytes a compose file may have`);
  if (bytes.includes(0)) throw composeError(shown, 'is not a text file (it holds NUL bytes)');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw composeError(shown, 'is not UTF-8 text');
  }
}

/**
 * Compose file text to plain data: one YAML document, anchors and merge keys (`<<`) expanded within 100
 * alias expansions, duplicate keys refused, nesting within @berth/api's bound, no `__proto__` key, every
 * mapping an object without a prototype (so no key, not even `constructor`, reads anything inherited).
 * `!reset` reads as RESET and `!override` as an Override; any other tag is refused.
 */
export function parseComposeYaml(text: string, shown: string): unknown {
  let documents;
  try {
    documents = composeYamlDocuments(text, shown, MAX_TOKENS, { merge: true, uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    throw composeError(shown, stripWhat((err as Error).message, shown));
  }
  if (documents.length === 0) return Object.create(null);
  if (documents.length > 1) throw composeError(shown, `holds ${documents.length} YAML documents, not one`);
  const doc = documents[0];
  if (doc.errors.length) throw composeError(shown, yamlMessage(doc.errors[0]));
  // Unresolved tags are judged below (two are compose's own); any other warning is refused.
  const warning = doc.warnings.find((w) => w.code !== 'TAG_RESOLVE_FAILED');
  if (warning) throw composeError(shown, yamlMessage(warning));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require('yaml') as typeof import('yaml');
  let tagError: string | undefined;
  yaml.visit(doc, (_key, node) => {
    if (!yaml.isNode(node) || !node.tag || yaml.isAlias(node)) return undefined;
    if (node.tag === '!reset') return new yaml.Scalar(RESET);
    if (node.tag === '!override') {
      (node as Node).tag = undefined;
      const wrapper = new yaml.YAMLSeq();
      wrapper.items.push(new yaml.Scalar(OVERRIDE_MARK), node);
      return wrapper;
    }
    // The core schema's own tags (`!!str`, `!!int`, ...) were resolved by the parser already.
    if (node.tag.startsWith('tag:yaml.org,2002:')) return undefined;
    tagError = `the tag ${node.tag} is not one compose knows (only !reset and !override)`;
    return yaml.visit.BREAK;
  });
  if (tagError) throw composeError(shown, tagError);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw composeError(shown, (err as Error).message);
  }
  try {
    checkDecodedWithMarks(value, shown);
  } catch (err) {
    throw composeError(shown, stripWhat((err as Error).message, shown));
  }
  return withoutPrototypes(value);
}

function yamlMessage(err: { message: string }): string {
  return err.message.split('\n')[0];
}

/** @berth/api's messages name the document first ("compose.yaml could not be decoded..."): the line names it already. */
function stripWhat(message: string, shown: string): string {
  return message.startsWith(`${shown} `) ? message.slice(shown.length + 1) : message;
}

/** checkDecoded on the data with the tags' markers replaced by null (they are not JSON). */
function checkDecodedWithMarks(value: unknown, shown: string): void {
  checkDecoded(
    JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'symbol' ? null : v)) ?? 'null'),
    shown,
  );
}

/** A copy in which every mapping has no prototype and `!override`'s marker became an Override. Depth was bounded by checkDecoded. */
function withoutPrototypes(value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 2 && value[0] === OVERRIDE_MARK) return new Override(withoutPrototypes(value[1]));
    return value.map(withoutPrototypes);
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value)) copy[key] = withoutPrototypes((value as Record<string, unknown>)[key]);
    return copy;
  }
  return value;
}
