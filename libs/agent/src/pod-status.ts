import type { Container as PodContainer, ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from '@berth/api';
import { parseReference } from '@berth/image';
import type { Container as RuntimeContainer } from '@berth/runtime-client';

/** Why a container is not running when the runtime alone cannot say (back-off, a missing image, a bad config). */
export interface Waiting {
  reason: string;
  message?: string;
}

/** What the node knows of one container of the pod. */
export interface ObservedContainer {
  /** The latest run, if any was created. */
  current?: RuntimeContainer;
  /** The run before it, for lastState. */
  previous?: RuntimeContainer;
  restartCount: number;
  waiting?: Waiting;
  /** The readiness probe's verdict for the current run; true when it has no probe. */
  ready?: boolean;
  /** Whether the current run passed its startup probe; true when it has none. */
  started?: boolean;
  /** What the current and the previous run left as their termination message, once they ended. */
  currentMessage?: string;
  previousMessage?: string;
}

export interface PodObservation {
  pod: Pod;
  init: Map<string, ObservedContainer>;
  app: Map<string, ObservedContainer>;
  hostIP: string;
  podIP: string;
  /** The pod's sandbox exists (the pod has started on the node). */
  sandboxReady: boolean;
  /** The pod ran longer than its activeDeadlineSeconds: it failed, whatever its containers did. */
  deadlineExceeded?: boolean;
  now: Date;
}

export const DEADLINE_EXCEEDED = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };

export const BERTH_ID_PREFIX = 'berth://';

function rfc3339(time: string | undefined): string | undefined {
  if (!time) return undefined;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function terminatedState(c: RuntimeContainer, message?: string): ContainerState {
  const exitCode = c.exit?.exitCode ?? 0;
  return {
    terminated: {
      exitCode,
      reason: c.exit?.reason || (exitCode === 0 ? 'Completed' : 'Error'),
      ...(message ? { message } : {}),
      startedAt: rfc3339(c.startedAt),
      finishedAt: rfc3339(c.exit?.exitedAt),
      containerID: BERTH_ID_PREFIX + c.id,
    },
  };
}

function runtimeState(c: RuntimeContainer, notStartedReason: string, message?: string): ContainerState {
  switch (c.state) {
    case 'running':
      return { running: { startedAt: rfc3339(c.startedAt) } };
    case 'exited':
      return terminatedState(c, message);
    case 'created':
      return { waiting: { reason: notStartedReason } };
    default:
      return { waiting: { reason: 'ContainerStatusUnknown', message: 'the container could not be located' } };
  }
}

function containerStatus(spec: PodContainer, observed: ObservedContainer | undefined, notStartedReason: string, isInit: boolean): ContainerStatus {
  const current = observed?.current;
  let state: ContainerState = current ? runtimeState(current, notStartedReason, observed?.currentMessage) : { waiting: { reason: notStartedReason } };
  let lastState: ContainerState = observed?.previous ? terminatedState(observed.previous, observed.previousMessage) : {};
  if (observed?.waiting) {
    // Waiting to run again: the run that ended moves to lastState, as kubelet shows a crash loop.
    if (current?.state === 'exited') lastState = terminatedState(current, observed.currentMessage);
    state = { waiting: { reason: observed.waiting.reason, ...(observed.waiting.message ? { message: observed.waiting.message } : {}) } };
  }
  const running = !!state.running;
  const status: ContainerStatus = {
    name: spec.name,
    state,
    lastState,
    ready: isInit ? state.terminated?.exitCode === 0 : running && observed?.ready !== false,
    restartCount: observed?.restartCount ?? 0,
    image: spec.image ?? '',
    imageID: current ? imageIdOf(current) : '',
    started: running && observed?.started !== false,
  };
  if (current) status.containerID = BERTH_ID_PREFIX + current.id;
  return status;
}

/** The repo digest, as containerd reports it: the image's repository, fully qualified (docker.io/library/busybox), @ its manifest digest. */
function imageIdOf(c: RuntimeContainer): string {
  if (!c.imageDigest) return c.imageId;
  let repository: string;
  try {
    repository = parseReference(c.image).repository;
  } catch {
    repository = c.image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  }
  return `${repository}@${c.imageDigest}`;
}

const restartPolicyOf = (pod: Pod) => pod.spec?.restartPolicy ?? 'Always';

/** Whether an init container that ended this way is done (so the next may start). */
function initSucceeded(status: ContainerStatus): boolean {
  return status.state?.terminated?.exitCode === 0;
}

/** Kubernetes' getPhase: from the containers' states and the restart policy. */
export function podPhase(pod: Pod, init: ContainerStatus[], app: ContainerStatus[]): PodPhase {
  const policy = restartPolicyOf(pod);
  const failedInit = init.find((s) => {
    const exitCode = s.state?.terminated?.exitCode ?? s.lastState?.terminated?.exitCode;
    return !initSucceeded(s) && exitCode !== undefined && exitCode !== 0;
  });
  if (!init.every(initSucceeded)) return failedInit && policy === 'Never' ? 'Failed' : 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      // A container waiting to be restarted has run: it counts as stopped, not as never started.
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === 0) return 'Pending';
  if (policy === 'Always') return 'Running';
  if (stopped === succeeded) return 'Succeeded';
  return policy === 'OnFailure' ? 'Running' : 'Failed';
}

function condition(type: string, ok: boolean, reason: string | undefined, message: string | undefined): PodCondition {
  const c: PodCondition = { type, status: ok ? 'True' : 'False', lastProbeTime: null };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

/** The conditions kubelet sets; others (readiness gates' among them) belong to whoever set them and are kept. */
const KUBELET_CONDITIONS = ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];

/**
 * kubelet's readiness-gate check: every gate's condition, set on the pod by someone else, must be True.
 * Answers why not, or undefined when they all are.
 */
function unmetReadinessGates(pod: Pod): string | undefined {
  const problems: string[] = [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const found = pod.status?.conditions?.find((c) => c.type === gate.conditionType);
    if (!found) problems.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (found.status !== 'True') problems.push(`the status of pod readiness gate "${gate.conditionType}" is not "True", but ${found.status}`);
  }
  return problems.length ? problems.join(', ') : undefined;
}

function podConditions(pod: Pod, phase: PodPhase, init: ContainerStatus[], app: ContainerStatus[]): PodCondition[] {
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const uninitialized = init.filter((s) => !initSucceeded(s)).map((s) => s.name);
  const unready = app.filter((s) => !s.ready).map((s) => s.name);
  const initialized = uninitialized.length === 0 || (terminal && init.every((s) => s.state?.terminated));
  const containersMessage = `containers with unready status: [${unready.join(' ')}]`;
  const readyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const containersReady = unready.length === 0 && !terminal;
  const gates = containersReady ? unmetReadinessGates(pod) : undefined;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const others = (pod.status?.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.includes(c.type)).map((c) => ({ ...c }));
  return [
    condition('Initialized', initialized, 'ContainersNotInitialized', `containers with incomplete status: [${uninitialized.join(' ')}]`),
    gates
      ? condition('Ready', false, 'ReadinessGatesNotReady', gates)
      : condition('Ready', containersReady, readyReason, terminal ? undefined : containersMessage),
    condition('ContainersReady', containersReady, readyReason, terminal ? undefined : containersMessage),
    scheduled ? { ...scheduled } : condition('PodScheduled', true, undefined, undefined),
    ...others,
  ];
}

/** Keeps each condition's lastTransitionTime while its status stays the same. */
function withTransitionTimes(conditions: PodCondition[], old: PodCondition[] | undefined, now: string): PodCondition[] {
  return conditions.map((c) => {
    const before = old?.find((o) => o.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : (c.lastTransitionTime ?? now) };
  });
}

/** The Kubernetes QoS class of the pod's resources. */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const has = (c: PodContainer) => Object.keys(c.resources?.requests ?? {}).length + Object.keys(c.resources?.limits ?? {}).length > 0;
  if (!containers.some(has)) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    const limits = c.resources?.limits ?? {};
    const requests = { ...limits, ...(c.resources?.requests ?? {}) };
    return ['cpu', 'memory'].every((r) => limits[r] !== undefined && requests[r] === limits[r]);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The pod's status as kubelet reports it, from what the node observed. */
export function computePodStatus(o: PodObservation): PodStatus {
  const { pod } = o;
  const now = o.now.toISOString().replace(/\.\d+Z$/, 'Z');
  const initSpecs = pod.spec?.initContainers ?? [];
  const initStatuses = initSpecs.map((spec) => containerStatus(spec, o.init.get(spec.name), 'PodInitializing', true));
  const initDone = initStatuses.every(initSucceeded);
  const appStatuses = (pod.spec?.containers ?? []).map((spec) => containerStatus(spec, o.app.get(spec.name), initDone ? 'ContainerCreating' : 'PodInitializing', false));
  const old = pod.status ?? {};
  // As kubelet: a pod that ended stays ended (a pod failed past its deadline has containers a restart policy would restart).
  const ended = old.phase === 'Succeeded' || old.phase === 'Failed';
  const phase = o.deadlineExceeded ? 'Failed' : ended ? old.phase! : podPhase(pod, initStatuses, appStatuses);
  const status: PodStatus = {
    ...old,
    phase,
    conditions: withTransitionTimes(podConditions(pod, phase, initStatuses, appStatuses), old.conditions, now),
    hostIP: o.hostIP,
    hostIPs: [{ ip: o.hostIP }],
    startTime: old.startTime ?? now,
    containerStatuses: appStatuses,
    qosClass: qosClass(pod),
  };
  if (o.deadlineExceeded) Object.assign(status, DEADLINE_EXCEEDED);
  if (initSpecs.length) status.initContainerStatuses = initStatuses;
  else delete status.initContainerStatuses;
  if (o.sandboxReady && o.podIP) {
    status.podIP = o.podIP;
    status.podIPs = [{ ip: o.podIP }];
  }
  return status;
}

/** JSON with sorted keys, so two statuses compare equal whatever order their fields were set in. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
