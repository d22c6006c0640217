import { apiVersionOf, KubeList, KubeObject, ListMeta, ResourceType, TableColumn } from '@berth/api';
import { BerthError } from '@berth/errors';
import type { IncomingMessage } from 'node:http';
import type { ClusterConnection } from './kubeconfig';
import type { Status } from './status';
import { ClientCredentials, HttpRequest, HttpResponse, QueryValue, Transport, TransportOptions } from './transport';
import { BOOKMARK_INTERVAL_HEADER, MISSED_BOOKMARKS, REQUESTED_BOOKMARK_INTERVAL_S, Watch, type WatchLiveness } from './watch';

/** meta.k8s.io/v1 Table, as the server renders `kubectl get` output. */
export interface TableRow {
  cells: unknown[];
  /** PartialObjectMetadata (or the full object, with includeObject=Object). */
  object?: KubeObject;
}

export interface Table {
  apiVersion: string;
  kind: 'Table';
  metadata: ListMeta;
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface NamespaceOption {
  /** For namespaced types; the object's own namespace, then `default`, when omitted. */
  namespace?: string;
}

export interface ListOptions {
  /** For namespaced types: one namespace; every namespace when omitted. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** Pages: at most `limit` items, the rest from `metadata.continue` passed back as `continue`. */
  limit?: number;
  continue?: string;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface WriteOptions extends NamespaceOption {
  fieldManager?: string;
  dryRun?: boolean;
}

export interface PatchOptions extends WriteOptions {
  type: PatchType;
  /** Server-side apply only: take ownership of fields other managers own. */
  force?: boolean;
  subresource?: string;
}

export interface DeleteOptions extends NamespaceOption {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  /** The server checks the deletion and deletes nothing (`?dryRun=All`). */
  dryRun?: boolean;
}

export interface TableOptions extends ListOptions {
  /** Renders one object instead of a list. */
  name?: string;
  /** What each row's `object` holds: the server's default (metadata), or the whole object (`--sort-by`). */
  includeObject?: 'None' | 'Metadata' | 'Object';
}

/** `/api/v1` or `/apis/apps/v1`. */
export function groupVersionPath(type: ResourceType): string {
  return type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
}

/** The REST path of a collection, an object or one of its subresources. */
export function resourcePath(type: ResourceType, ref: { namespace?: string; name?: string; subresource?: string } = {}): string {
  let path = groupVersionPath(type);
  if (type.namespaced && ref.namespace) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${type.plural}`;
  if (ref.name !== undefined) path += `/${encodeURIComponent(ref.name)}`;
  if (ref.subresource) path += `/${ref.subresource}`;
  return path;
}

/**
 * A Kubernetes API client for any registered resource type, over the connection a kubeconfig describes.
 * Every failure is a BerthError; those the server reports are StatusErrors with its reason and message.
 */
export class KubeClient {
  private readonly transport: Transport;

  constructor(connection: ClusterConnection, options: TransportOptions = {}) {
    this.transport = new Transport(connection, options);
  }

  get server(): string {
    return this.transport.server;
  }

  /** Every server this client may use (see Transport), the one in use among them. */
  get servers(): string[] {
    return this.transport.serverList;
  }

  /** The servers to move between from now on; the one in use stays in use (see Transport.setServers). */
  setServers(servers: string[]): void {
    this.transport.setServers(servers);
  }

  /** `server` stopped answering on a connection that stayed open: later requests go to the next server (see Transport.reportUnreachable). */
  reportUnreachable(server: string): void {
    this.transport.reportUnreachable(server);
  }

  /** The connection requests are sent with, carrying the latest credentials. */
  get connection(): ClusterConnection {
    return this.transport.connection;
  }

  /**
   * Sends every later request with these credentials (a renewed node certificate), without cutting short
   * the watches and requests in flight: they end over the connections they were sent on.
   */
  updateCredentials(credentials: ClientCredentials): void {
    this.transport.updateCredentials(credentials);
  }

  async get<T extends KubeObject = KubeObject>(type: ResourceType, name: string, opts: NamespaceOption = {}): Promise<T> {
    return this.json<T>({ method: 'GET', path: this.objectPath(type, name, opts.namespace) }, type);
  }

  async list<T extends KubeObject = KubeObject>(type: ResourceType, opts: ListOptions = {}): Promise<KubeList<T>> {
    const list = await this.json<KubeList<T>>({ method: 'GET', path: resourcePath(type, { namespace: opts.namespace }), query: listQuery(opts) });
    list.items = (list.items ?? []).map((item) => withTypeMeta(type, item));
    return list;
  }

  async create<T extends KubeObject>(type: ResourceType, obj: T, opts: WriteOptions = {}): Promise<T> {
    const namespace = this.namespaceOf(type, obj, opts.namespace);
    return this.json<T>(
      { method: 'POST', path: resourcePath(type, { namespace }), query: writeQuery(opts), body: withTypeMeta(type, obj) },
      type,
    );
  }

  async update<T extends KubeObject>(type: ResourceType, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.replace(type, obj, undefined, opts);
  }

  async updateStatus<T extends KubeObject>(type: ResourceType, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.replace(type, obj, 'status', opts);
  }

  async patch<T extends KubeObject = KubeObject>(type: ResourceType, name: string, patch: unknown, opts: PatchOptions): Promise<T> {
    if (opts.type === 'apply' && !opts.fieldManager) {
      throw new BerthError('BadRequest', 'fieldManager is required for apply patch');
    }
    return this.json<T>(
      {
        method: 'PATCH',
        path: resourcePath(type, { namespace: this.namespaceFor(type, opts.namespace), name, subresource: opts.subresource }),
        query: { ...writeQuery(opts), force: opts.type === 'apply' && opts.force !== undefined ? opts.force : undefined },
        body: patch,
        contentType: PATCH_CONTENT_TYPES[opts.type],
      },
      opts.subresource ? undefined : type,
    );
  }

  /** Server-side apply of a whole manifest (an apply patch named after the object). */
  async apply<T extends KubeObject>(type: ResourceType, obj: T, opts: Omit<PatchOptions, 'type'> & { fieldManager: string }): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new BerthError('Invalid', `${type.kind}: metadata.name: Required value`);
    const namespace = this.namespaceOf(type, obj, opts.namespace);
    const body = type.namespaced ? { ...withTypeMeta(type, obj), metadata: { ...obj.metadata, namespace } } : withTypeMeta(type, obj);
    return this.patch<T>(type, name, body, { ...opts, namespace, type: 'apply' });
  }

  /** Answers the deleted object (or the object marked for deletion), or a Success Status. */
  async delete(type: ResourceType, name: string, opts: DeleteOptions = {}): Promise<KubeObject | Status> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    const query = opts.dryRun ? { dryRun: 'All' } : undefined;
    return this.json<KubeObject | Status>({ method: 'DELETE', path: this.objectPath(type, name, opts.namespace), query, body });
  }

  /** Deletes every object a list with these options would return (one namespace, or all when omitted). */
  async deleteCollection(type: ResourceType, opts: Omit<ListOptions, 'resourceVersion' | 'limit' | 'continue'> & Omit<DeleteOptions, 'namespace'> = {}): Promise<Status | KubeList> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    return this.json<Status | KubeList>({
      method: 'DELETE',
      path: resourcePath(type, { namespace: opts.namespace }),
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
      body,
    });
  }

  /** Streams changes after `resourceVersion` (from the list's metadata, or the current state when omitted). */
  async watch<T extends KubeObject = KubeObject>(type: ResourceType, opts: WatchOptions = {}): Promise<Watch<T>> {
    const { response, abort, liveness } = await this.openWatch({ method: 'GET', path: resourcePath(type, { namespace: opts.namespace }), query: watchQuery(opts) }, opts);
    return new Watch<T>(response, abort, (object) => withTypeMeta(type, object), liveness);
  }

  /** The server-rendered table of a list (or, with `name`, of one object). */
  async getTable(type: ResourceType, opts: TableOptions = {}): Promise<Table> {
    const path = opts.name !== undefined ? this.objectPath(type, opts.name, opts.namespace) : resourcePath(type, { namespace: opts.namespace });
    const query = { ...(opts.name !== undefined ? {} : listQuery(opts)), includeObject: opts.includeObject };
    const table = await this.json<Table>({ method: 'GET', path, query, accept: TABLE_ACCEPT });
    return expectTable(table);
  }

  /** A watch whose events carry one-row Tables, as `kubectl get -w` prints them. */
  async watchTable(type: ResourceType, opts: WatchOptions = {}): Promise<Watch<Table>> {
    const { response, abort, liveness } = await this.openWatch(
      { method: 'GET', path: resourcePath(type, { namespace: opts.namespace }), query: watchQuery(opts), accept: TABLE_ACCEPT },
      opts,
    );
    return new Watch<Table>(response, abort, expectTable, liveness);
  }

  /**
   * Opens a watch stream. With bookmarks allowed, it asks the server for one every few seconds (see
   * BOOKMARK_INTERVAL_HEADER); a server that says it will send them and then stays silent for MISSED_BOOKMARKS
   * intervals is taken for cut off: the watch ends with ServiceUnavailable and the server is reported
   * unreachable, so the watch that follows (from the last resourceVersion) goes to the next server. A server
   * that does not answer the header (Kubernetes itself) gets no bound: its bookmarks come when they come.
   */
  private async openWatch(req: HttpRequest, opts: WatchOptions): Promise<{ response: IncomingMessage; abort: () => void; liveness?: WatchLiveness }> {
    const headers = opts.allowWatchBookmarks ? { [BOOKMARK_INTERVAL_HEADER]: String(REQUESTED_BOOKMARK_INTERVAL_S) } : undefined;
    const { response, abort, server } = await this.transport.stream({ ...req, headers });
    const promised = Number(response.headers[BOOKMARK_INTERVAL_HEADER]);
    if (!headers || !Number.isSafeInteger(promised) || promised <= 0) return { response, abort };
    return { response, abort, liveness: { silenceMs: MISSED_BOOKMARKS * promised * 1000, onSilence: () => this.transport.reportUnreachable(server) } };
  }

  /** Any other request (discovery, /version, subresources): the answer's body, parsed as JSON when it is JSON. */
  async request<T = unknown>(req: HttpRequest): Promise<T> {
    return parseBody<T>(await this.transport.request(req));
  }

  /** Releases idle connections; the client must not be used afterwards. */
  close(): void {
    this.transport.close();
  }

  private async replace<T extends KubeObject>(type: ResourceType, obj: T, subresource: string | undefined, opts: WriteOptions): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new BerthError('Invalid', `${type.kind}: metadata.name: Required value`);
    const namespace = this.namespaceOf(type, obj, opts.namespace);
    return this.json<T>(
      { method: 'PUT', path: resourcePath(type, { namespace, name, subresource }), query: writeQuery(opts), body: withTypeMeta(type, obj) },
      type,
    );
  }

  private async json<T>(req: HttpRequest, type?: ResourceType): Promise<T> {
    const body = parseBody<T>(await this.transport.request(req));
    if (typeof body !== 'object' || body === null) {
      throw new BerthError('InternalError', `the server answered ${req.method} ${req.path} with a body that is not a JSON object`);
    }
    return type ? (withTypeMeta(type, body as unknown as KubeObject) as unknown as T) : body;
  }

  private objectPath(type: ResourceType, name: string, namespace: string | undefined): string {
    return resourcePath(type, { namespace: this.namespaceFor(type, namespace), name });
  }

  private namespaceFor(type: ResourceType, namespace: string | undefined): string | undefined {
    return type.namespaced ? namespace || 'default' : undefined;
  }

  private namespaceOf(type: ResourceType, obj: KubeObject, namespace: string | undefined): string | undefined {
    return this.namespaceFor(type, namespace || obj.metadata?.namespace);
  }
}

function listQuery(opts: ListOptions): Record<string, QueryValue> {
  return {
    labelSelector: opts.labelSelector,
    fieldSelector: opts.fieldSelector,
    resourceVersion: opts.resourceVersion,
    limit: opts.limit,
    continue: opts.continue,
  };
}

function watchQuery(opts: WatchOptions): Record<string, QueryValue> {
  return {
    ...listQuery(opts),
    watch: 1,
    allowWatchBookmarks: opts.allowWatchBookmarks,
    timeoutSeconds: opts.timeoutSeconds,
  };
}

function writeQuery(opts: WriteOptions): Record<string, QueryValue> {
  return { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined };
}

function parseBody<T>(res: HttpResponse): T {
  const contentType = String(res.headers['content-type'] ?? '');
  const looksLikeJson = /json|yaml/.test(contentType) || /^\s*[[{]/.test(res.body);
  if (res.body === '' || !looksLikeJson) return res.body as unknown as T;
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new BerthError('InternalError', `the server sent a body that is not valid JSON: ${res.body.slice(0, 200)}`);
  }
}

/** Lists and watch events may leave out apiVersion and kind; callers always get them. */
function withTypeMeta<T extends KubeObject>(type: ResourceType, obj: T): T {
  if (obj.apiVersion && obj.kind) return obj;
  return { ...obj, apiVersion: obj.apiVersion || apiVersionOf(type), kind: obj.kind || type.kind };
}

function expectTable(value: Table): Table {
  if (value?.kind !== 'Table' || (!Array.isArray(value.columnDefinitions) && !Array.isArray(value.rows))) {
    throw new BerthError('InternalError', `the server did not answer with a Table (got kind ${JSON.stringify(value?.kind)})`);
  }
  return { ...value, columnDefinitions: value.columnDefinitions ?? [], rows: value.rows ?? [] };
}
