import { parseQuantity, type KubeList, type KubeObject, type Node } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';

import { TableLayout } from '../printers';
import type { Session } from '../session';
import { DOCKER_TOP_LAYOUT, omittedNote, podProcesses, processTable } from './processes';
import { chooseContainer, resolvePod } from './workloads';

/** metrics.k8s.io/v1beta1, as metrics-server serves it. */
const METRICS_API = '/apis/metrics.k8s.io/v1beta1';

type Usage = { cpu?: string; memory?: string };

export interface PodMetrics extends KubeObject {
  timestamp?: string;
  window?: string;
  containers?: { name: string; usage?: Usage }[];
}

export interface NodeMetrics extends KubeObject {
  usage?: Usage;
}

export interface TopOptions {
  allNamespaces?: boolean;
  selector?: string;
  containers?: boolean;
  /** docker top's: the pod's container whose processes are listed. */
  container?: string;
}

/** kubectl's Quantity.MilliValue() and Value(): rounded up. */
function millicores(cpu: string | undefined): number {
  return Math.ceil(parseQuantity(cpu ?? '0') * 1000 - 1e-9);
}

function bytes(memory: string | undefined): number {
  return Math.ceil(parseQuantity(memory ?? '0') - 1e-9);
}

/** `12m` and `5Mi`, as kubectl top prints usage. */
export function formatCpu(milli: number): string {
  return `${milli}m`;
}

export function formatMemory(bytesUsed: number): string {
  return `${Math.floor(bytesUsed / (1024 * 1024))}Mi`;
}

function percent(used: number, of: number): string {
  return of > 0 ? `${Math.floor((used / of) * 100)}%` : '<unknown>';
}

async function fetchMetrics<T extends KubeObject>(session: Session, path: string, labelSelector: string | undefined): Promise<T[]> {
  try {
    const list = await session.client.request<KubeList<T>>({ method: 'GET', path: `${METRICS_API}${path}`, query: { labelSelector } });
    return [...(list.items ?? [])].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  } catch (err) {
    if (err instanceof StatusError && (err.reason === 'NotFound' || err.reason === 'ServiceUnavailable')) {
      throw new BerthError('NotFound', 'Metrics API not available');
    }
    throw err;
  }
}

/** The `top pod` table: a pod's usage is the sum of its containers' (each its own row with --containers). */
export function podTopTable(metrics: PodMetrics[], options: { withNamespace: boolean; containers: boolean }): string[][] {
  const leading = (m: PodMetrics) => (options.withNamespace ? [m.metadata.namespace ?? ''] : []);
  const header = [...(options.withNamespace ? ['NAMESPACE'] : []), ...(options.containers ? ['POD', 'NAME'] : ['NAME']), 'CPU(cores)', 'MEMORY(bytes)'];
  const rows = metrics.flatMap((m) => {
    const containers = m.containers ?? [];
    if (options.containers) {
      return containers.map((c) => [...leading(m), m.metadata.name ?? '', c.name, formatCpu(millicores(c.usage?.cpu)), formatMemory(bytes(c.usage?.memory))]);
    }
    const cpu = containers.reduce((sum, c) => sum + millicores(c.usage?.cpu), 0);
    const memory = containers.reduce((sum, c) => sum + bytes(c.usage?.memory), 0);
    return [[...leading(m), m.metadata.name ?? '', formatCpu(cpu), formatMemory(memory)]];
  });
  return [header, ...rows];
}

/** The `top node` table, with usage as a share of each node's allocatable cpu and memory. */
export function nodeTopTable(metrics: NodeMetrics[], nodes: Node[]): string[][] {
  const allocatable = new Map(nodes.map((n) => [n.metadata.name, n.status?.allocatable ?? {}]));
  const rows = metrics.map((m) => {
    const cpu = millicores(m.usage?.cpu);
    const memory = bytes(m.usage?.memory);
    const of = allocatable.get(m.metadata.name) ?? {};
    return [m.metadata.name ?? '', formatCpu(cpu), percent(cpu, millicores(of.cpu)), formatMemory(memory), percent(memory, bytes(of.memory))];
  });
  return [['NAME', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)'], ...rows];
}

function onlyNamed<T extends KubeObject>(metrics: T[], name: string | undefined, what: string): T[] {
  if (name === undefined) return metrics;
  const found = metrics.filter((m) => m.metadata.name === name);
  if (found.length === 0) throw new BerthError('NotFound', `${what} "${name}" not found`);
  return found;
}

/** Whether `berth top WHAT` asks for metrics (kubectl top's pods or nodes) rather than a pod's processes (docker top's). */
async function namesMetrics(session: Session, what: string): Promise<boolean> {
  if (what.includes('/')) return false;
  try {
    const type = await session.discovery.resolve(what);
    return type.group === '' && (type.kind === 'Pod' || type.kind === 'Node');
  } catch (err) {
    if (err instanceof BerthError && err.reason === 'NotFound') return false;
    throw err;
  }
}

/**
 * `berth top POD [-c CONTAINER]`, docker top's: the processes of the pod's container as its node's host
 * sees them (pods/top), `ps -ef`'s table. POD may be TYPE/NAME (deploy/web), one of its pods then.
 */
async function podTop(session: Session, target: string, options: TopOptions): Promise<void> {
  const pod = await resolvePod(session, target, { sayWhich: true });
  const container = chooseContainer(pod, options.container, (line) => session.notice(line));
  const list = await podProcesses(session, pod.metadata.namespace ?? session.namespace, pod.metadata.name ?? '', container);
  session.out(processTable(list.processes, DOCKER_TOP_LAYOUT).trimEnd());
  const note = omittedNote(list);
  if (note) session.notice(note);
}

/**
 * `berth top [pods|nodes] [NAME]`: resource usage from the metrics API (pods by default, as docker stats);
 * `berth top POD [-c CONTAINER]`: the pod's processes, as docker top.
 */
export async function top(session: Session, what: string | undefined, name: string | undefined, options: TopOptions): Promise<void> {
  if (what !== undefined && !(await namesMetrics(session, what))) {
    if (name !== undefined) throw new BerthError('BadRequest', `berth top ${what} takes no further arguments (ps options are not offered)`);
    return podTop(session, what, options);
  }
  if (options.container !== undefined) throw new BerthError('BadRequest', '-c names the container of berth top POD; the metrics of pods and nodes take --containers');
  const type = await session.discovery.resolve(what ?? 'pods');
  if (type.kind === 'Node') {
    const metrics = onlyNamed(await fetchMetrics<NodeMetrics>(session, '/nodes', options.selector), name, 'nodemetrics');
    const nodes = (await session.client.list<Node>(type, { labelSelector: options.selector })).items;
    session.out(new TableLayout().format(nodeTopTable(metrics, nodes)));
    return;
  }
  if (type.kind !== 'Pod') throw new BerthError('BadRequest', `berth top shows pods or nodes, not ${type.plural}`);
  const path = options.allNamespaces ? '/pods' : `/namespaces/${encodeURIComponent(session.namespace)}/pods`;
  const metrics = onlyNamed(await fetchMetrics<PodMetrics>(session, path, options.selector), name, 'podmetrics');
  if (metrics.length === 0) {
    session.notice(options.allNamespaces ? 'No resources found' : `No resources found in ${session.namespace} namespace.`);
    return;
  }
  session.out(new TableLayout().format(podTopTable(metrics, { withNamespace: !!options.allNamespaces, containers: !!options.containers })));
}
