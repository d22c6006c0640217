import { isDigest, type Digest } from '@berth/image';
import { registryErrors } from './registry-errors';

// The distribution spec's grammar ("Pulling manifests"): path components of lowercase alphanumerics joined
// by one `.`, one or two `_`, or any run of `-`; components joined by `/`. No component can be empty, `.`,
// `..` or start with `_`, so a valid name is always a safe relative path, and never meets the registry's own
// `_layers`/`_manifests` directories.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// Any algorithm the spec's digest grammar allows; berth stores only sha256 (`isDigest`).
const ANY_DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Distribution's limit: a repository name plus its host must fit in 255 characters. */
export const MAX_NAME_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

export function isTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** The repository name, or NAME_INVALID. */
export function parseRepositoryName(name: string): string {
  if (name.length > MAX_NAME_LENGTH) throw registryErrors.nameInvalid(name.slice(0, 64), `longer than ${MAX_NAME_LENGTH} characters`);
  if (!NAME_PATTERN.test(name)) throw registryErrors.nameInvalid(name, 'must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*');
  return name;
}

export function parseTag(tag: string): string {
  if (!TAG_PATTERN.test(tag)) throw registryErrors.tagInvalid(tag.slice(0, 140), 'must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}');
  return tag;
}

/** A `sha256:<hex>` digest, or DIGEST_INVALID (also for well-formed digests of algorithms berth does not store). */
export function parseRegistryDigest(value: string): Digest {
  if (isDigest(value)) return value;
  const shown = value.slice(0, 140);
  if (ANY_DIGEST_PATTERN.test(value)) throw registryErrors.digestInvalid(shown, 'only sha256 digests are supported');
  throw registryErrors.digestInvalid(shown, 'not a digest (algorithm:hex)');
}

/** A manifest reference: a digest (anything with a `:`) or a tag. */
export type ManifestReference = { digest: Digest; tag?: undefined } | { tag: string; digest?: undefined };

export function parseManifestReference(reference: string): ManifestReference {
  if (reference.includes(':')) return { digest: parseRegistryDigest(reference) };
  return { tag: parseTag(reference) };
}
