import {
  effectiveBehavior,
  matchesLabels,
  parseLabelSelector,
  parseQuantity,
  resourceForKind,
  type HorizontalPodAutoscaler,
  type HorizontalPodAutoscalerCondition,
  type HorizontalPodAutoscalerStatus,
  type KubeObject,
  type MetricSpec,
  type MetricStatus,
  type Pod,
} from '@berth/api';
import { type KubeClient, resourcePath } from '@berth/client';
import { type EventRecorder, type Informer, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import { BerthError, errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound, inNamespace } from './context';
import { emptyHistory, normalizeWithBehavior, recordScale, type ConditionNote, type ScalingHistory } from './hpa-behavior';
import { MetricsUnavailable, resourceReplicas, type PodUsage, type ReplicaProposal, type ResourceMetric } from './hpa-replicas';
import { canonicalJson } from '@berth/api';
import { clone, PODS } from './types';

export const HORIZONTAL_POD_AUTOSCALERS = (() => {
  const type = resourceForKind('autoscaling/v2', 'HorizontalPodAutoscaler');
  if (!type) throw errors.internal('resource autoscaling/v2 HorizontalPodAutoscaler is not registered');
  return type;
})();

/** Kubernetes' --horizontal-pod-autoscaler-sync-period. */
export const DEFAULT_HPA_SYNC_PERIOD_MS = 15_000;

/** Where the controller reads pod usage: the metrics API (metrics.k8s.io), or a stand-in in tests. */
export interface PodMetricsSource {
  podUsage(namespace: string, labelSelector: string): Promise<PodUsage[]>;
}

/** A target's scale subresource: what it has and what selects its pods. */
export interface TargetScale {
  replicas: number;
  selector: string;
}

export interface HorizontalPodAutoscalerControllerOptions {
  /** How often each autoscaler is evaluated; 15 s by default. */
  syncPeriodMs?: number;
  metrics?: PodMetricsSource;
  now?: () => number;
}

const METRICS_PATH = '/apis/metrics.k8s.io/v1beta1';
/** Readings of more pods than this in one answer are refused rather than held in memory. */
const MAX_PODS_READ = 10_000;

/** metav1.Duration as metrics-server writes it (`15s`, `1.002s`, `1m0s`), in milliseconds; 0 when unreadable. */
function durationMs(text: unknown): number {
  if (typeof text !== 'string') return 0;
  let total = 0;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };
  for (const [, amount, suffix] of text.matchAll(/([0-9.]+)(h|ms|m|s|us|µs|ns)/g)) total += Number(amount) * unit[suffix!]!;
  return Number.isFinite(total) ? total : 0;
}

function quantityOr0(value: unknown): number {
  if (typeof value !== 'string' && typeof value !== 'number') return 0;
  try {
    return parseQuantity(value);
  } catch {
    return 0;
  }
}

/** The metrics API through the controller's client, as Kubernetes' REST metrics client reads it. */
export class MetricsApiSource implements PodMetricsSource {
  constructor(private readonly client: Pick<KubeClient, 'request'>) {}

  async podUsage(namespace: string, labelSelector: string): Promise<PodUsage[]> {
    const list = await this.client.request<{ items?: unknown }>({
      method: 'GET',
      path: `${METRICS_PATH}/namespaces/${encodeURIComponent(namespace)}/pods`,
      query: { labelSelector },
    });
    const items = Array.isArray(list?.items) ? list.items.slice(0, MAX_PODS_READ) : [];
    return items.flatMap((item: unknown): PodUsage[] => {
      if (!item || typeof item !== 'object') return [];
      const { metadata, timestamp, window, containers } = item as Record<string, unknown>;
      const name = (metadata as { name?: unknown } | undefined)?.name;
      if (typeof name !== 'string' || !Array.isArray(containers)) return [];
      const at = Date.parse(typeof timestamp === 'string' ? timestamp : '');
      return [
        {
          name,
          timestamp: Number.isNaN(at) ? 0 : at,
          windowMs: durationMs(window),
          containers: containers.map((c: { name?: unknown; usage?: { cpu?: unknown; memory?: unknown } }) => ({
            name: typeof c?.name === 'string' ? c.name : '',
            cpu: quantityOr0(c?.usage?.cpu),
            memory: quantityOr0(c?.usage?.memory),
          })),
        },
      ];
    });
  }
}

/** A metric the controller computes: Resource and ContainerResource (the only kinds the schema admits). */
function resourceMetricOf(spec: MetricSpec): ResourceMetric | undefined {
  const isResource = (name: string | undefined): name is 'cpu' | 'memory' => name === 'cpu' || name === 'memory';
  if (spec.type === 'ContainerResource') {
    const source = spec.containerResource;
    return source && isResource(source.name) ? { resource: source.name, container: source.container, target: source.target } : undefined;
  }
  const source = spec.resource;
  return source && isResource(source.name) ? { resource: source.name, target: source.target } : undefined;
}

/** `cpu resource utilization (percentage of request)`, as Kubernetes names a metric in conditions and events. */
function describeMetric(metric: ResourceMetric): string {
  const what = metric.container ? `${metric.resource} container resource` : `${metric.resource} resource`;
  return metric.target.type === 'Utilization' ? `${what} utilization (percentage of request)` : what;
}

function metricStatus(spec: MetricSpec, metric: ResourceMetric, proposal: ReplicaProposal): MetricStatus {
  const averageValue = metric.resource === 'cpu' ? `${Math.round(proposal.averageValue * 1000)}m` : String(Math.round(proposal.averageValue));
  const current = { averageValue, ...(proposal.utilization !== undefined ? { averageUtilization: proposal.utilization } : {}) };
  return spec.type === 'ContainerResource'
    ? { type: 'ContainerResource', containerResource: { name: metric.resource, container: metric.container!, current } }
    : { type: 'Resource', resource: { name: metric.resource, current } };
}

/** Why a sync could not get as far as a decision: its conditions and event. */
class SyncProblem extends Error {
  /** What the sync learnt before it failed: the target's replicas, and the conditions that still hold. */
  known?: { currentReplicas: number; conditions: HorizontalPodAutoscalerCondition[] };

  constructor(
    readonly condition: 'AbleToScale' | 'ScalingActive',
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Kubernetes' horizontal pod autoscaler controller: every sync period each HorizontalPodAutoscaler's target
 * scale is read, its pods' CPU/memory use fetched from the metrics API, the replicas the metrics ask for
 * computed (hpa-replicas.ts), stabilised and rate-limited by its behavior (hpa-behavior.ts), written to the
 * target's scale subresource, and reported in status (currentReplicas, desiredReplicas, currentMetrics, the
 * AbleToScale/ScalingActive/ScalingLimited conditions) and in events.
 */
export class HorizontalPodAutoscalerController {
  readonly queue = new WorkQueue<string>();
  private readonly autoscalers: Informer<HorizontalPodAutoscaler>;
  private readonly pods: Informer<Pod>;
  private readonly logger: Logger;
  private readonly recorder: EventRecorder;
  private readonly history = new Map<string, ScalingHistory>();
  private readonly syncPeriodMs: number;
  private readonly metrics: PodMetricsSource;
  private readonly now: () => number;

  constructor(private readonly ctx: ControllerContext, options: HorizontalPodAutoscalerControllerOptions = {}) {
    this.autoscalers = ctx.informers.informerFor<HorizontalPodAutoscaler>({ resource: HORIZONTAL_POD_AUTOSCALERS });
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.logger = ctx.logger.child({ controller: 'horizontal-pod-autoscaler' });
    this.recorder = ctx.recorder('horizontal-pod-autoscaler');
    this.syncPeriodMs = options.syncPeriodMs ?? DEFAULT_HPA_SYNC_PERIOD_MS;
    this.metrics = options.metrics ?? new MetricsApiSource(ctx.client);
    this.now = options.now ?? Date.now;
    const enqueue = (hpa: HorizontalPodAutoscaler) => this.queue.add(objectKey(hpa));
    this.autoscalers.addEventHandler({
      onAdd: enqueue,
      // Only spec changes: the controller's own status writes must not cut the sync period short.
      onUpdate: (old, hpa) => {
        if (old.metadata.generation !== hpa.metadata.generation) enqueue(hpa);
      },
      onDelete: (hpa) => {
        this.history.delete(objectKey(hpa));
        this.recorder.forgetObject(hpa.metadata.uid);
      },
    });
  }

  start(): RunningController {
    return runController({
      name: 'horizontal-pod-autoscaler',
      queue: this.queue,
      workers: 2,
      logger: this.logger,
      waitFor: [this.autoscalers, this.pods],
      reconcile: this.ctx.metrics.instrument('horizontal-pod-autoscaler', this.queue, (key) => this.reconcile(key)),
    });
  }

  /** One sync of one autoscaler; it is synced again a sync period later whatever happens. */
  async reconcile(key: string): Promise<{ requeueAfter: number } | void> {
    const cached = this.autoscalers.get(key);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const hpa = clone(cached);
    try {
      await this.sync(key, hpa);
    } catch (err) {
      if (!(err instanceof SyncProblem)) throw err;
      this.recorder.record(hpa, 'Warning', err.reason, err.message);
      const conditions = this.withCondition(err.known?.conditions ?? hpa.status?.conditions, err.condition, { status: 'False', reason: err.reason, message: err.message });
      const base = this.baseStatus(hpa);
      await this.writeStatus(hpa, { ...base, ...(err.known ? { currentReplicas: err.known.currentReplicas } : {}), conditions });
    }
    return { requeueAfter: this.syncPeriodMs };
  }

  private baseStatus(hpa: HorizontalPodAutoscaler): HorizontalPodAutoscalerStatus {
    const status = hpa.status ?? { desiredReplicas: 0 };
    return { ...status, observedGeneration: hpa.metadata.generation };
  }

  private async sync(key: string, hpa: HorizontalPodAutoscaler): Promise<void> {
    const spec = hpa.spec!;
    const namespace = hpa.metadata.namespace ?? 'default';
    const ref = spec.scaleTargetRef;
    const reference = `${ref.kind}/${ref.name}`;
    const targetType = resourceForKind(ref.apiVersion ?? '', ref.kind);
    if (!targetType || !targetType.subresources.includes('scale')) {
      throw new SyncProblem('AbleToScale', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${reference} has no scale subresource`);
    }
    const scalePath = resourcePath(targetType, { namespace, name: ref.name, subresource: 'scale' });
    const scale = await this.readScale(scalePath, reference);
    let conditions = this.withCondition(hpa.status?.conditions, 'AbleToScale', {
      status: 'True',
      reason: 'SucceededGetScale',
      message: "the HPA controller was able to get the target's current scale",
    });
    const minReplicas = spec.minReplicas ?? 1;
    const current = scale.replicas;
    const now = this.now();
    const behavior = effectiveBehavior(spec.behavior);
    let desired: number;
    let rescaleReason = '';
    let currentMetrics = hpa.status?.currentMetrics;
    if (current === 0 && minReplicas !== 0) {
      desired = 0;
      conditions = this.withCondition(conditions, 'ScalingActive', {
        status: 'False',
        reason: 'ScalingDisabled',
        message: 'scaling is disabled since the replica count of the target is zero',
      });
    } else if (current > spec.maxReplicas) {
      desired = spec.maxReplicas;
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
    } else if (current < minReplicas) {
      desired = minReplicas;
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
    } else {
      let computed;
      try {
        computed = await this.replicasForMetrics(hpa, namespace, scale, now);
      } catch (err) {
        if (err instanceof SyncProblem) err.known = { currentReplicas: current, conditions };
        throw err;
      }
      currentMetrics = computed.statuses;
      conditions = this.withCondition(conditions, 'ScalingActive', {
        status: 'True',
        reason: 'ValidMetricFound',
        message: `the HPA was able to successfully calculate a replica count from ${computed.metricName}`,
      });
      const history = this.history.get(key) ?? emptyHistory();
      this.history.set(key, history);
      const decision = normalizeWithBehavior(
        history,
        { ...behavior, minReplicas, maxReplicas: spec.maxReplicas, currentReplicas: current, desiredReplicas: computed.replicas },
        now,
      );
      desired = decision.replicas;
      conditions = this.withCondition(conditions, 'AbleToScale', decision.ableToScale);
      conditions = this.withCondition(conditions, 'ScalingLimited', decision.scalingLimited);
      rescaleReason = desired > current ? `${computed.metricName} above target` : 'All metrics below target';
    }
    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== current) {
      try {
        await this.ctx.client.patch<KubeObject>(targetType, ref.name, { spec: { replicas: desired } }, { namespace, type: 'merge', subresource: 'scale' });
      } catch (err) {
        if (err instanceof SyncProblem || !(err instanceof Error)) throw err;
        throw new SyncProblem('AbleToScale', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${err.message}`);
      }
      conditions = this.withCondition(conditions, 'AbleToScale', {
        status: 'True',
        reason: 'SucceededRescale',
        message: `the HPA controller was able to update the target scale to ${desired}`,
      });
      this.recorder.record(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${rescaleReason}`);
      this.logger.info({ autoscaler: key, reference, from: current, to: desired, reason: rescaleReason }, 'rescaled');
      recordScale(this.history.get(key) ?? emptyHistory(), current, desired, behavior, now);
      lastScaleTime = rfc3339(now);
    }
    await this.writeStatus(hpa, {
      observedGeneration: hpa.metadata.generation,
      ...(lastScaleTime ? { lastScaleTime } : {}),
      currentReplicas: current,
      desiredReplicas: desired,
      ...(currentMetrics?.length ? { currentMetrics } : {}),
      conditions,
    });
  }

  private async readScale(path: string, reference: string): Promise<TargetScale> {
    let scale: { spec?: { replicas?: unknown }; status?: { selector?: unknown } };
    try {
      scale = await this.ctx.client.request({ method: 'GET', path });
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      const why = isBerthError(err, 'NotFound') ? `${reference} not found` : err.message;
      throw new SyncProblem('AbleToScale', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${why}`);
    }
    const replicas = scale?.spec?.replicas;
    const selector = scale?.status?.selector;
    return { replicas: typeof replicas === 'number' ? replicas : 0, selector: typeof selector === 'string' ? selector : '' };
  }

  /**
   * The most replicas any metric asks for (Kubernetes' computeReplicasForMetrics). A metric that cannot be
   * read counts only when none can, or when the others would scale down (partial readings never scale down).
   */
  private async replicasForMetrics(
    hpa: HorizontalPodAutoscaler,
    namespace: string,
    scale: TargetScale,
    now: number,
  ): Promise<{ replicas: number; metricName: string; statuses: MetricStatus[] }> {
    if (!scale.selector) {
      throw new SyncProblem('ScalingActive', 'InvalidSelector', 'the HPA target\'s scale is missing a selector');
    }
    let requirements;
    try {
      requirements = parseLabelSelector(scale.selector);
    } catch (err) {
      throw new SyncProblem('ScalingActive', 'InvalidSelector', `couldn't convert selector into a corresponding internal selector object: ${(err as Error).message}`);
    }
    const pods = inNamespace(this.pods, namespace).filter((pod) => matchesLabels(requirements, pod.metadata.labels));
    let readings: PodUsage[] | undefined;
    let best: { replicas: number; metricName: string } | undefined;
    const statuses: MetricStatus[] = [];
    const failures: string[] = [];
    for (const spec of hpa.spec?.metrics ?? []) {
      const metric = resourceMetricOf(spec);
      if (!metric) continue;
      try {
        readings ??= await this.metrics.podUsage(namespace, scale.selector);
        const proposal = resourceReplicas(scale.replicas, pods, readings, metric, now);
        statuses.push(metricStatus(spec, metric, proposal));
        if (!best || proposal.replicas > best.replicas) best = { replicas: proposal.replicas, metricName: describeMetric(metric) };
      } catch (err) {
        // The metrics API unreachable or without these pods reads as missing metrics, as in Kubernetes.
        if (!(err instanceof MetricsUnavailable) && !(err instanceof BerthError)) throw err;
        failures.push(`failed to get ${metric.resource} utilization: ${err.message}`);
      }
    }
    if (!best || (failures.length > 0 && best.replicas < scale.replicas)) {
      throw new SyncProblem('ScalingActive', 'FailedGetResourceMetric', `the HPA was unable to compute the replica count: ${failures.join('; ') || 'no metrics to scale on'}`);
    }
    return { ...best, statuses };
  }

  /** The conditions with one set: its transition time kept while its status stays. */
  private withCondition(conditions: HorizontalPodAutoscalerCondition[] | undefined, type: string, note: ConditionNote): HorizontalPodAutoscalerCondition[] {
    const list = [...(conditions ?? [])];
    const at = list.findIndex((c) => c.type === type);
    const previous = at >= 0 ? list[at] : undefined;
    const lastTransitionTime = previous?.status === note.status && previous.lastTransitionTime ? previous.lastTransitionTime : rfc3339(this.now());
    const next = { type, status: note.status, lastTransitionTime, reason: note.reason, message: note.message };
    if (at >= 0) list[at] = next;
    else list.push(next);
    return list;
  }

  private async writeStatus(hpa: HorizontalPodAutoscaler, status: HorizontalPodAutoscalerStatus): Promise<void> {
    if (canonicalJson(status) === canonicalJson(hpa.status ?? {})) return;
    const next = clone(hpa);
    next.status = status;
    await ignoreNotFound(this.ctx.client.updateStatus<HorizontalPodAutoscaler>(HORIZONTAL_POD_AUTOSCALERS, next));
  }
}
