import type { Pod, Service } from '@berth/api';
import { openUpgrade, resourcePath } from '@berth/client';
import { BerthError } from '@berth/errors';
import { SpdySession, type SpdyStream } from '@berth/spdy';
import type { Command } from 'commander';
import { createServer, type Server, type Socket } from 'node:net';
import { builtinType, sameType } from '../kinds';
import type { Session } from '../session';
import { byLogging, DEPLOYMENT_TYPE, expectTypes, parseRef, POD_TYPE, REPLICASET_TYPE, resolvePod } from './workloads';

const SERVICE_TYPE = builtinType('services');
/**
 * kubectl's fallback, which berth's apiserver serves beside the WebSocket tunnel: a plain upgrade to
 * SPDY/3.1. (The tunnel's subprotocol `SPDY/3.1+portforward.k8s.io` is no RFC 6455 token, so the `ws`
 * client refuses to offer it.)
 */
const UPGRADE_HEADERS = { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' };

export interface PortForwardOptions {
  address: string;
}

/** `[LOCAL:]REMOTE` as kubectl reads it: `8080` is 8080:8080, `:80` and `0:80` pick a free local port. */
export interface PortSpec {
  local: number;
  /** A number, or a port name (resolved against the pod's containers or the Service's ports). */
  remote: string;
}

function portNumber(text: string, what: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > 65535) throw new BerthError('BadRequest', `${what} ${JSON.stringify(text)} is not a valid port`);
  return value;
}

export function parsePortSpec(spec: string): PortSpec {
  const parts = spec.split(':');
  if (parts.length > 2 || parts[parts.length - 1] === '') throw new BerthError('BadRequest', `invalid port format ${JSON.stringify(spec)}: want [LOCAL:]REMOTE`);
  const remote = parts[parts.length - 1]!;
  if (parts.length === 1) return { local: portNumber(remote, 'local port', 1), remote };
  return { local: parts[0] === '' ? 0 : portNumber(parts[0]!, 'local port', 0), remote };
}

/** A named port of the pod's containers, as kubectl looks it up. */
function containerPortNamed(pod: Pod, name: string): number {
  for (const container of pod.spec?.containers ?? []) {
    const port = (container.ports ?? []).find((p) => p.name === name);
    if (port) return port.containerPort;
  }
  throw new BerthError('BadRequest', `Pod '${pod.metadata.name}' does not have a named port '${name}'`);
}

function podPort(pod: Pod, remote: string): number {
  return /^\d+$/.test(remote) ? portNumber(remote, 'remote port', 1) : containerPortNamed(pod, remote);
}

/** A Service port (by number or name) becomes the pod port its targetPort names (kubectl's translation). */
export function servicePortToPodPort(service: Service, pod: Pod, remote: string): number {
  const port = (service.spec?.ports ?? []).find((p) => String(p.port) === remote || p.name === remote);
  if (!port) throw new BerthError('BadRequest', `Service ${service.metadata.name} does not have a service port ${remote}`);
  const target = port.targetPort ?? port.port;
  return typeof target === 'number' ? target : /^\d+$/.test(target) ? Number(target) : containerPortNamed(pod, target);
}

async function podOfService(session: Session, service: Service): Promise<Pod> {
  const selector = Object.entries(service.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  if (!selector) throw new BerthError('BadRequest', `service ${service.metadata.name} has no selector: its pods cannot be found`);
  const pods = byLogging((await session.client.list<Pod>(POD_TYPE, { namespace: session.namespace, labelSelector: selector })).items);
  if (pods.length === 0) throw new BerthError('NotFound', `no pods found for service "${service.metadata.name}" in namespace ${session.namespace}`);
  return pods[0]!;
}

/** The pod a target means and the pod port each spec's remote port becomes. */
async function resolveTarget(session: Session, target: string, specs: PortSpec[]): Promise<{ pod: Pod; ports: Array<{ local: number; remote: number }> }> {
  const ref = await parseRef(session, target);
  expectTypes(ref, [POD_TYPE, DEPLOYMENT_TYPE, REPLICASET_TYPE, SERVICE_TYPE], 'port-forward');
  if (sameType(ref.type, SERVICE_TYPE)) {
    const service = await session.client.get<Service>(SERVICE_TYPE, ref.name, { namespace: session.namespace });
    const pod = await podOfService(session, service);
    return { pod, ports: specs.map((s) => ({ local: s.local, remote: servicePortToPodPort(service, pod, s.remote) })) };
  }
  const pod = await resolvePod(session, target);
  return { pod, ports: specs.map((s) => ({ local: s.local, remote: podPort(pod, s.remote) })) };
}

function listen(address: string, port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Half-open: the local client finishing its request must not end the answer's way back.
    const server = createServer({ allowHalfOpen: true }, onConnection);
    server.once('error', (err) => reject(new BerthError('BadRequest', `unable to listen on ${address}:${port}: ${err.message}`)));
    server.listen(port, address, () => resolve(server));
  });
}

/**
 * One forwarded connection, as kubectl makes it: an error stream (closed for writing at once; whatever
 * the server writes on it is why the connection failed) and a data stream joined to the local socket.
 */
function forwardConnection(session: Session, spdy: SpdySession, socket: Socket, requestId: number, local: number, remote: number): void {
  const headers = { port: String(remote), requestid: String(requestId) };
  let error: SpdyStream;
  let data: SpdyStream;
  try {
    error = spdy.openStream({ streamtype: 'error', ...headers }, { fin: true });
    data = spdy.openStream({ streamtype: 'data', ...headers });
  } catch {
    return void socket.destroy();
  }
  let message = '';
  error.on('data', (chunk: Buffer) => (message += chunk.toString('utf8')));
  error.on('end', () => {
    if (!message) return;
    session.notice(`error: an error occurred forwarding ${local} -> ${remote}: ${message}`);
    socket.destroy();
  });
  error.on('error', () => undefined);
  socket.pipe(data);
  data.pipe(socket);
  socket.on('error', () => data.destroy());
  data.on('error', () => socket.destroy());
  data.on('close', () => !socket.writableEnded && socket.destroy());
  socket.on('close', () => data.destroy());
}

/**
 * `berth port-forward TARGET [LOCAL:]REMOTE...`: listens locally and forwards each connection to the pod
 * through the API server, over one SPDY session (the pods/portforward protocol kubectl speaks). Unlike
 * kubectl 1.32, a connection the pod refuses ends only that connection, not the forward.
 * Runs until the session is lost or the process is stopped.
 */
export async function portForward(session: Session, target: string, portSpecs: string[], options: PortForwardOptions): Promise<void> {
  if (portSpecs.length === 0) throw new BerthError('BadRequest', 'TYPE/NAME and list of ports are required for port-forward');
  const specs = portSpecs.map(parsePortSpec);
  const { pod, ports } = await resolveTarget(session, target, specs);
  if (pod.status?.phase !== 'Running') throw new BerthError('BadRequest', `unable to forward port because pod is not running. Current status=${pod.status?.phase ?? 'Unknown'}`);
  const path = resourcePath(POD_TYPE, { namespace: session.namespace, name: pod.metadata.name, subresource: 'portforward' });
  const spdy = new SpdySession(await openUpgrade(session.connection, 'POST', path, UPGRADE_HEADERS), { server: false });
  const servers: Server[] = [];
  let requestId = 0;
  try {
    for (const { local, remote } of ports) {
      let port = local;
      for (const address of options.address.split(',').map((a) => a.trim())) {
        const server = await listen(address, port, (socket) => {
          session.notice(`Handling connection for ${port}`);
          forwardConnection(session, spdy, socket, requestId++, port, remote);
        });
        servers.push(server);
        // Every address of one spec shares the port the first one got.
        port = (server.address() as { port: number }).port;
        process.stdout.write(`Forwarding from ${address.includes(':') ? `[${address}]` : address}:${port} -> ${remote}\n`);
      }
    }
    await new Promise<void>((resolve) => (spdy.isClosed ? resolve() : spdy.once('close', resolve)));
    throw new BerthError('ServiceUnavailable', 'lost connection to pod');
  } finally {
    for (const server of servers) server.close();
    spdy.destroy();
  }
}

type Runner = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

export function registerPortForward(program: Command, run: Runner): void {
  program
    .command('port-forward')
    .description('forward local ports to a pod (pod/NAME, deploy/NAME, rs/NAME or svc/NAME, as kubectl picks one) through the API server')
    .argument('<target>', 'pod/NAME (or NAME), deploy/NAME, rs/NAME or svc/NAME')
    .argument('<ports...>', '[LOCAL:]REMOTE: LOCAL 0 or empty picks a free port; a Service port forwards to its targetPort')
    .option('--address <addresses>', 'local addresses to listen on, comma separated', '127.0.0.1')
    .action((target: string, ports: string[], options: PortForwardOptions, command: Command) => run((session) => portForward(session, target, ports, options), command));
}
