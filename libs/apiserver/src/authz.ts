import { qualifiedName, type KubeObject, type ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { JOINING_HOST, MASTERS_GROUP, nodeNameOf, type UserInfo } from './authn';
import { ObjectFilter } from './filter';
import { booleanParam } from './query';
import type { RequestTarget, Route } from './routes';

/** A request to a resource, in Kubernetes' authorizer terms. */
export interface ResourceAttributes {
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** What a list or watch selects: its field selector's required values (`spec.nodeName`, `metadata.name`). */
  filter: ObjectFilter;
}

/** A request to anything else: discovery, /metrics, the node certificate endpoint. */
export interface PathAttributes {
  verb: string;
  path: string;
  route: Route['kind'];
}

export type RequestAttributes = { resource: ResourceAttributes } | { nonResource: PathAttributes };

/** Discovery documents, which every authenticated user may read. */
const DISCOVERY_ROUTES: readonly Route['kind'][] = ['coreDiscovery', 'groupsDiscovery', 'groupDiscovery', 'groupVersionDiscovery', 'openapiIndex', 'openapiDocument', 'openapiV2'];

const VERB_BY_METHOD: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch' };

/** What a request asks to do, read from its method, route and query before anything is decoded. */
export function requestAttributes(method: string, route: Route, url: RequestTarget, upgrade = false): RequestAttributes {
  if (route.kind !== 'resource') return { nonResource: { verb: method.toLowerCase(), path: url.pathname, route: route.kind } };
  const { type, namespace, name, subresource } = route.target;
  const q = url.searchParams;
  let verb: string;
  // exec, attach and port-forward upgrades are `create` on their subresource (Kubernetes since 1.30).
  if (upgrade && type.plural === 'pods' && subresource) verb = 'create';
  else if (method === 'GET' || method === 'HEAD') verb = name ? 'get' : booleanParam(q, 'watch') ? 'watch' : 'list';
  else if (method === 'DELETE') verb = name ? 'delete' : 'deletecollection';
  else verb = VERB_BY_METHOD[method] ?? method.toLowerCase();
  const filter = verb === 'list' || verb === 'watch' || verb === 'deletecollection' ? ObjectFilter.parse(type, q.get('labelSelector'), q.get('fieldSelector')) : ObjectFilter.everything;
  return { resource: { verb, type, namespace, name, subresource, filter } };
}

/** Kubernetes' authorizer denial: `pods is forbidden: User "u" cannot list resource "pods" in API group "" in the namespace "x": why`. */
export function forbidden(user: UserInfo, attrs: RequestAttributes, reason: string): BerthError {
  const why = reason ? `: ${reason}` : '';
  if ('nonResource' in attrs) return new BerthError('Forbidden', `forbidden: User "${user.name}" cannot ${attrs.nonResource.verb} path "${attrs.nonResource.path}"${why}`);
  const { verb, type, namespace, name, subresource } = attrs.resource;
  const subject = name ? `${qualifiedName(type)} "${name}" is forbidden` : `${qualifiedName(type)} is forbidden`;
  const resource = subresource ? `${type.plural}/${subresource}` : type.plural;
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  return new BerthError('Forbidden', `${subject}: User "${user.name}" cannot ${verb} resource "${resource}" in API group "${type.group}" ${scope}${why}`, {
    name,
    group: type.group || undefined,
    kind: type.plural,
  });
}

/** An admission plugin's denial (NodeRestriction's wording): `nodes "b" is forbidden: why`. */
export function admissionForbidden(type: ResourceType, name: string | undefined, why: string): BerthError {
  const subject = name ? `${qualifiedName(type)} "${name}"` : qualifiedName(type);
  return new BerthError('Forbidden', `${subject} is forbidden: ${why}`, { name, group: type.group || undefined, kind: type.plural });
}

/**
 * Checks a write once the object it would store is known (old: the stored object; undefined on create),
 * before it is stored; throws to refuse it. Called for every create, update and patch, status included.
 */
export type Admission = (old: KubeObject | undefined, next: KubeObject) => void;

/** The rules for nodes (Kubernetes' Node authorizer and NodeRestriction admission plugin): see node-authorizer.ts. */
export interface NodeRules {
  /** Resolves when node may make the request; throws (Forbidden, or NotFound for an object it may act on) when not. */
  authorize(node: string, attrs: RequestAttributes): Promise<void>;
  /** The admission check of a node's write, or undefined when it needs none. */
  admission(node: string, attrs: RequestAttributes): Admission | undefined;
}

/**
 * Who may do what, decided once per request at the API edge, before it is served: the admin everything;
 * the join token only the node certificate request (joining); a node what NodeRules allow; anyone else nothing.
 */
export class Authorizer {
  constructor(private readonly nodes: NodeRules) {}

  async authorize(user: UserInfo, attrs: RequestAttributes): Promise<void> {
    if (user.groups.includes(MASTERS_GROUP)) return;
    if (user.name === JOINING_HOST.name) {
      if ('nonResource' in attrs && attrs.nonResource.route === 'nodeCertificate' && attrs.nonResource.verb === 'post') return;
      throw forbidden(user, attrs, 'the join token only joins a host to the cluster');
    }
    const node = nodeNameOf(user);
    if (!node) {
      // Kubernetes' system:discovery role, bound to every authenticated user (service accounts here).
      if ('nonResource' in attrs && DISCOVERY_ROUTES.includes(attrs.nonResource.route) && (attrs.nonResource.verb === 'get' || attrs.nonResource.verb === 'head')) return;
      throw forbidden(user, attrs, '');
    }
    await this.nodes.authorize(node, attrs);
  }

  /** The admission check the user's writes go through; undefined for users whose writes are not restricted. */
  admission(user: UserInfo, attrs: RequestAttributes): Admission | undefined {
    const node = nodeNameOf(user);
    return node ? this.nodes.admission(node, attrs) : undefined;
  }
}
