import { isDigest, MediaType, type Digest } from '@berth/image';
import { registryErrors } from './registry-errors';

/** The manifest media types the registry stores: OCI and Docker v2 image manifests and indexes. */
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_MANIFEST_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_MANIFEST_TYPES];

/** The size bound on a manifest body: the spec asks registries to take at least 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

// Docker's foreign (non-distributable) layers live elsewhere (their `urls`); a registry does not hold them.
const FOREIGN_LAYER_TYPES = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export interface ManifestDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** What the registry needs to know of a manifest: its type, what it references, what it is about. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs (config, layers) that must be in the repository. */
  blobs: Digest[];
  /** Manifests an index lists, which must be in the repository. */
  manifests: Digest[];
  subject?: ManifestDescriptor;
  /** `artifactType`, else (image manifests) the config's media type: what the referrers API reports. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function descriptor(value: unknown, where: string, reference: string): ManifestDescriptor {
  if (!isObject(value)) throw registryErrors.manifestInvalid(reference, `${where} is not a descriptor`);
  const { mediaType, digest, size, artifactType, annotations } = value;
  if (typeof mediaType !== 'string' || mediaType.length > 255) throw registryErrors.manifestInvalid(reference, `${where}.mediaType is missing`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw registryErrors.manifestInvalid(reference, `${where}.digest is not a sha256 digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw registryErrors.manifestInvalid(reference, `${where}.size is not a size`);
  const result: ManifestDescriptor = { mediaType, digest, size };
  if (typeof artifactType === 'string') result.artifactType = artifactType;
  const notes = stringMap(annotations, `${where}.annotations`, reference);
  if (notes) result.annotations = notes;
  return result;
}

function stringMap(value: unknown, where: string, reference: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw registryErrors.manifestInvalid(reference, `${where} is not a map of strings`);
  // A null-prototype copy: keys such as `__proto__` stay plain data.
  const result: Record<string, string> = Object.create(null);
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw registryErrors.manifestInvalid(reference, `${where} is not a map of strings`);
    result[key] = entry;
  }
  return result;
}

function descriptors(value: unknown, where: string, reference: string): ManifestDescriptor[] {
  if (!Array.isArray(value)) throw registryErrors.manifestInvalid(reference, `${where} is not a list`);
  return value.map((entry, i) => descriptor(entry, `${where}[${i}]`, reference));
}

/**
 * Validates a manifest body pushed as `contentType` (the request's Content-Type) and says what it references.
 * As distribution does, the Content-Type chooses the schema (without one, distribution 2.8 tries the
 * retired schema 1 and fails: MANIFEST_INVALID), and a `mediaType` inside the body must agree with it.
 */
export function parseManifest(content: Buffer, contentType: string | undefined, reference: string): ParsedManifest {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    throw registryErrors.manifestInvalid(reference, 'not JSON');
  }
  if (!isObject(body)) throw registryErrors.manifestInvalid(reference, 'not a JSON object');
  const declared = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  const mediaType = contentType?.split(';')[0].trim().toLowerCase();
  if (!mediaType || !MANIFEST_TYPES.includes(mediaType)) {
    throw registryErrors.manifestInvalid(reference, `unsupported manifest media type ${JSON.stringify(mediaType ?? '')}`);
  }
  if (declared !== undefined && declared !== mediaType) {
    throw registryErrors.manifestInvalid(reference, `mediaType in manifest should be '${mediaType}' not '${declared}'`);
  }
  if (body.mediaType !== undefined && declared === undefined) throw registryErrors.manifestInvalid(reference, 'mediaType is not a string');
  if (body.schemaVersion !== 2) throw registryErrors.manifestInvalid(reference, 'schemaVersion must be 2');
  const artifactType = body.artifactType;
  if (artifactType !== undefined && typeof artifactType !== 'string') throw registryErrors.manifestInvalid(reference, 'artifactType is not a string');
  const subject = body.subject === undefined ? undefined : descriptor(body.subject, 'subject', reference);
  const annotations = stringMap(body.annotations, 'annotations', reference);

  if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    const config = descriptor(body.config, 'config', reference);
    const layers = descriptors(body.layers, 'layers', reference);
    return {
      mediaType,
      blobs: [config.digest, ...layers.filter((l) => !FOREIGN_LAYER_TYPES.has(l.mediaType)).map((l) => l.digest)],
      manifests: [],
      subject,
      artifactType: artifactType ?? config.mediaType,
      annotations,
    };
  }
  const children = descriptors(body.manifests, 'manifests', reference);
  return { mediaType, blobs: [], manifests: children.map((m) => m.digest), subject, artifactType, annotations };
}
