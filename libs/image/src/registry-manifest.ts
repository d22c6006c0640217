import { BerthError, errors } from '@berth/errors';
import { isDigest } from './digest';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType, hostPlatform, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from './oci';

/**
 * What a registry sends, checked before anything is trusted: sizes, nesting, digests, media types, counts.
 * A manifest that breaks a bound is a BadRequest naming the bound, never a crash or an unbounded download.
 */

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
export const MAX_LAYERS = 256;
export const MAX_INDEX_ENTRIES = 1024;
const MAX_JSON_DEPTH = 32;
const MAX_MEDIA_TYPE = 255;

/** What pull asks a registry for: images and indexes, OCI and Docker v2 (never schema 1). */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

const SCHEMA1_TYPES = ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws'];

export const LAYER_MEDIA_TYPES: readonly string[] = [MediaType.ociLayer, MediaType.ociLayerGzip, MediaType.ociLayerZstd, MediaType.dockerLayer, MediaType.dockerLayerGzip];

/** Parses JSON a registry sent, refusing nesting deeper than any image document needs. */
export function parseRegistryJson(data: Buffer, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    throw errors.badRequest(`${what} is not valid JSON`);
  }
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= MAX_JSON_DEPTH) throw errors.badRequest(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return value;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.badRequest(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function descriptor(value: unknown, what: string): Descriptor {
  const d = object(value, what);
  if (typeof d.mediaType !== 'string' || d.mediaType.length > MAX_MEDIA_TYPE) throw errors.badRequest(`${what} has no valid mediaType`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw errors.badRequest(`${what} has the unsupported digest "${String(d.digest).slice(0, 100)}" (only sha256 is supported)`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw errors.badRequest(`${what} has no valid size`);
  const result: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform !== undefined) {
    const p = object(d.platform, `${what}.platform`);
    result.platform = {
      os: typeof p.os === 'string' ? p.os : '',
      architecture: typeof p.architecture === 'string' ? p.architecture : '',
      ...(typeof p.variant === 'string' && p.variant ? { variant: p.variant } : {}),
    };
  }
  return result;
}

export type RegistryDocument = { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest };

/** An image manifest or index from its bytes and the Content-Type it came with. */
export function parseManifest(data: Buffer, contentType: string | undefined, what: string): RegistryDocument {
  const type = (contentType ?? '').split(';')[0]!.trim();
  if (SCHEMA1_TYPES.includes(type)) throw errors.badRequest(`${what} is a Docker schema 1 manifest, which berth does not support: push the image again with a current docker, podman or skopeo`);
  const doc = object(parseRegistryJson(data, what), what);
  if (doc.schemaVersion === 1) throw errors.badRequest(`${what} is a Docker schema 1 manifest, which berth does not support: push the image again with a current docker, podman or skopeo`);
  if (doc.schemaVersion !== 2) throw errors.badRequest(`${what} has schemaVersion ${JSON.stringify(doc.schemaVersion)}, not 2`);
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : MANIFEST_MEDIA_TYPES.includes(type) || INDEX_MEDIA_TYPES.includes(type) ? type : Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw errors.badRequest(`${what} is an index without manifests`);
    if (doc.manifests.length > MAX_INDEX_ENTRIES) throw errors.badRequest(`${what} lists ${doc.manifests.length} manifests, more than the ${MAX_INDEX_ENTRIES} allowed`);
    const manifests = doc.manifests.map((m, i) => descriptor(m, `${what} manifests[${i}]`));
    return { kind: 'index', index: { schemaVersion: 2, mediaType, manifests } };
  }
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) throw errors.badRequest(`${what} has the unsupported media type "${mediaType.slice(0, MAX_MEDIA_TYPE)}"`);
  const config = descriptor(doc.config, `${what} config`);
  if (config.size > MAX_CONFIG_BYTES) throw errors.badRequest(`${what}: its config is ${config.size} bytes, more than the ${MAX_CONFIG_BYTES} allowed`);
  if (!Array.isArray(doc.layers)) throw errors.badRequest(`${what} has no layers list`);
  if (doc.layers.length > MAX_LAYERS) throw errors.badRequest(`${what} has ${doc.layers.length} layers, more than the ${MAX_LAYERS} allowed`);
  const layers = doc.layers.map((l, i) => {
    const layer = descriptor(l, `${what} layers[${i}]`);
    if (!LAYER_MEDIA_TYPES.includes(layer.mediaType)) {
      throw errors.badRequest(`${what} layers[${i}] has the media type "${layer.mediaType}", which berth cannot pull (foreign and non-distributable layers are not fetched)`);
    }
    return layer;
  });
  return { kind: 'manifest', manifest: { schemaVersion: 2, mediaType, config, layers } };
}

/** `linux/arm64/v8` → a Platform; empty: this host's. */
export function parsePlatform(value: string | undefined): Platform {
  if (!value) return hostPlatform();
  const parts = value.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]{1,32}$/.test(p))) throw errors.badRequest(`invalid platform "${value.slice(0, 100)}": use os/arch[/variant], as linux/amd64`);
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

function normalVariant(p: Platform): string {
  if (p.variant) return p.variant;
  return p.architecture === 'arm64' ? 'v8' : '';
}

/** The index entry for `platform`: same os and architecture, and variant when one is wanted. */
export function selectPlatform(index: ImageIndex, platform: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter(
    (m) => MANIFEST_MEDIA_TYPES.includes(m.mediaType) && m.platform && m.platform.os === platform.os && m.platform.architecture === platform.architecture,
  );
  const wanted = platform.variant || platform.architecture === 'arm64' ? normalVariant(platform) : undefined;
  const match = wanted === undefined ? candidates[0] : candidates.find((m) => normalVariant(m.platform!) === wanted);
  if (!match) {
    const offered = index.manifests.filter((m) => m.platform).map((m) => [m.platform!.os, m.platform!.architecture, m.platform!.variant].filter(Boolean).join('/'));
    const name = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
    throw new BerthError('NotFound', `${what} has no manifest for ${name} (it has ${offered.join(', ') || 'none with a platform'})`);
  }
  return match;
}
