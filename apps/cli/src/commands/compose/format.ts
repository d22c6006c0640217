import type { Container, ContainerStatus, Pod, Service } from '@berth/api';
import { ago, commandColumn, humanDuration } from '../../runtime/format';

/**
 * How `docker compose` words a project's containers, for berth's pods: the state and STATUS column as
 * docker's (`Up 2 minutes (healthy)`, `Exited (0) 3 seconds ago`), the PORTS column from the services'
 * Services, and the `web-1  | ` prefix of log lines. Pure functions of the objects and the time.
 */

/** docker's container states, as `compose ps --status` filters them. */
export type ContainerStateName = 'created' | 'running' | 'restarting' | 'exited' | 'removing' | 'paused' | 'dead';
export const CONTAINER_STATES: readonly ContainerStateName[] = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited'];

export type Health = '' | 'healthy' | 'unhealthy' | 'starting';

export interface ContainerView {
  state: ContainerStateName;
  status: string;
  health: Health;
  exitCode: number;
}

/** The pod's main container's status: the one named as the pod's first container. */
export function mainContainerStatus(pod: Pod): ContainerStatus | undefined {
  const name = pod.spec?.containers?.[0]?.name;
  return (pod.status?.containerStatuses ?? []).find((s) => s.name === name);
}

function mainContainer(pod: Pod): Container | undefined {
  return pod.spec?.containers?.[0];
}

/**
 * A running container's health as docker's: none without a readiness probe; healthy when ready; while
 * the probe may still be finding its feet (initial delay plus the failures it tolerates) starting, then unhealthy.
 */
function healthOf(pod: Pod, status: ContainerStatus, now: number): Health {
  const probe = mainContainer(pod)?.readinessProbe;
  if (!probe) return '';
  if (status.ready) return 'healthy';
  const startedAt = Date.parse(status.state?.running?.startedAt ?? '');
  const grace = ((probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)) * 1000;
  return Number.isNaN(startedAt) || now - startedAt < grace ? 'starting' : 'unhealthy';
}

const HEALTH_WORDS: Record<Health, string> = { '': '', healthy: ' (healthy)', unhealthy: ' (unhealthy)', starting: ' (health: starting)' };

/** The state, STATUS and health `docker compose ps` would show for the pod's (main) container. */
export function containerView(pod: Pod, now = Date.now()): ContainerView {
  const status = mainContainerStatus(pod);
  const terminated = status?.state?.terminated;
  const last = status?.lastState?.terminated;
  if (pod.metadata.deletionTimestamp) return { state: 'removing', status: 'Removing', health: '', exitCode: terminated?.exitCode ?? 0 };
  if (status?.state?.running) {
    const health = healthOf(pod, status, now);
    const since = Date.parse(status.state.running.startedAt ?? '');
    const up = Number.isNaN(since) ? 'Up' : `Up ${humanDuration(now - since)}`;
    return { state: 'running', status: `${up}${HEALTH_WORDS[health]}`, health, exitCode: 0 };
  }
  if (terminated) {
    const when = terminated.finishedAt ? ` ${ago(terminated.finishedAt, now)}` : '';
    return { state: 'exited', status: `Exited (${terminated.exitCode})${when}`, health: '', exitCode: terminated.exitCode };
  }
  if (status?.state?.waiting && last) {
    // Waiting after a run that ended: docker's restart policy at work (CrashLoopBackOff's back-off).
    const when = last.finishedAt ? ` ${ago(last.finishedAt, now)}` : '';
    return { state: 'restarting', status: `Restarting (${last.exitCode})${when}`, health: '', exitCode: last.exitCode };
  }
  return { state: 'created', status: 'Created', health: '', exitCode: 0 };
}

/** `docker ps`'s COMMAND of the pod's main container: its command and args as the pod spec gives them. */
export function podCommand(pod: Pod): string {
  const container = mainContainer(pod);
  return commandColumn([...(container?.command ?? []), ...(container?.args ?? [])], true);
}

export interface Publisher {
  URL: string;
  TargetPort: number;
  PublishedPort: number;
  Protocol: string;
}

/**
 * What compose shows as published ports: a LoadBalancer Service answers on its port at every node's
 * address, a NodePort on its nodePort; a ClusterIP Service only inside the project (`80/tcp`); a
 * hostPort on the pod's node. TargetPort is the container's port (a named targetPort is looked up in
 * the pod's containers).
 */
export function publishers(pod: Pod, services: Service[]): Publisher[] {
  const containers = pod.spec?.containers ?? [];
  const namedPort = (name: string) => containers.flatMap((c) => c.ports ?? []).find((p) => p.name === name)?.containerPort ?? 0;
  const result: Publisher[] = [];
  for (const container of containers) {
    for (const port of container.ports ?? []) {
      if (port.hostPort) result.push({ URL: port.hostIP || '0.0.0.0', TargetPort: port.containerPort, PublishedPort: port.hostPort, Protocol: (port.protocol ?? 'TCP').toLowerCase() });
    }
  }
  for (const service of services) {
    for (const port of service.spec?.ports ?? []) {
      const target = typeof port.targetPort === 'number' ? port.targetPort : typeof port.targetPort === 'string' ? namedPort(port.targetPort) || Number(port.targetPort) || 0 : port.port;
      const protocol = (port.protocol ?? 'TCP').toLowerCase();
      const type = service.spec?.type ?? 'ClusterIP';
      const published = type === 'LoadBalancer' ? port.port : type === 'NodePort' ? (port.nodePort ?? 0) : 0;
      result.push({ URL: published ? '0.0.0.0' : '', TargetPort: target, PublishedPort: published, Protocol: protocol });
    }
  }
  return result;
}

/** docker's PORTS column: `0.0.0.0:8080->80/tcp, 9000/tcp`, each once. */
export function portsColumn(list: Publisher[]): string {
  const words = list.map((p) => (p.PublishedPort ? `${p.URL}:${p.PublishedPort}->${p.TargetPort}/${p.Protocol}` : `${p.TargetPort}/${p.Protocol}`));
  return [...new Set(words)].join(', ');
}

/** compose's log prefix names: `<service>-<n>`, n counting a service's containers from 1. */
export function replicaName(service: string, index: number): string {
  return `${service}-${index}`;
}

/** The colours compose gives services in turn on a terminal (ANSI SGR codes). */
const COLOURS = ['36', '33', '32', '35', '34', '36;1', '33;1', '32;1', '35;1', '34;1'];

/**
 * `web-1  | ` for every name: padded to the longest plus one, then ` | `, as compose lays them out; coloured (one
 * colour per service, in order of first appearance) when `colour`.
 */
export function logPrefixes(names: Array<{ name: string; service: string }>, colour: boolean): Map<string, string> {
  const width = Math.max(0, ...names.map((n) => n.name.length)) + 1;
  const services = [...new Set(names.map((n) => n.service))];
  return new Map(
    names.map(({ name, service }) => {
      const text = `${name.padEnd(width)} | `;
      const code = COLOURS[services.indexOf(service) % COLOURS.length];
      return [name, colour ? `\u001b[${code}m${text}\u001b[0m` : text];
    }),
  );
}

/** Creation order, then name: the order compose numbers a service's containers in. */
export function byCreation<T extends { metadata: { name?: string; creationTimestamp?: string } }>(objects: T[]): T[] {
  const time = (o: T) => Date.parse(o.metadata.creationTimestamp ?? '') || 0;
  return [...objects].sort((a, b) => time(a) - time(b) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

/**
 * compose's progress lines, one per object once its step is done: ` ✔ Container web-1  Removed` on a
 * terminal, ` Container web-1  Removed` otherwise (compose's plain progress).
 */
export function progressLine(kind: string, name: string, word: string, terminal: boolean): string {
  return `${terminal ? ' ✔' : ''} ${kind} ${name}  ${word}`;
}
