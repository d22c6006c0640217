import type { Container, ContainerPort, Deployment, Pod, PodSpec, Protocol, RestartPolicy } from '@berth/api';
import { BerthError } from '@berth/errors';
import { objectName } from '../kinds';
import type { Session } from '../session';
import { DEPLOYMENT_TYPE, parseKeyValues, POD_TYPE } from './workloads';

export interface RunOptions {
  image?: string;
  replicas?: number;
  env: string[];
  port?: number;
  /** docker's -p: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL] */
  publish?: string[];
  label: string[];
  restart?: string;
  stopTimeout?: number;
}

const RESTART_POLICIES: RestartPolicy[] = ['Always', 'OnFailure', 'Never'];
const PROTOCOLS = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' } as const;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function portNumber(text: string, spec: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new BerthError('BadRequest', `invalid -p ${JSON.stringify(spec)}: ${JSON.stringify(text)} is not a port (1-65535)`);
  return port;
}

/**
 * docker run's `-p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp]` as a container port with a hostPort:
 * the node forwards HOST_PORT to the pod (a port range or a random host port is not supported, as with
 * Kubernetes hostPort).
 */
export function parsePublish(spec: string): ContainerPort & { hostPort: number; protocol: Protocol } {
  const [ports, protocolText = 'tcp', ...extra] = spec.split('/');
  const protocol = PROTOCOLS[protocolText.toLowerCase() as keyof typeof PROTOCOLS];
  if (extra.length || !protocol) throw new BerthError('BadRequest', `invalid -p ${JSON.stringify(spec)}: the protocol must be tcp, udp or sctp`);
  const parts = ports.split(':');
  if (parts.length < 2 || parts.length > 3) throw new BerthError('BadRequest', `invalid -p ${JSON.stringify(spec)}: use HOST_PORT:CONTAINER_PORT or HOST_IP:HOST_PORT:CONTAINER_PORT`);
  const hostIP = parts.length === 3 ? parts[0] : undefined;
  if (hostIP !== undefined && !IPV4.test(hostIP)) throw new BerthError('BadRequest', `invalid -p ${JSON.stringify(spec)}: ${JSON.stringify(hostIP)} is not an IPv4 address`);
  const port: ContainerPort & { hostPort: number; protocol: Protocol } = { containerPort: portNumber(parts[parts.length - 1], spec), hostPort: portNumber(parts[parts.length - 2], spec), protocol };
  if (hostIP) port.hostIP = hostIP;
  return port;
}

/**
 * What `berth run` creates: a Deployment (restart Always, the default: swarm's `service create`), or, as
 * `kubectl run` does, one bare Pod for a run-to-completion restart policy (Never, OnFailure).
 */
export function runObject(name: string, command: string[], options: RunOptions): Deployment | Pod {
  if (!options.image) throw new BerthError('BadRequest', 'required flag(s) "image" not set');
  const restart = (options.restart ?? 'Always') as RestartPolicy;
  if (!RESTART_POLICIES.includes(restart)) throw new BerthError('BadRequest', `invalid restart policy: ${options.restart}: use Always, OnFailure or Never`);
  const labels = { app: name, ...parseKeyValues(options.label, 'label') };
  const container: Container = { name, image: options.image };
  if (command.length > 0) container.command = command;
  const env = Object.entries(parseKeyValues(options.env, 'env'));
  if (env.length > 0) container.env = env.map(([key, value]) => ({ name: key, value }));
  const ports: ContainerPort[] = options.port !== undefined ? [{ containerPort: options.port }] : [];
  for (const spec of options.publish ?? []) {
    const published = parsePublish(spec);
    const same = ports.findIndex((p) => p.containerPort === published.containerPort && (p.protocol ?? 'TCP') === published.protocol && p.hostPort === undefined);
    if (same >= 0) ports.splice(same, 1);
    if (ports.some((p) => p.hostPort === published.hostPort && (p.protocol ?? 'TCP') === published.protocol)) {
      throw new BerthError('BadRequest', `invalid -p ${JSON.stringify(spec)}: host port ${published.hostPort}/${published.protocol.toLowerCase()} is published twice`);
    }
    ports.push(published);
  }
  if (ports.length > 0) container.ports = ports;
  const spec: PodSpec = { containers: [container], restartPolicy: restart };
  if (options.stopTimeout !== undefined) spec.terminationGracePeriodSeconds = options.stopTimeout;

  if (restart !== 'Always') {
    if (options.replicas !== undefined && options.replicas !== 1) {
      throw new BerthError('BadRequest', `--replicas applies to a deployment: --restart ${restart} runs one pod`);
    }
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: labels.app } },
      template: { metadata: { labels }, spec },
    },
  };
}

export async function run(session: Session, name: string, command: string[], options: RunOptions): Promise<void> {
  const object = runObject(name, command, options);
  const type = object.kind === 'Pod' ? POD_TYPE : DEPLOYMENT_TYPE;
  await session.client.create(type, object, { namespace: session.namespace, fieldManager: 'berth-run' });
  session.out(`${objectName(type, name)} created`);
}
