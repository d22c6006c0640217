import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeYamlDocuments, KubeObject, ResourceType } from '@berth/api';
import { BerthError, isBerthError } from '@berth/errors';

/** One object read from a manifest, with where it came from for messages. */
export interface Manifest {
  /** The file name as given (`STDIN` for `-`). */
  source: string;
  /** `document 2` or `document 1, item 3` (1-based). */
  position: string;
  apiVersion: string;
  kind: string;
  object: KubeObject;
}

/** A manifest whose kind the server serves. */
export interface MappedManifest extends Manifest {
  type: ResourceType;
}

export interface ManifestText {
  source: string;
  text: string;
}

const MANIFEST_EXTENSIONS = ['.json', '.yaml', '.yml'];
export const STDIN_SOURCE = 'STDIN';

/** The texts behind `-f` arguments: a file, a directory's manifests in name order, or `-` for stdin. */
export function readManifestTexts(paths: string[], readStdin: () => string = () => readFileSync(0, 'utf8')): ManifestText[] {
  const texts: ManifestText[] = [];
  for (const path of paths) {
    if (path === '-') {
      texts.push({ source: STDIN_SOURCE, text: readStdin() });
      continue;
    }
    if (!existsSync(path)) throw new BerthError('NotFound', `the path "${path}" does not exist`);
    if (statSync(path).isDirectory()) {
      const entries = readdirSync(path)
        .filter((entry) => MANIFEST_EXTENSIONS.some((ext) => entry.endsWith(ext)))
        .sort();
      for (const entry of entries) {
        const file = join(path, entry);
        if (statSync(file).isFile()) texts.push({ source: file, text: readFileSync(file, 'utf8') });
      }
    } else {
      texts.push({ source: path, text: readFileSync(path, 'utf8') });
    }
  }
  return texts;
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim().replace(/:$/, '');
}

/**
 * The documents of a YAML stream (or one JSON text), as plain values; null for empty documents. Decoded as
 * the server decodes bodies (nesting bounded, no `__proto__`), so a hostile file is one line, never a crash
 * of the CLI; a local file may be as long as it likes.
 */
function parseDocuments(source: string, text: string): unknown[] {
  try {
    return decodeYamlDocuments(text, source, Infinity);
  } catch (err) {
    if (isBerthError(err)) throw new BerthError('BadRequest', firstLine(err.message));
    throw err;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toManifest(source: string, position: string, value: unknown): Manifest {
  const invalid = (why: string) => new BerthError('BadRequest', `error validating ${source} (${position}): ${why}`);
  if (!isObject(value)) throw invalid('the document is not an object');
  const missing = ['apiVersion', 'kind'].filter((key) => typeof value[key] !== 'string' || value[key] === '');
  if (missing.length > 0) throw invalid(missing.map((key) => `${key} not set`).join(', '));
  const { apiVersion, kind } = value as { apiVersion: string; kind: string };
  const metadata = value.metadata;
  if (metadata !== undefined && !isObject(metadata)) throw invalid('metadata must be an object');
  if (!metadata || typeof metadata.name !== 'string' || metadata.name === '') throw invalid('metadata.name not set');
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') throw invalid('metadata.namespace must be a string');
  return { source, position, apiVersion, kind, object: value as unknown as KubeObject };
}

/**
 * The resource a manifest's object is, from the server's discovery. A kind the server does not serve
 * fails only this object, in kubectl's words; the verb goes on with the others.
 */
export async function mapManifest(manifest: Manifest, resolver: { forKind(apiVersion: string, kind: string): Promise<ResourceType | undefined> }): Promise<MappedManifest> {
  const type = await resolver.forKind(manifest.apiVersion, manifest.kind);
  if (!type) {
    const { name, namespace } = manifest.object.metadata;
    throw new BerthError(
      'NotFound',
      `resource mapping not found for name: ${JSON.stringify(name)} namespace: ${JSON.stringify(namespace ?? '')} from ${JSON.stringify(manifest.source)}: no matches for kind ${JSON.stringify(manifest.kind)} in version ${JSON.stringify(manifest.apiVersion)}`,
    );
  }
  return { ...manifest, type };
}

/** The objects in one manifest text, `List` kinds flattened; any bad document fails the whole text. */
export function parseManifests(source: string, text: string): Manifest[] {
  const manifests: Manifest[] = [];
  parseDocuments(source, text).forEach((value, index) => {
    if (value === null || value === undefined) return;
    const position = `document ${index + 1}`;
    if (isObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item, itemIndex) => manifests.push(toManifest(source, `${position}, item ${itemIndex + 1}`, item)));
    } else {
      manifests.push(toManifest(source, position, value));
    }
  });
  return manifests;
}

/**
 * Every object behind the `-f` arguments, all read and checked before the caller acts on any.
 * `verb` words the error for an input without objects (`no objects passed to apply`).
 */
export function loadManifests(paths: string[], verb: string, readStdin?: () => string): Manifest[] {
  if (paths.length === 0) throw new BerthError('BadRequest', 'must specify -f FILE|DIR|-');
  const manifests = readManifestTexts(paths, readStdin).flatMap(({ source, text }) => parseManifests(source, text));
  if (manifests.length === 0) throw new BerthError('BadRequest', `no objects passed to ${verb}`);
  return manifests;
}
