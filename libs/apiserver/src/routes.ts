import { resourceForPath, ResourceType } from '@berth/api';
import { errors } from '@berth/errors';
import { NODE_CERTIFICATE_PATH, REGISTRY_GC_PATH } from '@berth/client';

export interface ResourceTarget {
  type: ResourceType;
  /** From the path; undefined for cluster-scoped types and all-namespaces lists. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type Route =
  | { kind: 'health' }
  | { kind: 'version' }
  | { kind: 'metrics' }
  /** The cluster CA's PEM, for hosts joining with a token that pins its hash. */
  | { kind: 'cacerts' }
  /** A joining (or renewing) node's certificate signing request. */
  | { kind: 'nodeCertificate' }
  /** Garbage collection of the cluster registry, on demand (`berth registry gc`). */
  | { kind: 'registryGc' }
  | { kind: 'coreDiscovery' }
  | { kind: 'groupsDiscovery' }
  | { kind: 'groupDiscovery'; group: string }
  | { kind: 'groupVersionDiscovery'; group: string; version: string }
  | { kind: 'openapiIndex' }
  | { kind: 'openapiV2' }
  | { kind: 'openapiDocument'; group: string; version: string }
  | { kind: 'resource'; target: ResourceTarget }
  | { kind: 'unknown' };

/** A request target's path (still percent-encoded, never normalized) and query. */
export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

/**
 * A request target as Go's server reads it (and so kube-apiserver): origin-form `/path?query` is a path
 * even when it starts with `//`, and its dot segments are left alone, also encoded ones (`%2e%2e`, which
 * WHATWG URL parsing would resolve: `pods/%2e%2e` must not become the namespace above it). Absolute-form
 * (`https://host/path`) is served by its path when it is a URL at all; anything else (`*`, a relative path) is a 400.
 */
export function parseRequestTarget(target = '/'): RequestTarget {
  const refused = () => errors.badRequest(`the request target ${JSON.stringify(target.length > 100 ? `${target.slice(0, 100)}...` : target)} is not a path`);
  const authority = /^https?:\/\/[^/?#]*/i.exec(target);
  if (authority && !URL.canParse(target)) throw refused();
  const rest = authority ? target.slice(authority[0].length) || '/' : target;
  if (!rest.startsWith('/')) throw refused();
  const end = rest.indexOf('#');
  const withoutFragment = end < 0 ? rest : rest.slice(0, end);
  const question = withoutFragment.indexOf('?');
  if (question < 0) return { pathname: withoutFragment, searchParams: new URLSearchParams() };
  return { pathname: withoutFragment.slice(0, question), searchParams: new URLSearchParams(withoutFragment.slice(question + 1)) };
}

/**
 * A path's segments, percent-decoded; undefined when one does not decode, holds a slash (a name could reach
 * into another key of the store) or is `.` or `..` (which no name may be, as Kubernetes has it).
 */
export function pathSegments(pathname: string): string[] | undefined {
  const segments: string[] = [];
  for (const raw of pathname.split('/')) {
    if (raw === '') continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (decoded.includes('/') || decoded === '.' || decoded === '..') return undefined;
    segments.push(decoded);
  }
  return segments;
}

const HEALTH = new Set(['/healthz', '/livez', '/readyz']);

/** Paths served without a token. */
export function isPublic(route: Route): boolean {
  return route.kind === 'health' || route.kind === 'version' || route.kind === 'cacerts';
}

export function parseRoute(pathname: string): Route {
  const trimmed = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (HEALTH.has(trimmed) || trimmed.startsWith('/healthz/') || trimmed.startsWith('/livez/') || trimmed.startsWith('/readyz/')) {
    return { kind: 'health' };
  }
  if (trimmed === '/version') return { kind: 'version' };
  if (trimmed === '/metrics') return { kind: 'metrics' };
  if (trimmed === '/cacerts') return { kind: 'cacerts' };
  if (trimmed === '/openapi/v2') return { kind: 'openapiV2' };
  if (trimmed === NODE_CERTIFICATE_PATH) return { kind: 'nodeCertificate' };
  if (trimmed === REGISTRY_GC_PATH) return { kind: 'registryGc' };
  const segs = pathSegments(trimmed);
  if (!segs) return { kind: 'unknown' };
  if (segs[0] === 'openapi' && segs[1] === 'v3') {
    if (segs.length === 2) return { kind: 'openapiIndex' };
    if (segs[2] === 'api' && segs.length === 4) return { kind: 'openapiDocument', group: '', version: segs[3] };
    if (segs[2] === 'apis' && segs.length === 5) return { kind: 'openapiDocument', group: segs[3], version: segs[4] };
    return { kind: 'unknown' };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { kind: 'coreDiscovery' };
    [group, version, rest] = ['', segs[1], segs.slice(2)];
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { kind: 'groupsDiscovery' };
    if (segs.length === 2) return { kind: 'groupDiscovery', group: segs[1] };
    [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
  } else {
    return { kind: 'unknown' };
  }
  if (rest.length === 0) return { kind: 'groupVersionDiscovery', group, version };
  const target = resourceTarget(group, version, rest);
  return target ? { kind: 'resource', target } : { kind: 'unknown' };
}

/**
 * `{plural}[/{name}[/{sub}]]` or `namespaces/{ns}/{plural}[/{name}[/{sub}]]`. `namespaces/{name}/status`
 * is the namespace's own subresource: a namespaced path needs a served plural in third place.
 */
function resourceTarget(group: string, version: string, rest: string[]): ResourceTarget | undefined {
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const type = resourceForPath(group, version, rest[2]);
    if (type) {
      if (!type.namespaced || rest.length > 5) return undefined;
      return { type, namespace: rest[1], name: rest[3], subresource: rest[4] };
    }
  }
  const type = resourceForPath(group, version, rest[0]);
  if (!type || rest.length > 3) return undefined;
  if (type.namespaced && rest.length > 1) return undefined;
  return { type, name: rest[1], subresource: rest[2] };
}
