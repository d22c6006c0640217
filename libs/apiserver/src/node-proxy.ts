import { resourceForKind, type Pod } from '@berth/api';
import { CHANNEL_PROTOCOLS, execOptionErrors, TUNNEL_REQUEST_PARAM, type ContainerRef, type ExecParams, type LogParams, type PodProcessList } from '@berth/client';
import { errors } from '@berth/errors';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { SpdySession } from '@berth/spdy';
import WebSocket, { createWebSocketStream, WebSocketServer } from 'ws';
import { endWithStatus } from './http-errors';
import { NodeMetricsApi, parseMetricsPath } from './node-metrics';
import { NodeTunnels, type NodeTunnelsOptions } from './node-tunnels';
import { parseContainerProcesses } from './pod-top';
import type { ObjectService } from './objects';
import { PORT_FORWARD_PROTOCOL, servePortForward, TUNNELED_PORT_FORWARD_PROTOCOL } from './port-forward';
import { booleanParam, integerParam } from './query';
import type { RequestTarget, ResourceTarget, Route } from './routes';
import { TUNNEL_RELAY_PARAM } from './tunnel-peers';

const POD_TYPE = resourceForKind('v1', 'Pod')!;
/** `nodes/{node}/tunnel`: a node's control socket, or with ?request= its dial-back for one request; the node's name, or undefined. */
function tunnelNode(target: ResourceTarget | undefined): string | undefined {
  return target?.type.plural === 'nodes' && target.type.group === '' && target.subresource === 'tunnel' ? target.name : undefined;
}

export interface NodeProxyDeps {
  objects: ObjectService;
  logger: Logger;
  tunnels?: NodeTunnelsOptions;
}

/** Unsent bytes one side of a spliced exec or attach may have before the other side is paused. */
const SPLICE_HIGH_WATER_BYTES = 256 * 1024;
/**
 * The largest WebSocket message taken from a client or a node (ws allows 100 MiB by default). Streams come
 * in chunks of at most 64 KiB and a node's stats report is far smaller; a larger message closes its socket.
 */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Go's %s of a string slice: `[a b]`. */
const goList = (names: string[]) => `[${names.join(' ')}]`;

/** The container a request is about: the one named, else the pod's only one (as the apiserver picks it). */
export function containerOf(pod: Pod, requested: string | null): string {
  const name = pod.metadata.name!;
  const app = (pod.spec?.containers ?? []).map((c) => c.name);
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  if (requested) {
    if (!app.includes(requested) && !init.includes(requested)) throw errors.badRequest(`container "${requested}" is not valid for pod "${name}"`);
    return requested;
  }
  if (app.length === 1) return app[0]!;
  if (app.length === 0) throw errors.badRequest(`a container name must be specified for pod ${name}`);
  const initPart = init.length ? ` or one of the init containers: ${goList(init)}` : '';
  throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: ${goList(app)}${initPart}`);
}

/**
 * berth's exec options (`env`, `workingDir`, `user`), which kubectl never sends: only absent ones leave
 * the request as kubectl's. Bounded and checked here; a bad one, or one on attach, is a 400.
 */
export function execOptions(kind: 'exec' | 'attach', q: URLSearchParams): Pick<ExecParams, 'env' | 'workingDir' | 'user'> {
  const env = q.getAll('env');
  const workingDir = q.get('workingDir') ?? undefined;
  const user = q.get('user') ?? undefined;
  const options = { ...(env.length ? { env } : {}), ...(workingDir !== undefined ? { workingDir } : {}), ...(user !== undefined ? { user } : {}) };
  if (!Object.keys(options).length) return {};
  if (kind !== 'exec') throw errors.badRequest('env, workingDir and user are options of exec, not of attach');
  const problems = execOptionErrors(options);
  if (problems.length) throw errors.badRequest(`invalid exec options: ${problems.join('; ')}`);
  return options;
}

/**
 * Joins a client's socket and a node's dial-back socket until either ends. A side that does not read
 * pauses the other (a client that stops reading a command's output stops the node sending it), so
 * nothing piles up here.
 */
export function splice(client: WebSocket, upstream: WebSocket): void {
  const forward = (from: WebSocket, to: WebSocket) => (data: Buffer, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return;
    if (to.bufferedAmount < SPLICE_HIGH_WATER_BYTES) return to.send(data, { binary: isBinary });
    from.pause();
    to.send(data, { binary: isBinary }, () => from.resume());
  };
  client.on('message', forward(client, upstream));
  upstream.on('message', forward(upstream, client));
  const closeFrom = (from: WebSocket, to: WebSocket) => (code: number) => {
    if (to.readyState === WebSocket.CLOSED || to.readyState === WebSocket.CLOSING) return;
    // 1005/1006 (no code, abnormal) cannot be sent on.
    to.close(code === 1000 ? 1000 : 1011);
    from.removeAllListeners('message');
  };
  client.on('close', closeFrom(client, upstream));
  upstream.on('close', closeFrom(upstream, client));
  client.on('error', () => upstream.terminate());
  upstream.on('error', () => client.terminate());
}

/**
 * The API's way to the nodes: pods/log, pods/exec, pods/attach and pods/portforward, and the metrics API,
 * served by the pod's node through its tunnel; and the tunnels' own endpoint.
 */
export class NodeProxy {
  readonly tunnels: NodeTunnels;
  private readonly metricsApi: NodeMetricsApi;
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    // One message per event-loop turn: after a tunnel's answer is awaited, the data behind it is not
    // emitted before the awaiting code has attached its listeners.
    allowSynchronousEvents: false,
    // Only exec and attach clients offer subprotocols; the tunnel's sockets offer none.
    handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  /** kubectl port-forward's WebSocket: a SPDY session tunnelled in binary messages. */
  private readonly portForwardWss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (offered) => (offered.has(TUNNELED_PORT_FORWARD_PROTOCOL) ? TUNNELED_PORT_FORWARD_PROTOCOL : false),
  });

  constructor(private readonly deps: NodeProxyDeps) {
    this.tunnels = new NodeTunnels(deps.logger.child({ component: 'node-tunnels' }), deps.tunnels);
    this.metricsApi = new NodeMetricsApi(deps.objects, this.tunnels, deps.logger.child({ component: 'node-metrics' }));
  }

  stop(): void {
    this.tunnels.stop();
    for (const server of [this.wss, this.portForwardWss]) {
      for (const ws of server.clients) ws.terminate();
      server.close();
    }
  }

  /**
   * An authorized upgrade request, at the target and route the caller parsed: a node's tunnel, or a client's
   * exec, attach or port-forward. The caller has given the socket its error listener. Never throws.
   */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, url: RequestTarget, route: Route): void => {
    this.routeUpgrade(req, socket, head, url, route).catch((err) => endWithStatus(socket, err));
  };

  private async routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: RequestTarget, route: Route): Promise<void> {
    const target = route.kind === 'resource' ? route.target : undefined;
    const tunnelOf = tunnelNode(target);
    if (tunnelOf !== undefined) {
      if (req.headers.upgrade?.toLowerCase() !== 'websocket') throw errors.badRequest('the node tunnel is a WebSocket');
      const request = url.searchParams.get(TUNNEL_REQUEST_PARAM);
      if (url.searchParams.has(TUNNEL_RELAY_PARAM)) return this.wss.handleUpgrade(req, socket, head, (ws) => this.tunnels.attachRelay(tunnelOf, ws, splice));
      return this.wss.handleUpgrade(req, socket, head, (ws) => (request ? this.tunnels.attachDialBack(tunnelOf, request, ws) : this.tunnels.attachControl(tunnelOf, ws)));
    }
    if (target?.type.plural === 'pods' && target.type.group === '' && target.name && target.subresource === 'portforward') {
      return this.upgradePortForward(req, socket, head, { ...target, name: target.name });
    }
    if (target?.type.plural !== 'pods' || target.type.group !== '' || !target.name || (target.subresource !== 'exec' && target.subresource !== 'attach')) {
      throw errors.badRequest(`${url.pathname} does not accept a protocol upgrade`);
    }
    const kind = target.subresource;
    const q = url.searchParams;
    const { ref, node } = await this.locate(target.namespace ?? 'default', target.name, q.get('container'));
    const params: ExecParams = {
      ...ref,
      command: q.getAll('command'),
      stdin: booleanParam(q, 'stdin'),
      stdout: booleanParam(q, 'stdout'),
      stderr: booleanParam(q, 'stderr'),
      tty: booleanParam(q, 'tty'),
      ...execOptions(kind, q),
    };
    if (kind === 'exec' && params.command.length === 0) throw errors.badRequest('you must specify at least 1 command');
    if (!params.stdin && !params.stdout && !params.stderr) throw errors.badRequest('you must specify at least one of stdin, stdout, stderr');
    // SPDY (kubectl's fallback) is not spoken here: the same checks, then the reason.
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') throw errors.badRequest(`${kind} is served over WebSocket (${CHANNEL_PROTOCOLS.join(', ')}), not ${req.headers.upgrade ?? 'plain HTTP'}`);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!CHANNEL_PROTOCOLS.some((p) => offered.includes(p))) throw errors.badRequest(`${kind} needs one of the subprotocols ${CHANNEL_PROTOCOLS.join(', ')}`);
    const upstream = await this.tunnels.open(node, kind, params);
    if (socket.destroyed) return void upstream.terminate();
    this.wss.handleUpgrade(req, socket, head, (client) => splice(client, upstream));
  }

  /**
   * `pods/{name}/portforward`: kubectl's WebSocket carrying SPDY (`SPDY/3.1+portforward.k8s.io`), or its
   * fallback, a plain `Upgrade: SPDY/3.1`; each forwarded connection is dialled through the node's tunnel.
   */
  private async upgradePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, target: ResourceTarget & { name: string }): Promise<void> {
    const namespace = target.namespace ?? 'default';
    const pod = (await this.deps.objects.get(POD_TYPE, namespace, target.name)) as Pod;
    const node = pod.spec?.nodeName;
    if (!node) throw errors.badRequest(`pod ${target.name} does not have a host assigned`);
    const ref = { namespace, pod: target.name, uid: pod.metadata.uid ?? '' };
    const logger = this.deps.logger.child({ component: 'port-forward', pod: `${namespace}/${target.name}` });
    const dial = (port: number) => this.tunnels.open(node, 'portforward', { ...ref, port });
    // kubectl's spdystream never opens flow-control windows; the transport's back-pressure is the limit.
    const start = (transport: Duplex) => servePortForward(new SpdySession(transport, { server: true, respectPeerWindow: false }), dial, logger);
    const upgrade = req.headers.upgrade?.toLowerCase();
    if (upgrade === 'websocket') {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(TUNNELED_PORT_FORWARD_PROTOCOL)) throw errors.badRequest(`port forwarding needs the subprotocol ${TUNNELED_PORT_FORWARD_PROTOCOL}`);
      return this.portForwardWss.handleUpgrade(req, socket, head, (ws) => start(createWebSocketStream(ws)));
    }
    const versions = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
    if (upgrade !== 'spdy/3.1' || !versions.includes(PORT_FORWARD_PROTOCOL)) {
      throw errors.badRequest(`port forwarding is served over WebSocket (${TUNNELED_PORT_FORWARD_PROTOCOL}) or SPDY/3.1 (${PORT_FORWARD_PROTOCOL})`);
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`);
    if (head.length) socket.unshift(head);
    start(socket);
  }

  /** `GET pods/{name}/log`: the node's log stream as text/plain, until it ends or the client goes. */
  async serveLog(req: IncomingMessage, res: ServerResponse, namespace: string, name: string, q: URLSearchParams): Promise<void> {
    const { ref, node } = await this.locate(namespace, name, q.get('container'));
    const sinceSeconds = integerParam(q, 'sinceSeconds', { min: 1 });
    const sinceTime = q.get('sinceTime');
    if (sinceSeconds !== undefined && sinceTime) throw errors.badRequest('at most one of sinceTime or sinceSeconds may be specified');
    if (sinceTime && Number.isNaN(Date.parse(sinceTime))) throw errors.badRequest(`sinceTime: Invalid value: ${JSON.stringify(sinceTime)}: must be RFC 3339`);
    const params: LogParams = {
      ...ref,
      follow: booleanParam(q, 'follow'),
      tailLines: integerParam(q, 'tailLines', { min: 0 }),
      timestamps: booleanParam(q, 'timestamps'),
      // Further back than the epoch is the whole log.
      sinceTime: sinceSeconds !== undefined ? new Date(Math.max(0, Date.now() - sinceSeconds * 1000)).toISOString() : sinceTime || undefined,
      previous: booleanParam(q, 'previous'),
      limitBytes: integerParam(q, 'limitBytes', { min: 1 }),
    };
    const upstream = await this.tunnels.open(node, 'log', params);
    if (req.destroyed || res.destroyed) return void upstream.terminate();
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    await new Promise<void>((resolve) => {
      upstream.on('message', (data: Buffer) => {
        if (res.write(data)) return;
        // A client reading slowly slows the node down instead of piling its log up here.
        upstream.pause();
        res.once('drain', () => upstream.resume());
      });
      upstream.once('close', () => {
        res.end();
        resolve();
      });
      // The client went away: the node stops reading (and following) the log.
      res.once('close', () => {
        upstream.terminate();
        resolve();
      });
    });
  }

  /**
   * `GET pods/{name}/top?container=C`: the processes of the pod's container as its node's host sees them
   * (docker top). A pod that has completed, is not bound, or has no such container is a BadRequest; a
   * container that is not running is the node's BadRequest.
   */
  async top(namespace: string, name: string, container: string | null): Promise<PodProcessList> {
    const { ref, node, pod } = await this.locate(namespace, name, container);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') throw errors.badRequest(`cannot list the processes of a container in a completed pod; current phase is ${phase}`);
    const listed = parseContainerProcesses(await this.tunnels.fetchMessage(node, 'top', ref), node);
    return { namespace, pod: name, container: ref.container, node, ...listed };
  }

  /** The metrics API's answer for `pathname`, or undefined when it is not one of its paths. */
  async metrics(pathname: string, q: URLSearchParams): Promise<unknown> {
    const path = parseMetricsPath(pathname);
    return path ? this.metricsApi.serve(path, q) : undefined;
  }

  /** The pod, the container the request is for, and the node that runs it. */
  private async locate(namespace: string, name: string, container: string | null): Promise<{ ref: ContainerRef; node: string; pod: Pod }> {
    const pod = (await this.deps.objects.get(POD_TYPE, namespace, name)) as Pod;
    const chosen = containerOf(pod, container);
    const node = pod.spec?.nodeName;
    if (!node) throw errors.badRequest(`pod ${name} does not have a host assigned`);
    return { ref: { namespace, pod: name, uid: pod.metadata.uid ?? '', container: chosen }, node, pod };
  }
}
