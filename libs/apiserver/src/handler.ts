import { decodeJson, decodeYaml, FieldValidation, KubeObject, ResourceType, Subresource } from '@berth/api';
import { BerthError, errors } from '@berth/errors';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF } from '@berth/k8s-protobuf';
import type { Store } from '@berth/store';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { BOOKMARK_INTERVAL_HEADER, PEM_MEDIA_TYPE } from '@berth/client';
import { Authenticator, bearerToken, type UserInfo } from './authn';
import { requestAttributes, type Admission, type Authorizer, type RequestAttributes, type ResourceAttributes } from './authz';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  AGGREGATED_DISCOVERY_VERSIONS,
  apiGroupList,
  apiResourceList,
  apiVersions,
  findGroup,
  findGroupVersion,
  KUBERNETES_VERSION,
  openApiDocument,
  openApiIndex,
  OPENAPI_V2_PROTOBUF,
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
  openApiV2Document,
  openApiV2Protobuf,
} from './discovery';
import type { ObjectFilter } from './filter';
import { Evictions } from './eviction';
import type { ServiceAccountTokens } from './service-account-tokens';
import { endWithStatus, statusFor, successStatus } from './http-errors';
import type { ClusterRegistryControl } from './cluster-registry';
import type { ApiMetrics } from './metrics';
import type { NodeCertificates } from './node-certificates';
import type { NodeProxy } from './node-proxy';
import { acceptsAs, MediaRange, mediaType, parseAccept } from './negotiation';
import { ObjectService, PATCH_TYPES, PatchType, PropagationPolicy, WriteOptions, WriteResult } from './objects';
import { DEFAULT_LIMITS, InflightLimit, WatchBudget, type ServerLimits } from './limits';
import { booleanParam, integerParam, integerValue, resourceVersionParam } from './query';
import { parseRequestTarget, parseRoute, ResourceTarget, Route, isPublic, type RequestTarget } from './routes';
import { parseIncludeObject, toTable } from './tables';
import { VersionView } from './conversion';
import { BOOKMARK_INTERVAL_RANGE_S, WatchRegistry, type WatchEventType } from './watch';

/** Kubernetes' limit on request bodies. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** How much of an oversized body is read and discarded before the connection is given up. */
const MAX_DRAIN_BYTES = 8 * MAX_BODY_BYTES;
const TABLE_VERSIONS = ['v1', 'v1beta1'];
/**
 * Watch events of one stored change share their decoded object (see watch-cache.ts), so the JSON line is
 * serialized once for all the plain-JSON watches that send it.
 */
const serializedEvents = new WeakMap<KubeObject, Map<string, string>>();

function watchEventLine(type: WatchEventType, object: KubeObject): string {
  let byType = serializedEvents.get(object);
  if (!byType) serializedEvents.set(object, (byType = new Map()));
  let line = byType.get(type);
  if (line === undefined) byType.set(type, (line = `${JSON.stringify({ type, object })}\n`));
  return line;
}

const SERVED_SUBRESOURCES: Subresource[] = ['status', 'scale', 'binding', 'log', 'exec', 'eviction', 'token', 'top'];
const FIELD_VALIDATIONS: FieldValidation[] = ['Strict', 'Warn', 'Ignore'];

interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: RequestTarget;
  accept: MediaRange[];
  /** For metrics: the Kubernetes verb and resource. */
  verb: string;
  resource: string;
  isWatch: boolean;
  /** Who sent the request; unset on public paths. */
  user?: UserInfo;
  /** What the request asks to do, as authorization read it (its verb, its field selector); unset on public paths. */
  attributes?: RequestAttributes;
  /** The check the request's writes go through before they are stored (NodeRestriction for nodes). */
  admission?: Admission;
}

export interface HandlerDeps {
  store: Store;
  objects: ObjectService;
  watches: WatchRegistry;
  metrics: ApiMetrics;
  logger: Logger;
  adminToken: string;
  /** pods/log, pods/exec, pods/attach and metrics.k8s.io, served by the nodes through their tunnels. */
  nodes?: NodeProxy;
  /** The join token's secret: a bearer token that only lets a host ask for its node certificate. */
  nodeSecret?: string;
  /** Signs joining nodes' certificates; without it the server has no join endpoint. */
  nodeCertificates?: NodeCertificates;
  /** Who may do what: the admin everything, nodes their own (container.ts: NodeAuthorizer over the objects). */
  authorizer: Authorizer;
  /** Served unauthenticated at /cacerts: a joining host checks it against its token's hash. */
  caCertPem?: string;
  /** In-flight and watch limits; Kubernetes' and berth's defaults when absent. */
  limits?: ServerLimits;
  /** serviceaccounts/token; absent when the server has no key to sign tokens with. */
  tokens?: ServiceAccountTokens;
  /** The cluster registry, whose garbage collection the admin runs on demand; absent when the server runs none. */
  registry?: ClusterRegistryControl;
}

/** Subresources Kubernetes serves as long-running requests, outside the in-flight limits. */
const LONG_RUNNING_SUBRESOURCES = ['log', 'exec', 'attach', 'portforward'];

/**
 * Kubernetes' long-running requests, which the in-flight limits do not count: watches (verb watch, a
 * collection GET with watch=1: the parameter on a write or a get of one object makes no watch) and the
 * subresources that stream.
 */
function isLongRunning(attributes: RequestAttributes): boolean {
  if (!('resource' in attributes)) return false;
  const { verb, subresource } = attributes.resource;
  return verb === 'watch' || (subresource !== undefined && LONG_RUNNING_SUBRESOURCES.includes(subresource));
}

/** A list's, watch's or deletecollection's limit and resourceVersion are checked as Kubernetes does, though berth answers a list whole (no continue tokens). */
function checkListOptions(q: URLSearchParams): void {
  integerParam(q, 'limit', { min: 0 });
  resourceVersionParam(q);
}

/**
 * Whom the per-client watch limits count a request against: its address. (Credentials would be finer, but
 * every in-process component and the admin's kubectl share the admin's.)
 */
function clientOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'an unknown address';
}

const PROPAGATION_POLICIES: PropagationPolicy[] = ['Orphan', 'Background', 'Foreground'];

/**
 * DeleteOptions' propagationPolicy, from the body or the query; the legacy orphanDependents=true means
 * Orphan. Absent means the kind's default (Background here).
 */
function propagationPolicyOf(body: unknown, q: URLSearchParams): PropagationPolicy | undefined {
  const options = body && typeof body === 'object' ? (body as { propagationPolicy?: unknown; orphanDependents?: unknown }) : {};
  const policy = options.propagationPolicy ?? (q.get('propagationPolicy') || undefined);
  if (policy !== undefined && !PROPAGATION_POLICIES.includes(policy as PropagationPolicy)) {
    throw errors.badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Orphan", "Background", "Foreground"`);
  }
  if (policy === undefined && (options.orphanDependents === true || q.get('orphanDependents') === 'true')) return 'Orphan';
  return policy as PropagationPolicy | undefined;
}

/** DeleteOptions' gracePeriodSeconds, from the body or the query; absent means the object's own. Negative means 1, as in Kubernetes. */
function gracePeriodOf(body: unknown, q: URLSearchParams): number | undefined {
  const range = { min: -Number.MAX_SAFE_INTEGER };
  const given = body && typeof body === 'object' ? (body as { gracePeriodSeconds?: unknown }).gracePeriodSeconds : undefined;
  if (given !== undefined && given !== null) return integerValue('gracePeriodSeconds', given, range);
  return integerParam(q, 'gracePeriodSeconds', range);
}

/** A resource request's attributes, which handle() set before dispatching it. */
function resourceAttributesOf(ctx: RequestContext): ResourceAttributes {
  if (ctx.attributes && 'resource' in ctx.attributes) return ctx.attributes.resource;
  throw errors.internal('a resource request was dispatched without its attributes');
}

function notFoundPath(): BerthError {
  return new BerthError('NotFound', 'the server could not find the requested resource');
}

/** The HTTP edge of the API: authentication, routing, body decoding, responses and Status errors. */
export class ApiHandler {
  private readonly authenticator: Authenticator;
  private readonly readOnlyInflight: InflightLimit;
  private readonly mutatingInflight: InflightLimit;
  private readonly watchBudget: WatchBudget;
  private readonly evictions: Evictions;

  constructor(private readonly deps: HandlerDeps) {
    this.evictions = new Evictions(deps.objects);
    this.authenticator = new Authenticator({ adminToken: deps.adminToken, joinSecret: deps.nodeSecret });
    const limits = deps.limits ?? DEFAULT_LIMITS;
    this.readOnlyInflight = new InflightLimit(limits.maxRequestsInflight, 'read-only');
    this.mutatingInflight = new InflightLimit(limits.maxMutatingRequestsInflight, 'mutating');
    this.watchBudget = new WatchBudget(limits);
  }

  /**
   * The request listener for node's https server; never throws: everything that reads the request runs in
   * handle(), whose every failure becomes a Status.
   */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const ctx: RequestContext = {
      req,
      res,
      url: UNPARSED_URL,
      accept: [],
      verb: (req.method ?? 'GET').toLowerCase(),
      resource: '',
      isWatch: false,
    };
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.deps.metrics.observe(ctx.verb, ctx.resource, res.statusCode, ctx.isWatch ? undefined : seconds);
      this.deps.logger.debug({ method: req.method, url: req.url, code: res.statusCode, seconds }, 'request');
    });
    this.handle(ctx).catch((err) => this.fail(ctx, err));
  };

  private async handle(ctx: RequestContext): Promise<void> {
    ctx.url = parseRequestTarget(ctx.req.url);
    ctx.accept = parseAccept(ctx.req.headers.accept);
    const route = parseRoute(ctx.url.pathname);
    if (!isPublic(route)) Object.assign(ctx, await this.authenticate(ctx.req, ctx.url, route));
    // Kubernetes' order: authentication, the in-flight limits, then authorization, whose node rules read the
    // store (a pod, a namespace's pods): that work is bounded too, and a request denied during overload is a 429.
    const release = this.admit(ctx);
    try {
      if (ctx.user && ctx.attributes) ctx.admission = await this.authorize(ctx.user, ctx.attributes);
      const method = ctx.req.method;
      const postOnly = route.kind === 'nodeCertificate' || route.kind === 'registryGc';
      if (postOnly ? method !== 'POST' : route.kind !== 'resource' && method !== 'GET' && method !== 'HEAD') {
        throw errors.methodNotAllowed(`the server does not allow this method on the requested resource`);
      }
      await this.dispatch(ctx, route);
    } finally {
      release?.();
    }
  }

  /** Counts a request against the in-flight limits (Kubernetes' maxinflight filter); public paths (health checks) and long-running requests are not counted. */
  private admit(ctx: RequestContext): (() => void) | undefined {
    if (!ctx.attributes || isLongRunning(ctx.attributes)) return undefined;
    const readOnly = ctx.req.method === 'GET' || ctx.req.method === 'HEAD';
    return (readOnly ? this.readOnlyInflight : this.mutatingInflight).admit();
  }

  /** Who sent the request (or 401), and what it asks to do, which the in-flight limits and authorization go by. */
  private async authenticate(req: IncomingMessage, url: RequestTarget, route: Route, upgrade = false): Promise<{ user: UserInfo; attributes: RequestAttributes }> {
    const attributes = requestAttributes(req.method ?? 'GET', route, url, upgrade);
    try {
      return { user: this.authenticator.authenticate(req), attributes };
    } catch (err) {
      // Not a certificate or a token of the cluster's own: perhaps a service account's token.
      const token = bearerToken(req.headers.authorization);
      const user = token !== undefined ? await this.deps.tokens?.authenticate(token) : undefined;
      if (!user) throw err;
      return { user, attributes };
    }
  }

  /**
   * Authorization and the admission check of the request's writes: the one place that decides who may do
   * what, before anything is read or decoded for the request.
   */
  private async authorize(user: UserInfo, attributes: RequestAttributes): Promise<Admission | undefined> {
    await this.deps.authorizer.authorize(user, attributes);
    return this.deps.authorizer.admission(user, attributes);
  }

  private async dispatch(ctx: RequestContext, route: Route): Promise<void> {
    switch (route.kind) {
      case 'health':
        return this.send(ctx, 200, 'ok', 'text/plain; charset=utf-8');
      case 'version':
        return this.sendJson(ctx, 200, {
          ...KUBERNETES_VERSION,
          gitCommit: '',
          gitTreeState: 'clean',
          buildDate: '1970-01-01T00:00:00Z',
          goVersion: 'n/a',
          compiler: 'berth',
          platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
        });
      case 'cacerts':
        if (!this.deps.caCertPem) throw notFoundPath();
        return this.send(ctx, 200, this.deps.caCertPem, PEM_MEDIA_TYPE);
      case 'nodeCertificate': {
        if (!this.deps.nodeCertificates || !ctx.user) throw notFoundPath();
        const certificate = await this.deps.nodeCertificates.sign(ctx.user, await this.readBody(ctx.req));
        return this.send(ctx, 200, certificate, PEM_MEDIA_TYPE);
      }
      case 'registryGc': {
        if (!this.deps.registry) throw new BerthError('NotFound', 'this server runs no registry (--registry-port 0)');
        const q = ctx.url.searchParams;
        const result = await this.deps.registry.collectGarbage({ dryRun: booleanParam(q, 'dryRun'), deleteUntagged: booleanParam(q, 'deleteUntagged') });
        return this.sendJson(ctx, 200, result);
      }
      case 'metrics': {
        const registry = this.deps.metrics.registry;
        return this.send(ctx, 200, await registry.metrics(), registry.contentType);
      }
      case 'coreDiscovery':
      case 'groupsDiscovery': {
        const core = route.kind === 'coreDiscovery';
        const version = acceptsAs(ctx.accept, 'APIGroupDiscoveryList', 'apidiscovery.k8s.io', AGGREGATED_DISCOVERY_VERSIONS);
        if (version) return this.sendJson(ctx, 200, aggregatedDiscovery(core, version), aggregatedContentType(version));
        return this.sendJson(ctx, 200, core ? apiVersions(ctx.req.headers.host ?? '') : apiGroupList());
      }
      case 'groupDiscovery': {
        const group = findGroup(route.group);
        if (!group) throw notFoundPath();
        return this.sendJson(ctx, 200, group);
      }
      case 'groupVersionDiscovery':
      case 'openapiDocument':
        if (!findGroupVersion(route.group, route.version)) throw notFoundPath();
        return this.sendJson(
          ctx,
          200,
          route.kind === 'openapiDocument' ? openApiDocument(route.group, route.version) : apiResourceList(route.group, route.version),
        );
      case 'openapiIndex':
        return this.sendJson(ctx, 200, openApiIndex());
      case 'openapiV2':
        if (ctx.accept.some((range) => range.type === OPENAPI_V2_PROTOBUF)) return this.send(ctx, 200, openApiV2Protobuf(), OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
        return this.sendJson(ctx, 200, openApiV2Document());
      case 'resource':
        return this.resource(ctx, route.target);
      case 'unknown': {
        const metrics = await this.deps.nodes?.metrics(ctx.url.pathname, ctx.url.searchParams);
        if (metrics === undefined) throw notFoundPath();
        return this.sendJson(ctx, 200, metrics);
      }
    }
  }

  private async resource(ctx: RequestContext, target: ResourceTarget): Promise<void> {
    const { namespace, name, subresource } = target;
    // A version served by conversion is read and written as the version it is stored in.
    const view = VersionView.of(target.type);
    const type = view.stored;
    const { objects } = this.deps;
    const method = ctx.req.method ?? 'GET';
    const q = ctx.url.searchParams;
    ctx.resource = subresource ? `${type.plural}/${subresource}` : type.plural;
    if (subresource && !this.serves(target)) throw notFoundPath();
    const attributes = resourceAttributesOf(ctx);

    if (name === undefined) {
      if (type.namespaced && namespace === undefined && method !== 'GET') {
        throw errors.methodNotAllowed(`${method} is only supported on the ${type.plural} of one namespace`);
      }
      switch (method) {
        case 'GET': {
          const filter = attributes.filter.withLabels(q.get('labelSelector'));
          checkListOptions(q);
          if (attributes.verb === 'watch') return this.watch(ctx, { ...target, type }, filter, view);
          ctx.verb = 'list';
          const list = await objects.list(type, namespace, filter);
          return this.sendObject(ctx, type, view.list(list), list.items, list.metadata.resourceVersion);
        }
        case 'POST': {
          ctx.verb = 'create';
          const body = view.incoming(await this.readObjectBody(ctx));
          const result = await objects.create(type, namespace, body, this.writeOptions(ctx));
          return this.sendWrite(ctx, 201, view.write(result));
        }
        case 'DELETE': {
          ctx.verb = 'deletecollection';
          if (!type.verbs.includes('deletecollection')) throw errors.methodNotAllowed(`the server does not allow this method on the collection of ${type.plural}`);
          const filter = attributes.filter.withLabels(q.get('labelSelector'));
          checkListOptions(q);
          const body = await this.readOptionalBody(ctx);
          const options = { dryRun: this.dryRun(q), propagationPolicy: propagationPolicyOf(body, q), gracePeriodSeconds: gracePeriodOf(body, q) };
          return this.sendJson(ctx, 200, view.list(await objects.deleteCollection(type, namespace, filter, options)));
        }
        default:
          throw errors.methodNotAllowed(`${method} is not supported on the collection of ${type.plural}`);
      }
    }

    if (subresource === 'scale') return this.scale(ctx, target, name);
    if (subresource === 'eviction' || subresource === 'token') return this.createSubresource(ctx, target, name);
    if (subresource === 'log' || subresource === 'exec' || subresource === 'top') return this.fromNode(ctx, target, name);
    if (subresource && objects.acceptsSubresourceWrite(type, subresource)) {
      if (method !== 'POST') throw errors.methodNotAllowed(`${method} is not supported on ${type.plural}/${subresource}`);
      ctx.verb = 'create';
      const body = await this.readObjectBody(ctx);
      await objects.writeSubresource(type, namespace, name, subresource, body, this.writeOptions(ctx));
      return this.sendJson(ctx, 201, successStatus({ name, kind: type.plural, ...(type.group ? { group: type.group } : {}) }));
    }
    const status = subresource === 'status' ? 'status' : undefined;
    switch (method) {
      case 'GET': {
        ctx.verb = 'get';
        const obj = await objects.get(type, namespace, name);
        return this.sendObject(ctx, type, view.object(obj), [obj], obj.metadata.resourceVersion);
      }
      case 'PUT': {
        ctx.verb = 'update';
        const body = view.incoming(await this.readObjectBody(ctx));
        return this.sendWrite(ctx, 200, view.write(await objects.update(type, namespace, name, body, this.writeOptions(ctx), status)));
      }
      case 'PATCH': {
        ctx.verb = 'patch';
        const { patchType, patch } = await this.readPatchBody(ctx);
        const result = await objects.patch(type, namespace, name, patchType, patch, this.writeOptions(ctx), status, view);
        return this.sendWrite(ctx, result.created ? 201 : 200, view.write(result));
      }
      case 'DELETE': {
        if (status) throw errors.methodNotAllowed('DELETE is not supported on a status subresource');
        ctx.verb = 'delete';
        const body = await this.readOptionalBody(ctx);
        const given = body && typeof body === 'object' ? (body as { preconditions?: unknown }).preconditions : undefined;
        const preconditions = {
          ...(given && typeof given === 'object' ? (given as { uid?: string; resourceVersion?: string }) : {}),
        };
        preconditions.resourceVersion ??= q.get('resourceVersion') || undefined;
        const propagationPolicy = propagationPolicyOf(body, q);
        const gracePeriodSeconds = gracePeriodOf(body, q);
        const gone = await objects.delete(type, namespace, name, { dryRun: this.dryRun(q), preconditions, propagationPolicy, gracePeriodSeconds });
        if (!gone) return this.sendJson(ctx, 200, successStatus({ name, kind: type.plural, ...(type.group ? { group: type.group } : {}) }));
        return this.sendJson(ctx, 200, view.object(gone));
      }
      default:
        throw errors.methodNotAllowed(`${method} is not supported on ${type.plural}`);
    }
  }

  /**
   * pods/log streams from the pod's node, pods/top is the node's listing of a container's processes; exec is
   * served only as an upgrade (upgradeListener).
   */
  private async fromNode(ctx: RequestContext, target: ResourceTarget, name: string): Promise<void> {
    const nodes = this.deps.nodes;
    if (!nodes) throw errors.unavailable('this API server does not reach nodes');
    if (target.subresource === 'exec') throw errors.badRequest('Upgrade request required');
    if (ctx.req.method !== 'GET') throw errors.methodNotAllowed(`${ctx.req.method} is not supported on pods/${target.subresource}`);
    ctx.verb = 'get';
    const namespace = target.namespace ?? 'default';
    if (target.subresource === 'top') return this.sendJson(ctx, 200, await nodes.top(namespace, name, ctx.url.searchParams.get('container')));
    return nodes.serveLog(ctx.req, ctx.res, namespace, name, ctx.url.searchParams);
  }

  /** Upgrade requests (exec, attach, port-forward, the nodes' tunnels): authorized here, served by the node proxy. */
  readonly upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node takes its own error listener off an upgraded socket: an error nobody listens for ends the process.
    socket.on('error', () => socket.destroy());
    const authorized = (async () => {
      const url = parseRequestTarget(req.url);
      const route = parseRoute(url.pathname);
      const { user, attributes } = await this.authenticate(req, url, route, true);
      await this.authorize(user, attributes);
      return { url, route };
    })();
    authorized.then(
      ({ url, route }) => {
        if (!this.deps.nodes) return endWithStatus(socket, errors.badRequest(`${req.url ?? '/'} does not accept a protocol upgrade`));
        this.deps.nodes.upgrade(req, socket, head, url, route);
      },
      (err: unknown) => endWithStatus(socket, err),
    );
  };

  /** A request node's parser refused (bad syntax, headers too large, too slow) still gets a Status, not a bare 400. */
  readonly clientErrorListener = (err: NodeJS.ErrnoException, socket: Duplex): void => {
    endWithStatus(socket, errors.badRequest(`malformed HTTP request: ${err.code ?? err.message}`));
  };

  /** pods/NAME/eviction and serviceaccounts/NAME/token: a POST of an Eviction or a TokenRequest. */
  private async createSubresource(ctx: RequestContext, target: ResourceTarget, name: string): Promise<void> {
    const { type, subresource } = target;
    if (ctx.req.method !== 'POST') throw errors.methodNotAllowed(`${ctx.req.method} is not supported on ${type.plural}/${subresource}`);
    ctx.verb = 'create';
    const body = await this.readObjectBody(ctx);
    const namespace = target.namespace ?? 'default';
    if (subresource === 'eviction') {
      await this.evictions.evict(namespace, name, body, this.writeOptions(ctx));
      return this.sendJson(ctx, 201, successStatus(undefined, 201));
    }
    if (!this.deps.tokens) throw errors.unavailable('this API server issues no service account tokens');
    return this.sendJson(ctx, 201, await this.deps.tokens.request(namespace, name, body, this.dryRun(ctx.url.searchParams), ctx.admission));
  }

  /** Subresources this server answers itself or through the nodes. */
  private serves(target: ResourceTarget): boolean {
    const sub = SERVED_SUBRESOURCES.find((s) => s === target.subresource);
    return sub !== undefined && target.type.subresources.includes(sub);
  }

  private async scale(ctx: RequestContext, target: ResourceTarget, name: string): Promise<void> {
    const { type, namespace } = target;
    const { objects } = this.deps;
    switch (ctx.req.method) {
      case 'GET':
        ctx.verb = 'get';
        return this.sendJson(ctx, 200, await objects.getScale(type, namespace, name));
      case 'PUT': {
        ctx.verb = 'update';
        const body = await this.readObjectBody(ctx);
        return this.sendJson(ctx, 200, await objects.updateScale(type, namespace, name, body, this.writeOptions(ctx)));
      }
      case 'PATCH': {
        ctx.verb = 'patch';
        const { patchType, patch } = await this.readPatchBody(ctx);
        return this.sendJson(ctx, 200, await objects.updateScale(type, namespace, name, patch, this.writeOptions(ctx), patchType));
      }
      default:
        throw errors.methodNotAllowed(`${ctx.req.method} is not supported on ${type.plural}/scale`);
    }
  }

  private async watch(ctx: RequestContext, target: ResourceTarget, filter: ObjectFilter, view: VersionView): Promise<void> {
    ctx.verb = 'watch';
    ctx.isWatch = true;
    const q = ctx.url.searchParams;
    // Before the watch opens: bad parameters must not leave an open watch behind.
    const timeoutSeconds = integerParam(q, 'timeoutSeconds', { min: 0 });
    const resourceVersion = resourceVersionParam(q);
    const table = this.tableRequest(ctx);
    const allowBookmarks = booleanParam(q, 'allowWatchBookmarks');
    // berth's clients ask for frequent bookmarks to tell a cut-off server from a quiet one (see @berth/client's
    // BOOKMARK_INTERVAL_HEADER); kubectl sends no such header and gets Kubernetes' interval.
    const askedInterval = ctx.req.headers[BOOKMARK_INTERVAL_HEADER];
    const bookmarkIntervalS = allowBookmarks && typeof askedInterval === 'string' ? integerValue(BOOKMARK_INTERVAL_HEADER, askedInterval, BOOKMARK_INTERVAL_RANGE_S) : undefined;
    const account = this.watchBudget.open(clientOf(ctx.req));
    let opened: Awaited<ReturnType<WatchRegistry['watch']>>;
    try {
      opened = await this.deps.watches.watch({
        type: target.type,
        namespace: target.namespace,
        filter,
        resourceVersion,
        allowBookmarks,
        bookmarkIntervalMs: bookmarkIntervalS && bookmarkIntervalS * 1000,
        // 0 is "no timeout of my own", as in Kubernetes: the server's default.
        timeoutSeconds: timeoutSeconds || undefined,
      });
    } catch (err) {
      account.close();
      throw err;
    }
    const { watch, initial } = opened;
    const { res } = ctx;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      ...(bookmarkIntervalS ? { [BOOKMARK_INTERVAL_HEADER]: String(bookmarkIntervalS) } : {}),
    });
    res.flushHeaders();
    let withColumns = true;
    res.on('close', () => {
      watch.end();
      account.close();
    });
    res.on('drain', () => account.holds(res.writableLength));
    // A client gone while the watch opened had its close event already.
    if (res.destroyed) {
      watch.end();
      account.close();
    }
    watch.start(
      {
        event: (type, object) => {
          if (table && type !== 'BOOKMARK' && type !== 'ERROR') {
            const out = toTable(target.type, [object], object.metadata.resourceVersion, { ...table, withColumns });
            withColumns = false;
            res.write(`${JSON.stringify({ type, object: out })}\n`);
          } else {
            res.write(watchEventLine(type, type === 'BOOKMARK' || type === 'ERROR' ? object : view.object(object)));
          }
          // A client that stops reading would make us buffer without bound; it can relist and watch again.
          if (!account.holds(res.writableLength)) watch.end();
        },
        end: () => {
          account.close();
          res.end();
        },
      },
      initial,
    );
  }

  private writeOptions(ctx: RequestContext): WriteOptions {
    const q = ctx.url.searchParams;
    const validation = q.get('fieldValidation') || 'Warn';
    if (!FIELD_VALIDATIONS.includes(validation as FieldValidation)) {
      throw errors.badRequest(`fieldValidation: unsupported value "${validation}": supported values: "Ignore", "Strict", "Warn"`);
    }
    const manager = q.get('fieldManager') ?? this.managerFromUserAgent(ctx.req);
    if (manager.length > 128) throw errors.badRequest('fieldManager: must be at most 128 characters');
    const force = q.get('force');
    if (force !== null && force !== 'true' && force !== 'false') throw errors.badRequest(`force: invalid value "${force}"`);
    return {
      dryRun: this.dryRun(q),
      fieldManager: manager,
      fieldValidation: validation as FieldValidation,
      force: force === 'true',
      precondition: q.get('resourceVersion') || undefined,
      admit: ctx.admission,
    };
  }

  /** Kubernetes names an unnamed field manager after the client's user agent up to the first slash. */
  private managerFromUserAgent(req: IncomingMessage): string {
    const agent = req.headers['user-agent'] ?? '';
    return agent.split('/')[0].trim().slice(0, 128) || 'unknown';
  }

  private dryRun(q: URLSearchParams): boolean {
    const values = q.getAll('dryRun').filter((v) => v !== '');
    for (const v of values) if (v !== 'All') throw errors.badRequest(`dryRun: unsupported value "${v}": supported values: "All"`);
    return values.length > 0;
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_DRAIN_BYTES) {
      req.resume();
      throw errors.tooLarge(MAX_BODY_BYTES);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is still read to its end (up to a bound) so the client, still sending, gets
    // the 413 instead of a broken pipe.
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
        else if (size > MAX_DRAIN_BYTES) break;
      }
    } catch {
      // The client went away mid-body (a cut chunked body, a reset): its fault, and nobody is left to answer.
      throw errors.badRequest('the request body ended before it was complete');
    }
    if (size > MAX_BODY_BYTES) throw errors.tooLarge(MAX_BODY_BYTES);
    return Buffer.concat(chunks);
  }

  /** A POST/PUT body: JSON, YAML or Kubernetes protobuf. */
  private async readObjectBody(ctx: RequestContext): Promise<unknown> {
    const type = mediaType(ctx.req.headers['content-type']);
    if (type === '' || type === 'application/json' || type === '*/*') return decodeBody(await this.readBody(ctx.req), 'json');
    if (type === 'application/yaml') return decodeBody(await this.readBody(ctx.req), 'yaml');
    if (type === KUBERNETES_PROTOBUF) return decodeBody(await this.readBody(ctx.req), 'protobuf');
    throw errors.unsupportedMediaType(type);
  }

  /** DeleteOptions bodies are optional. */
  private async readOptionalBody(ctx: RequestContext): Promise<unknown> {
    const body = await this.readBody(ctx.req);
    if (body.length === 0) return undefined;
    const type = mediaType(ctx.req.headers['content-type']);
    return decodeBody(body, type === KUBERNETES_PROTOBUF ? 'protobuf' : type === 'application/yaml' ? 'yaml' : 'json');
  }

  private async readPatchBody(ctx: RequestContext): Promise<{ patchType: PatchType; patch: unknown }> {
    const type = mediaType(ctx.req.headers['content-type']);
    const patchType = PATCH_TYPES[type];
    if (!patchType) {
      throw new BerthError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`,
      );
    }
    const body = await this.readBody(ctx.req);
    return { patchType, patch: decodeBody(body, patchType === 'apply' ? 'yaml' : 'json') };
  }

  private tableRequest(ctx: RequestContext): { version: string; includeObject: ReturnType<typeof parseIncludeObject> } | undefined {
    const version = acceptsAs(ctx.accept, 'Table', 'meta.k8s.io', TABLE_VERSIONS);
    if (!version) return undefined;
    return { version, includeObject: parseIncludeObject(ctx.url.searchParams.get('includeObject')) };
  }

  /** An object or list, or its Table when the client asked for one. */
  private sendObject(ctx: RequestContext, type: ResourceType, body: object, objects: KubeObject[], resourceVersion: string | undefined): void {
    const table = this.tableRequest(ctx);
    this.sendJson(ctx, 200, table ? toTable(type, objects, resourceVersion, { ...table, withColumns: true }) : body);
  }

  private sendWrite(ctx: RequestContext, code: number, result: WriteResult): void {
    if (result.warnings.length) {
      ctx.res.setHeader('Warning', result.warnings.map((w) => `299 - ${JSON.stringify(w)}`));
    }
    this.sendJson(ctx, code, result.object);
  }

  private sendJson(ctx: RequestContext, code: number, body: unknown, contentType = 'application/json'): void {
    this.send(ctx, code, JSON.stringify(body), contentType);
  }

  private send(ctx: RequestContext, code: number, body: string | Buffer, contentType: string): void {
    const { res } = ctx;
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache, private' });
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }

  private fail(ctx: RequestContext, err: unknown): void {
    const status = statusFor(err);
    if (status.code >= 500) this.deps.logger.error({ err, method: ctx.req.method, url: ctx.req.url }, 'request failed');
    if (ctx.res.headersSent || ctx.res.destroyed) {
      ctx.res.destroy();
      return;
    }
    if (status.details?.retryAfterSeconds) ctx.res.setHeader('Retry-After', String(status.details.retryAfterSeconds));
    if (ctx.req.complete || ctx.req.destroyed) return this.sendJson(ctx, status.code, status);
    // A client whose body was not read to its end cannot reuse the connection. As Go's server does, read up
    // to MAX_DRAIN_BYTES of it first (bounded in time too): closing while the client still sends gives it a
    // broken pipe instead of the answer.
    ctx.res.setHeader('Connection', 'close');
    void drainBody(ctx.req, MAX_DRAIN_BYTES, DRAIN_TIMEOUT_MS).then(() => {
      if (!ctx.res.headersSent && !ctx.res.destroyed) this.sendJson(ctx, status.code, status);
    });
  }
}

/** How long a refused request's unread body is read before the answer goes out anyway. */
const DRAIN_TIMEOUT_MS = 5_000;

/** Reads and drops what is left of a request's body: until it ends, `limit` bytes, or `timeoutMs`. */
function drainBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    let read = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > limit) done();
    };
    const timer = setTimeout(done, timeoutMs);
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}

/** Stands in for a request's URL until handle() has parsed it (a request target can be malformed). */
const UNPARSED_URL = parseRequestTarget('/');

/** Every request body goes through the depth-limited, prototype-safe decoders of @berth/api. */
function decodeBody(body: Buffer, format: 'json' | 'yaml' | 'protobuf'): unknown {
  if (body.length === 0) throw errors.badRequest('the request body is empty');
  if (format === 'protobuf') return decodeKubernetesProtobuf(body);
  const text = body.toString('utf8');
  return format === 'yaml' ? decodeYaml(text) : decodeJson(text);
}
