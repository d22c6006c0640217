import { errors } from '@berth/errors';
import { isDigest, type Digest } from './digest';

const DEFAULT_DOMAIN = 'docker.io';
const OFFICIAL_PREFIX = 'library/';
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;

/** An image name in docker's fully qualified form: `docker.io/library/busybox:latest`, maybe `@sha256:...`. */
export interface ImageReference {
  /** `docker.io/library/busybox` */
  repository: string;
  tag?: string;
  digest?: Digest;
}

function invalidReference(ref: string, why: string) {
  return errors.badRequest(`invalid reference format "${ref}": ${why}`);
}

/**
 * Parses a reference and fills in docker's defaults: the docker.io registry, the `library/` namespace
 * for single-component names on docker.io, and the `latest` tag when neither tag nor digest is given.
 */
export function parseReference(ref: string): ImageReference {
  let rest = ref.trim();
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) throw invalidReference(ref, `"${candidate}" is not a sha256 digest`);
    digest = candidate;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalidReference(ref, `invalid tag "${tag}"`);
  }
  if (rest === '') throw invalidReference(ref, 'repository name is empty');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!DOMAIN.test(first)) throw invalidReference(ref, `invalid registry "${first}"`);
    domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first;
    path = rest.slice(slash + 1);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalidReference(ref, `repository name must be lowercase alphanumerics separated by "." "_" "__" or "-" (got "${component}")`);
    }
  }
  const repository = `${domain}/${path}`;
  if (repository.length > 255) throw invalidReference(ref, 'repository name is longer than 255 characters');
  return { repository, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

export function formatReference(ref: ImageReference): string {
  return `${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** `busybox` → `docker.io/library/busybox:latest`; digests are kept. */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}

/** The short form docker prints: `docker.io/library/busybox:latest` → `busybox:latest`. */
export function familiarReference(normalized: string): string {
  const prefix = `${DEFAULT_DOMAIN}/`;
  if (!normalized.startsWith(prefix)) return normalized;
  const rest = normalized.slice(prefix.length);
  return rest.startsWith(OFFICIAL_PREFIX) ? rest.slice(OFFICIAL_PREFIX.length) : rest;
}
