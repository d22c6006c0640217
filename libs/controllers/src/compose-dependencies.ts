import type { DaemonSet, Deployment, Job, Pod, PodTemplateSpec, StatefulSet } from '@berth/api';
import { trueJobCondition } from '@berth/api';
import { DEPENDS_ON_ANNOTATION, DEPENDS_ON_GATE, type DependsOnCondition, parseDependsOn, PROJECT_LABEL, SERVICE_LABEL } from '@berth/compose';
import { type EventRecorder, type Informer, keyOf, objectKey, runController, type RunningController, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound } from './context';
import { DAEMON_SETS, DEPLOYMENTS, JOBS, PODS, STATEFUL_SETS } from './types';

/** Pods of a compose service, filed under `namespace/project/service`. */
const SERVICE_PODS_INDEX = 'compose-service';
/** Gated pods, filed under `namespace/project/dependency` for each service they wait for. */
const WAITING_ON_INDEX = 'compose-waiting-on';

/** What the cluster holds of one service: its pods and the workload named as it (labelled as it). */
export interface ServiceView {
  pods: readonly Pod[];
  deployment?: Deployment;
  daemonSet?: DaemonSet;
  statefulSet?: StatefulSet;
  job?: Job;
}

/** One dependency's state: met, not yet (saying what it waits for), or never as things stand (saying why). */
export type DependencyState = { state: 'met' } | { state: 'waiting'; reason: string } | { state: 'failed'; reason: string };

const met: DependencyState = { state: 'met' };

function hasHealthcheck(template: PodTemplateSpec | undefined): boolean {
  return (template?.spec?.containers ?? []).some((c) => c.readinessProbe);
}

/** All desired replicas Ready, and at least one (a service scaled to 0 is not healthy). */
function readyState(service: string, desired: number, ready: number): DependencyState {
  if (desired >= 1 && ready >= desired) return met;
  return { state: 'waiting', reason: `${service} to be healthy (${ready}/${desired} ready)` };
}

/**
 * Whether `service` is in the state `condition` asks for, as docker compose decides it for containers:
 * - service_started: a pod of it runs (or ran to completion: its containers were started);
 * - service_healthy: its Deployment, DaemonSet or StatefulSet has every desired replica Ready, at least one;
 *   compose refuses this on a service without a healthcheck (its readiness probe here), and so does berth;
 * - service_completed_successfully: its Job is Complete (a Failed Job never will be).
 */
export function dependencyState(service: string, condition: DependsOnCondition, view: ServiceView): DependencyState {
  switch (condition) {
    case 'service_started': {
      const started = view.pods.some((p) => !p.metadata.deletionTimestamp && (p.status?.phase === 'Running' || p.status?.phase === 'Succeeded'));
      return started ? met : { state: 'waiting', reason: `${service} to be started` };
    }
    case 'service_healthy': {
      const workload = view.deployment ?? view.statefulSet ?? view.daemonSet;
      if (!workload) {
        if (view.job) return { state: 'failed', reason: `service ${service} is a job: it can complete, not be healthy (use service_completed_successfully)` };
        return { state: 'waiting', reason: `${service} to be healthy (it has no workload yet)` };
      }
      if (!hasHealthcheck(workload.spec?.template)) return { state: 'failed', reason: `dependency failed to start: service ${service} has no healthcheck configured` };
      if (view.deployment) return readyState(service, view.deployment.spec?.replicas ?? 1, view.deployment.status?.readyReplicas ?? 0);
      if (view.statefulSet) return readyState(service, view.statefulSet.spec?.replicas ?? 1, view.statefulSet.status?.readyReplicas ?? 0);
      return readyState(service, view.daemonSet!.status?.desiredNumberScheduled ?? 0, view.daemonSet!.status?.numberReady ?? 0);
    }
    case 'service_completed_successfully': {
      if (!view.job) {
        if (view.deployment ?? view.statefulSet ?? view.daemonSet) return { state: 'failed', reason: `service ${service} runs until stopped: it never completes (it is not a job)` };
        return { state: 'waiting', reason: `${service} to complete (it has no job yet)` };
      }
      if (trueJobCondition(view.job, 'Complete')) return met;
      const failed = trueJobCondition(view.job, 'Failed');
      if (failed) return { state: 'failed', reason: `service ${service} didn't complete successfully: ${failed.message || failed.reason || 'its job failed'}` };
      return { state: 'waiting', reason: `${service} to complete` };
    }
  }
}

/** What to do with a gated pod: release it, let it wait (for what), or tell why it cannot go (the gate stays). */
export type Decision = { action: 'release' } | { action: 'wait'; waitingFor: string[] } | { action: 'fail'; message: string };

/** The decision for a pod waiting on `dependencies`; `viewOf` gives what the cluster holds of each service. */
export function decide(dependencies: ReadonlyMap<string, DependsOnCondition>, viewOf: (service: string) => ServiceView): Decision {
  const waitingFor: string[] = [];
  const failures: string[] = [];
  for (const [service, condition] of dependencies) {
    const state = dependencyState(service, condition, viewOf(service));
    if (state.state === 'failed') failures.push(state.reason);
    else if (state.state === 'waiting') waitingFor.push(state.reason);
  }
  if (failures.length) return { action: 'fail', message: failures.join('; ') };
  return waitingFor.length ? { action: 'wait', waitingFor } : { action: 'release' };
}

const hasGate = (pod: Pod) => (pod.spec?.schedulingGates ?? []).some((g) => g.name === DEPENDS_ON_GATE);

/** The compose project and service a pod or workload belongs to, from its labels. */
function serviceOf(obj: { metadata: { labels?: Record<string, string> } }): { project?: string; service?: string } {
  const labels = obj.metadata.labels ?? {};
  return { project: labels[PROJECT_LABEL], service: labels[SERVICE_LABEL] };
}

const serviceKey = (namespace: string | undefined, project: string, service: string) => `${namespace ?? ''}/${project}/${service}`;

/**
 * Compose's `depends_on`, honoured by the cluster: a pod with the scheduling gate `compose.berth.dev/depends-on`
 * waits until every service its annotation names is in the state asked for (see dependencyState), then
 * the gate is removed (other gates stay) and the scheduler places it. Dependencies are the pods and the
 * workload of a service of the pod's project, in its namespace, found by compose's labels. Events on them
 * wake only the gated pods waiting on that service (an index), never a scan of every pod.
 *
 * Events on the pod: `WaitingForDependencies` once, naming what it waits for; `FailedDependencies` (Warning)
 * when the annotation is unreadable or a dependency cannot get there (no healthcheck, a failed job), the
 * gate kept; `DependenciesMet` when it is released.
 */
export class ComposeDependenciesController {
  readonly queue = new WorkQueue<string>();
  private readonly pods: Informer<Pod>;
  private readonly deployments: Informer<Deployment>;
  private readonly daemonSets: Informer<DaemonSet>;
  private readonly statefulSets: Informer<StatefulSet>;
  private readonly jobs: Informer<Job>;
  private readonly logger: Logger;
  private readonly events: EventRecorder;
  /** Per gated pod (uid), the events already told, so that each is told once. */
  private readonly told = new Map<string, Set<string>>();

  constructor(private readonly ctx: ControllerContext) {
    this.logger = ctx.logger.child({ controller: 'compose-dependencies' });
    this.events = ctx.recorder('compose-dependencies-controller');
    this.pods = ctx.informers.informerFor<Pod>({ resource: PODS });
    this.deployments = ctx.informers.informerFor<Deployment>({ resource: DEPLOYMENTS });
    this.daemonSets = ctx.informers.informerFor<DaemonSet>({ resource: DAEMON_SETS });
    this.statefulSets = ctx.informers.informerFor<StatefulSet>({ resource: STATEFUL_SETS });
    this.jobs = ctx.informers.informerFor<Job>({ resource: JOBS });
    if (!this.pods.hasIndexer(SERVICE_PODS_INDEX)) {
      this.pods.addIndexers({
        [SERVICE_PODS_INDEX]: (pod) => {
          const { project, service } = serviceOf(pod);
          return project && service ? [serviceKey(pod.metadata.namespace, project, service)] : [];
        },
        [WAITING_ON_INDEX]: (pod) => {
          const { project } = serviceOf(pod);
          if (!project || !hasGate(pod)) return [];
          const parsed = parseDependsOn(pod.metadata.annotations?.[DEPENDS_ON_ANNOTATION]);
          return 'error' in parsed ? [] : [...parsed.dependencies.keys()].map((dep) => serviceKey(pod.metadata.namespace, project, dep));
        },
      });
    }
    this.pods.addEventHandler({
      onAdd: (pod) => this.podChanged(pod),
      onUpdate: (oldPod, newPod) => {
        this.podChanged(oldPod);
        this.podChanged(newPod);
      },
      onDelete: (pod) => {
        this.told.delete(pod.metadata.uid ?? '');
        this.events.forgetObject(pod.metadata.uid);
        this.podChanged(pod);
      },
    });
    for (const informer of [this.deployments, this.daemonSets, this.statefulSets, this.jobs] as Array<Informer<Deployment | DaemonSet | StatefulSet | Job>>) {
      const wake = (obj: Deployment | DaemonSet | StatefulSet | Job) => this.wakeWaitingOn(obj);
      informer.addEventHandler({ onAdd: wake, onUpdate: (oldObj, newObj) => (wake(oldObj), wake(newObj)), onDelete: wake });
    }
  }

  start(): RunningController {
    return runController({
      name: 'compose-dependencies',
      queue: this.queue,
      logger: this.logger,
      waitFor: [this.pods, this.deployments, this.daemonSets, this.statefulSets, this.jobs],
      reconcile: this.ctx.metrics.instrument('compose-dependencies', this.queue, (key) => this.reconcile(key)),
    });
  }

  /** A gated pod is looked at itself; any pod of a compose service wakes the pods waiting on that service. */
  private podChanged(pod: Pod): void {
    if (hasGate(pod)) this.queue.add(objectKey(pod));
    this.wakeWaitingOn(pod);
  }

  private wakeWaitingOn(obj: Pod | Deployment | DaemonSet | StatefulSet | Job): void {
    const { project, service } = serviceOf(obj);
    if (!project || !service) return;
    for (const waiting of this.pods.byIndex(WAITING_ON_INDEX, serviceKey(obj.metadata.namespace, project, service))) this.queue.add(objectKey(waiting));
  }

  /** What the cluster holds of a service: its pods, and each workload named as it that carries its labels. */
  private viewOf(namespace: string | undefined, project: string, service: string): ServiceView {
    const key = keyOf(namespace, service);
    const ours = <T extends Deployment | DaemonSet | StatefulSet | Job>(obj: T | undefined): T | undefined => {
      if (!obj || obj.metadata.deletionTimestamp) return undefined;
      const labels = serviceOf(obj);
      return labels.project === project && labels.service === service ? obj : undefined;
    };
    return {
      pods: this.pods.byIndex(SERVICE_PODS_INDEX, serviceKey(namespace, project, service)),
      deployment: ours(this.deployments.get(key)),
      daemonSet: ours(this.daemonSets.get(key)),
      statefulSet: ours(this.statefulSets.get(key)),
      job: ours(this.jobs.get(key)),
    };
  }

  /** Records an event on the pod unless this one was told already. */
  private tellOnce(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const uid = pod.metadata.uid ?? '';
    let told = this.told.get(uid);
    if (!told) this.told.set(uid, (told = new Set()));
    const key = `${reason}\0${message}`;
    if (told.has(key)) return;
    told.add(key);
    this.events.record(pod, type, reason, message);
  }

  async reconcile(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || pod.metadata.deletionTimestamp || !hasGate(pod)) return;
    const { project } = serviceOf(pod);
    if (!project) {
      this.tellOnce(pod, 'Warning', 'FailedDependencies', `the pod has no ${PROJECT_LABEL} label: its dependencies cannot be found`);
      return;
    }
    const parsed = parseDependsOn(pod.metadata.annotations?.[DEPENDS_ON_ANNOTATION]);
    if ('error' in parsed) {
      this.tellOnce(pod, 'Warning', 'FailedDependencies', parsed.error);
      return;
    }
    const decision = decide(parsed.dependencies, (service) => this.viewOf(pod.metadata.namespace, project, service));
    if (decision.action === 'fail') {
      this.tellOnce(pod, 'Warning', 'FailedDependencies', decision.message);
      return;
    }
    if (decision.action === 'wait') {
      // Once: the pod's events say what it waits for, not every step of its dependencies' progress.
      if (!this.told.get(pod.metadata.uid ?? '')?.size) this.tellOnce(pod, 'Normal', 'WaitingForDependencies', `waiting for ${decision.waitingFor.join(', ')}`);
      return;
    }
    await this.release(pod, [...parsed.dependencies.keys()]);
  }

  /**
   * Removes the gate, keeping the others, with a JSON patch that tests the resourceVersion it decided on:
   * a pod changed meanwhile fails the test (409), and the retry decides on the newer pod.
   */
  private async release(pod: Pod, services: string[]): Promise<void> {
    const gates = (pod.spec?.schedulingGates ?? []).filter((g) => g.name !== DEPENDS_ON_GATE);
    const patch = [
      { op: 'test', path: '/metadata/resourceVersion', value: pod.metadata.resourceVersion },
      gates.length ? { op: 'replace', path: '/spec/schedulingGates', value: gates } : { op: 'remove', path: '/spec/schedulingGates' },
    ];
    let released: Pod | undefined;
    try {
      released = await ignoreNotFound(this.ctx.client.patch<Pod>(PODS, pod.metadata.name!, patch, { namespace: pod.metadata.namespace, type: 'json' }));
    } catch (err) {
      // The pod changed since the cache showed it: its update event queues it again, to be decided anew.
      if (isBerthError(err, 'Invalid') && err.details.causes?.some((c) => c.field === 'patch[0]')) {
        this.logger.debug({ pod: objectKey(pod) }, 'pod changed while its gate was being removed');
        return;
      }
      throw err;
    }
    if (!released) return;
    this.logger.info({ pod: objectKey(pod), services }, 'dependencies met: scheduling gate removed');
    this.tellOnce(pod, 'Normal', 'DependenciesMet', `dependencies met: ${services.join(', ')}`);
  }
}
