import { resourceForKind, type KubeObject, type Node, type Pod } from '@berth/api';
import type { NodeStatsReport, ResourceUsage } from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { ObjectFilter } from './filter';
import type { NodeTunnels } from './node-tunnels';
import type { ObjectService } from './objects';
import { pathSegments } from './routes';

/** metrics.k8s.io as metrics-server serves it, for `kubectl top`. */
export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

/** The resources of the group, in the shape discovery lists them. */
export const METRICS_RESOURCES = [
  { plural: 'nodes', singular: 'nodemetrics', kind: 'NodeMetrics', namespaced: false, verbs: ['get', 'list'] },
  { plural: 'pods', singular: 'podmetrics', kind: 'PodMetrics', namespaced: true, verbs: ['get', 'list'] },
] as const;

const POD_TYPE = resourceForKind('v1', 'Pod')!;
const NODE_TYPE = resourceForKind('v1', 'Node')!;

type MetricsPath = { resource: 'nodes'; name?: string } | { resource: 'pods'; namespace?: string; name?: string };

/** `/apis/metrics.k8s.io/v1beta1/{nodes,pods}[/name]` and `.../namespaces/{ns}/pods[/name]`; undefined for other paths. */
export function parseMetricsPath(pathname: string): MetricsPath | undefined {
  const prefix = `/apis/${API_VERSION}/`;
  if (!pathname.startsWith(prefix)) return undefined;
  const segs = pathSegments(pathname.slice(prefix.length));
  if (!segs) return undefined;
  if (segs[0] === 'nodes' && segs.length <= 2) return { resource: 'nodes', name: segs[1] };
  if (segs[0] === 'pods' && segs.length === 1) return { resource: 'pods' };
  if (segs[0] === 'namespaces' && segs[2] === 'pods' && segs.length <= 4) return { resource: 'pods', namespace: segs[1], name: segs[3] };
  return undefined;
}

/** Nanocores, as metrics-server reports CPU. */
function cpuQuantity(nanoCores: number): string {
  return `${Math.round(nanoCores)}n`;
}

function memoryQuantity(bytes: number): string {
  return `${Math.round(bytes / 1024)}Ki`;
}

function usageOf(usage: ResourceUsage) {
  return { cpu: cpuQuantity(usage.cpuNanoCores), memory: memoryQuantity(usage.memoryBytes) };
}

/** A Go duration, as metav1.Duration prints: `1.002s`. */
function duration(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}

/** Serves the metrics API from the nodes' stats, fetched through their tunnels at each request. */
export class NodeMetricsApi {
  constructor(
    private readonly objects: ObjectService,
    private readonly tunnels: NodeTunnels,
    private readonly logger: Logger,
  ) {}

  async serve(path: MetricsPath, query: URLSearchParams): Promise<unknown> {
    const labelSelector = query.get('labelSelector');
    return path.resource === 'nodes' ? this.nodes(path.name, labelSelector) : this.pods(path.namespace, path.name, labelSelector, query.get('fieldSelector'));
  }

  /** Each node's report; a node that cannot answer is left out (as metrics-server leaves out nodes it cannot scrape). */
  private async reports(nodes: string[]): Promise<Map<string, NodeStatsReport>> {
    const out = new Map<string, NodeStatsReport>();
    await Promise.all(
      nodes.filter((n) => this.tunnels.connected(n)).map(async (node) => {
        try {
          out.set(node, await this.fetch(node));
        } catch (err) {
          this.logger.warn({ node, err: (err as Error).message }, 'no stats from node');
        }
      }),
    );
    return out;
  }

  private async fetch(node: string): Promise<NodeStatsReport> {
    const text = await this.tunnels.fetchMessage(node, 'stats', {});
    try {
      return JSON.parse(text) as NodeStatsReport;
    } catch {
      throw errors.internal(`node "${node}" sent malformed stats`);
    }
  }

  private async nodes(name: string | undefined, labelSelector: string | null): Promise<unknown> {
    const nodes = name ? [await this.getOrMissing<Node>(name, undefined, 'nodes')] : ((await this.objects.list(NODE_TYPE, undefined, ObjectFilter.parse(NODE_TYPE, labelSelector, null))).items as Node[]);
    const reports = await this.reports(nodes.map((n) => n.metadata.name!));
    const items = nodes.flatMap((node) => {
      const report = reports.get(node.metadata.name!);
      if (!report) return [];
      return [
        {
          kind: 'NodeMetrics',
          apiVersion: API_VERSION,
          metadata: { name: node.metadata.name, creationTimestamp: new Date().toISOString(), labels: node.metadata.labels ?? {} },
          timestamp: report.timestamp,
          window: duration(report.windowSeconds),
          usage: usageOf(report.node),
        },
      ];
    });
    if (name) {
      if (!items[0]) throw errors.notFound('nodemetrics', name, METRICS_GROUP);
      return items[0];
    }
    return { kind: 'NodeMetricsList', apiVersion: API_VERSION, metadata: {}, items };
  }

  private async pods(namespace: string | undefined, name: string | undefined, labelSelector: string | null, fieldSelector: string | null): Promise<unknown> {
    const pods = name
      ? [await this.getOrMissing<Pod>(name, namespace, 'pods')]
      : ((await this.objects.list(POD_TYPE, namespace, ObjectFilter.parse(POD_TYPE, labelSelector, fieldSelector))).items as Pod[]);
    const running = pods.filter((p) => p.spec?.nodeName && p.status?.phase === 'Running');
    const reports = await this.reports([...new Set(running.map((p) => p.spec!.nodeName!))]);
    const items = running.flatMap((pod) => {
      const stats = reports.get(pod.spec!.nodeName!)?.pods.find((s) => s.namespace === pod.metadata.namespace && s.name === pod.metadata.name);
      if (!stats) return [];
      return [
        {
          kind: 'PodMetrics',
          apiVersion: API_VERSION,
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, creationTimestamp: new Date().toISOString(), labels: pod.metadata.labels ?? {} },
          timestamp: stats.timestamp,
          window: duration(stats.windowSeconds),
          containers: stats.containers.map((c) => ({ name: c.name, usage: usageOf(c) })),
        },
      ];
    });
    if (name) {
      if (!items[0]) throw errors.notFound('podmetrics', name, METRICS_GROUP);
      return items[0];
    }
    return { kind: 'PodMetricsList', apiVersion: API_VERSION, metadata: {}, items };
  }

  /** The object the metrics are of; its absence reads as the metrics' absence. */
  private async getOrMissing<T extends KubeObject>(name: string, namespace: string | undefined, resource: 'nodes' | 'pods'): Promise<T> {
    try {
      return (await this.objects.get(resource === 'nodes' ? NODE_TYPE : POD_TYPE, namespace, name)) as T;
    } catch (err) {
      if (isBerthError(err, 'NotFound')) throw errors.notFound(resource === 'nodes' ? 'nodemetrics' : 'podmetrics', name, METRICS_GROUP);
      throw err;
    }
  }
}
