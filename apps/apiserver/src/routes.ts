import { resourceForPath, ResourceType } from '@berth/api';
import { NODE_CERTIFICATE_PATH } from '@berth/client';

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
  | { kind: 'coreDiscovery' }
  | { kind: 'groupsDiscovery' }
  | { kind: 'groupDiscovery'; group: string }
  | { kind: 'groupVersionDiscovery'; group: string; version: string }
  | { kind: 'openapiIndex' }
  | { kind: 'openapiDocument'; group: string; version: string }
  | { kind: 'resource'; target: ResourceTarget }
  | { kind: 'unknown' };

const HEALTH = new Set(['/healthz', '/livez', '/readyz']);

/** Paths served without a token. */
export function isPublic(route: Route): boolean {
  return route.kind === 'health' || route.kind === 'version' || route.kind === 'cacerts';
}

function segmentsOf(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => {
        const decoded = decodeURIComponent(s);
        // An encoded slash would let a name reach into another key of the store.
        if (decoded.includes('/')) throw new URIError('slash in a path segment');
        return decoded;
      });
  } catch {
    return undefined;
  }
}

export function parseRoute(pathname: string): Route {
  const trimmed = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (HEALTH.has(trimmed) || trimmed.startsWith('/healthz/') || trimmed.startsWith('/livez/') || trimmed.startsWith('/readyz/')) {
    return { kind: 'health' };
  }
  if (trimmed === '/version') return { kind: 'version' };
  if (trimmed === '/metrics') return { kind: 'metrics' };
  if (trimmed === '/cacerts') return { kind: 'cacerts' };
  if (trimmed === NODE_CERTIFICATE_PATH) return { kind: 'nodeCertificate' };
  const segs = segmentsOf(trimmed);
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
