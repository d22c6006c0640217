/** The columns `kubectl get pods` prints, computed as Kubernetes' printPod does. */
import type { KubeObject } from '../../../types';
import type { ConditionView, ContainerView } from '../../columns';
import { AGE, conditionTrue, humanAge, humanDuration, NAME, orNone, table, view } from '../../columns';

interface ContainerState {
  waiting?: { reason?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
}

interface ContainerStatusView {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface PodView {
  spec?: {
    containers?: ContainerView[];
    initContainers?: ContainerView[];
    nodeName?: string;
    readinessGates?: { conditionType: string }[];
  };
  status?: {
    phase?: string;
    reason?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    nominatedNodeName?: string;
    conditions?: ConditionView[];
    containerStatuses?: ContainerStatusView[];
    initContainerStatuses?: ContainerStatusView[];
  };
}

/** Keeps the latest `lastState.terminated.finishedAt` seen: the time of the most recent restart. */
class LastRestart {
  private latest = 0;
  note(status: ContainerStatusView): void {
    const finished = status.lastState?.terminated?.finishedAt;
    const at = finished ? Date.parse(finished) : NaN;
    if (!Number.isNaN(at) && at > this.latest) this.latest = at;
  }
  get time(): number {
    return this.latest;
  }
}

/** Why a terminated container stopped: its reason, else the signal or exit code. */
function terminationReason(terminated: NonNullable<ContainerState['terminated']>): string {
  if (terminated.reason) return terminated.reason;
  return terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode ?? 0}`;
}

/** The READY, STATUS and RESTARTS cells, computed the way Kubernetes' printPod does. */
function podSummary(pod: PodView, now: Date): { ready: string; status: string; restarts: string } {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const initContainers = spec.initContainers ?? [];
  // Init containers with restartPolicy Always are sidecars: they count as pod containers.
  const isSidecar = (name: string) => initContainers.some((c) => c.name === name && c.restartPolicy === 'Always');
  const total = (spec.containers ?? []).length + initContainers.filter((c) => c.restartPolicy === 'Always').length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = new LastRestart();
  const lastSidecarRestart = new LastRestart();

  let reason = status.reason || status.phase || '';
  if ((status.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const container = initStatuses[i];
    restarts += container.restartCount ?? 0;
    lastRestart.note(container);
    if (isSidecar(container.name)) {
      sidecarRestarts += container.restartCount ?? 0;
      lastSidecarRestart.note(container);
    }
    const terminated = container.state?.terminated;
    const waiting = container.state?.waiting;
    if (terminated && (terminated.exitCode ?? 0) === 0) continue;
    if (isSidecar(container.name) && container.started) {
      if (container.ready) ready++;
      continue;
    }
    if (terminated) reason = `Init:${terminationReason(terminated)}`;
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${initContainers.length}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status.conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // Walked from the last container so that the first one's state wins, as in Kubernetes.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const container = statuses[i];
      restarts += container.restartCount ?? 0;
      lastRestart.note(container);
      const { waiting, terminated, running } = container.state ?? {};
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated) reason = terminationReason(terminated);
      else if (container.ready && running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = Boolean((pod as unknown as KubeObject).metadata?.deletionTimestamp);
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';

  const restartsText =
    restarts !== 0 && lastRestart.time > 0 ? `${restarts} (${humanDuration(now.getTime() - lastRestart.time)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsText };
}

function printPod(obj: KubeObject, now: Date): unknown[] {
  const pod = view<PodView>(obj);
  const { ready, status, restarts } = podSummary(pod, now);
  const conditions = pod.status?.conditions ?? [];
  const gates = pod.spec?.readinessGates ?? [];
  const passedGates = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
  return [
    obj.metadata.name,
    ready,
    status,
    restarts,
    humanAge(obj.metadata.creationTimestamp, now),
    orNone(pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP),
    orNone(pod.spec?.nodeName),
    orNone(pod.status?.nominatedNodeName),
    gates.length ? `${passedGates}/${gates.length}` : '<none>',
  ];
}


export const podTable = table(
  [
    NAME,
    ['Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'],
    ['Status', 'string', 'The aggregate status of the containers in this pod.'],
    ['Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'],
    AGE,
    ['IP', 'string', 'The IP address allocated to the pod.', { wide: true }],
    ['Node', 'string', 'The node the pod is bound to.', { wide: true }],
    ['Nominated Node', 'string', 'The node the scheduler nominated for this pod after preemption.', { wide: true }],
    ['Readiness Gates', 'string', 'Additional conditions evaluated for pod readiness.', { wide: true }],
  ],
  printPod,
);
