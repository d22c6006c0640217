import { printControllerRevision, printDaemonSet, printEndpointSlice } from './daemonset';
import type { ResourceType } from './registry';
import { formatLabels, formatRequirements, requirementsOfSelector } from './selectors';
import type { KubeObject } from './types';

/** meta.k8s.io/v1 TableColumnDefinition. priority 1 columns show only with `-o wide`. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/**
 * The column sets of Kubernetes' server-side printers (pkg/printers/internalversion). The apiserver
 * always prints wide, so every row carries the priority-1 cells too and kubectl hides them unless -o wide.
 */
type ColumnSpec = [name: string, type: TableColumn['type'], description: string, options?: { wide?: boolean; format?: string }];

const NAME: ColumnSpec = ['Name', 'string', 'Name must be unique within a namespace.', { format: 'name' }];
const AGE: ColumnSpec = ['Age', 'string', 'The time since the object was created.'];
const CONTAINERS: ColumnSpec = ['Containers', 'string', 'Names of each container in the template.', { wide: true }];
const IMAGES: ColumnSpec = ['Images', 'string', 'Images referenced by each container in the template.', { wide: true }];
const SELECTOR: ColumnSpec = ['Selector', 'string', 'Label query over pods selected by this object.', { wide: true }];

const COLUMNS: Record<string, ColumnSpec[]> = {
  Pod: [
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
  Deployment: [
    NAME,
    ['Ready', 'string', 'Number of the pod with ready state'],
    ['Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'],
    ['Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'],
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  ReplicaSet: [
    NAME,
    ['Desired', 'integer', 'The number of desired replicas.'],
    ['Current', 'integer', 'The most recently observed number of replicas.'],
    ['Ready', 'integer', 'The number of ready replicas for this replica set.'],
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  Service: [
    NAME,
    ['Type', 'string', 'How the service is exposed.'],
    ['Cluster-IP', 'string', 'The IP address of the service inside the cluster.'],
    ['External-IP', 'string', 'The addresses the service is reachable at from outside the cluster.'],
    ['Port(s)', 'string', 'The ports exposed by this service.'],
    AGE,
    ['Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', { wide: true }],
  ],
  Node: [
    NAME,
    ['Status', 'string', 'The status of the node'],
    ['Roles', 'string', 'The roles of the node'],
    AGE,
    ['Version', 'string', 'Kubelet Version reported by the node.'],
    ['Internal-IP', 'string', 'The first internal address of the node.', { wide: true }],
    ['External-IP', 'string', 'The first external address of the node.', { wide: true }],
    ['OS-Image', 'string', 'OS Image reported by the node.', { wide: true }],
    ['Kernel-Version', 'string', 'Kernel Version reported by the node.', { wide: true }],
    ['Container-Runtime', 'string', 'ContainerRuntime Version reported by the node.', { wide: true }],
  ],
  Namespace: [NAME, ['Status', 'string', 'The status of the namespace'], AGE],
  ConfigMap: [NAME, ['Data', 'string', 'The number of data entries.'], AGE],
  Secret: [NAME, ['Type', 'string', 'Used to facilitate programmatic handling of secret data.'], ['Data', 'string', 'The number of data entries.'], AGE],
  Endpoints: [NAME, ['Endpoints', 'string', 'The set of addresses and ports that comprise the service.'], AGE],
  Event: [
    ['Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'],
    ['Type', 'string', 'Type of this event (Normal, Warning).'],
    ['Reason', 'string', 'A short, machine understandable string that gives the reason for this event.'],
    ['Object', 'string', 'The object that this event is about.'],
    ['Subobject', 'string', 'The part of the object this event is about.', { wide: true }],
    ['Source', 'string', 'The component reporting this event.', { wide: true }],
    ['Message', 'string', 'A human-readable description of the status of this operation.'],
    ['First Seen', 'string', 'The time at which the event was first recorded.', { wide: true }],
    ['Count', 'string', 'The number of times this event has occurred.', { wide: true }],
    ['Name', 'string', 'Name must be unique within a namespace.', { wide: true, format: 'name' }],
  ],
  Lease: [NAME, ['Holder', 'string', 'The identity of the holder of the current lease.'], AGE],
  PersistentVolume: [
    NAME,
    ['Capacity', 'string', 'capacity is the description of the persistent volume\'s resources and capacity.'],
    ['Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'],
    ['Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'],
    ['Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'],
    ['Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'],
    ['StorageClass', 'string', 'storageClassName is the name of StorageClass to which this persistent volume belongs.'],
    ['VolumeAttributesClass', 'string', 'Name of VolumeAttributesClass to which this persistent volume belongs.'],
    ['Reason', 'string', 'reason is a brief CamelCase string that describes any failure.'],
    AGE,
    ['VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', { wide: true }],
  ],
  PersistentVolumeClaim: [
    NAME,
    ['Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'],
    ['Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'],
    ['Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'],
    ['Access Modes', 'string', 'accessModes contains the desired access modes the volume should have.'],
    ['StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'],
    ['VolumeAttributesClass', 'string', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.'],
    AGE,
    ['VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', { wide: true }],
  ],
  StorageClass: [
    NAME,
    ['Provisioner', 'string', 'Indicates the type of the provisioner.'],
    ['ReclaimPolicy', 'string', 'Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy.'],
    ['VolumeBindingMode', 'string', 'VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'],
    ['AllowVolumeExpansion', 'string', 'AllowVolumeExpansion shows whether the storage class allow volume expand.'],
    AGE,
  ],
  StatefulSet: [NAME, ['Ready', 'string', 'Number of the pod with ready state'], AGE, CONTAINERS, IMAGES],
  DaemonSet: [
    NAME,
    ['Desired', 'integer', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/'],
    ['Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/'],
    ['Ready', 'integer', 'numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.'],
    ['Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'],
    ['Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'],
    ['Node Selector', 'string', 'NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node\'s labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/'],
    AGE,
    CONTAINERS,
    IMAGES,
    ['Selector', 'string', 'A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template\'s labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors', { wide: true }],
  ],
  ControllerRevision: [NAME, ['Controller', 'string', 'Controller of the object'], ['Revision', 'string', 'Revision of the object'], AGE],
  EndpointSlice: [
    NAME,
    ['AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation.'],
    ['Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'],
    ['Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'],
    AGE,
  ],
};

function column([name, type, description, options]: ColumnSpec): TableColumn {
  return { name, type, format: options?.format ?? '', description, priority: options?.wide ? 1 : 0 };
}

/** The columns `kubectl get` prints for this type, as Kubernetes' own printers define them. */
export function tableColumns(type: ResourceType): TableColumn[] {
  return (COLUMNS[type.kind] ?? [NAME, AGE]).map(column);
}

/** One row's cells, in tableColumns order; ages are computed against `now`. */
export function tableCells(type: ResourceType, obj: KubeObject, now: Date): unknown[] {
  const printer = PRINTERS[type.kind];
  return printer ? printer(obj, now) : [obj.metadata.name ?? '', humanAge(obj.metadata.creationTimestamp, now)];
}

/**
 * `5s`, `3m20s`, `4h`, `12d`: Kubernetes' duration.HumanDuration for the AGE column; `<unknown>` without
 * a timestamp, `<invalid>` for one more than a second in the future (clock skew up to that is "now").
 */
export function humanAge(from: string | undefined, now: Date): string {
  if (!from) return '<unknown>';
  const then = Date.parse(from);
  if (Number.isNaN(then)) return '<unknown>';
  return humanDuration(now.getTime() - then);
}

/** Kubernetes' duration.HumanDuration of a span in milliseconds. */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.trunc(milliseconds / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return withRemainder(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return withRemainder(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return withRemainder(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return withRemainder(years, 'y', days % 365, 'd');
  return `${years}y`;
}

function withRemainder(whole: number, unit: string, rest: number, restUnit: string): string {
  return rest === 0 ? `${whole}${unit}` : `${whole}${unit}${rest}${restUnit}`;
}

// ---- Printers: one per kind, reading the wire (core/v1, apps/v1) shapes loosely ----

type Printer = (obj: KubeObject, now: Date) => unknown[];

interface ContainerState {
  waiting?: { reason?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface Container {
  name: string;
  image?: string;
  restartPolicy?: string;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

interface PodView {
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    nodeName?: string;
    readinessGates?: { conditionType: string }[];
  };
  status?: {
    phase?: string;
    reason?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    nominatedNodeName?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

function view<T>(obj: KubeObject): T {
  return obj as unknown as T;
}

function orNone(value: string | undefined): string {
  return value ? value : '<none>';
}

function conditionTrue(conditions: Condition[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** Keeps the latest `lastState.terminated.finishedAt` seen: the time of the most recent restart. */
class LastRestart {
  private latest = 0;
  note(status: ContainerStatus): void {
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

interface WorkloadView {
  spec?: { replicas?: number; selector?: unknown; template?: { spec?: { containers?: Container[] } } };
  status?: { replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

/** The wide CONTAINERS and IMAGES cells: every container of the template, comma-separated. */
function containerCells(containers: Container[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name).join(','), list.map((c) => c.image ?? '').join(',')];
}

/** A workload's selector as text; `malformed` is what Kubernetes prints when it cannot be parsed. */
function selectorText(selector: unknown, malformed: string): string {
  try {
    return formatRequirements(requirementsOfSelector(selector));
  } catch {
    return malformed;
  }
}

/** Deployments and ReplicaSets default spec.replicas to 1. */
function desiredReplicas(workload: WorkloadView): number {
  return workload.spec?.replicas ?? 1;
}

function printDeployment(obj: KubeObject, now: Date): unknown[] {
  const deployment = view<WorkloadView>(obj);
  const status = deployment.status ?? {};
  return [
    obj.metadata.name,
    `${status.readyReplicas ?? 0}/${desiredReplicas(deployment)}`,
    status.updatedReplicas ?? 0,
    status.availableReplicas ?? 0,
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(deployment.spec?.template?.spec?.containers),
    selectorText(deployment.spec?.selector, '<invalid>'),
  ];
}

function printReplicaSet(obj: KubeObject, now: Date): unknown[] {
  const replicaSet = view<WorkloadView>(obj);
  const status = replicaSet.status ?? {};
  return [
    obj.metadata.name,
    desiredReplicas(replicaSet),
    status.replicas ?? 0,
    status.readyReplicas ?? 0,
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(replicaSet.spec?.template?.spec?.containers),
    // metav1.FormatLabelSelector: `<none>` for an empty selector, `<error>` for a malformed one.
    selectorText(replicaSet.spec?.selector, '<error>') || '<none>',
  ];
}

interface ServiceView {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalIPs?: string[];
    externalName?: string;
    ports?: { port: number; nodePort?: number; protocol?: string }[];
    selector?: Record<string, string>;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** Kubernetes' getServiceExternalIP for the wide (unclipped) listing the apiserver produces. */
function serviceExternalIP(service: ServiceView, type: string): string {
  const externalIPs = service.spec?.externalIPs ?? [];
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter(Boolean);
      const balancers = [...new Set(ingress)].sort();
      if (externalIPs.length) return [...balancers, ...externalIPs].join(',');
      return balancers.length ? balancers.join(',') : '<pending>';
    }
    case 'ExternalName':
      return service.spec?.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function printService(obj: KubeObject, now: Date): unknown[] {
  const service = view<ServiceView>(obj);
  // An undefaulted service is a ClusterIP one, as defaulting would make it.
  const type = service.spec?.type ?? 'ClusterIP';
  const ports = (service.spec?.ports ?? [])
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
    .join(',');
  return [
    obj.metadata.name,
    type,
    orNone(service.spec?.clusterIPs?.[0] ?? service.spec?.clusterIP),
    serviceExternalIP(service, type),
    orNone(ports),
    humanAge(obj.metadata.creationTimestamp, now),
    formatLabels(service.spec?.selector),
  ];
}

interface NodeView {
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: Condition[];
    addresses?: { type: string; address: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string; kernelVersion?: string; containerRuntimeVersion?: string };
  };
}

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';

/** Roles come from `node-role.kubernetes.io/<role>` labels and the older `kubernetes.io/role=<role>`. */
function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key.startsWith(NODE_ROLE_PREFIX) && key.length > NODE_ROLE_PREFIX.length) roles.add(key.slice(NODE_ROLE_PREFIX.length));
    else if (key === 'kubernetes.io/role' && value) roles.add(value);
  }
  return orNone([...roles].sort().join(','));
}

function printNode(obj: KubeObject, now: Date): unknown[] {
  const node = view<NodeView>(obj);
  const readyCondition = node.status?.conditions?.find((c) => c.type === 'Ready');
  const status = [readyCondition ? (readyCondition.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  const address = (type: string) => orNone(node.status?.addresses?.find((a) => a.type === type)?.address);
  const info = node.status?.nodeInfo ?? {};
  return [
    obj.metadata.name,
    status.join(','),
    nodeRoles(obj.metadata.labels),
    humanAge(obj.metadata.creationTimestamp, now),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage || '<unknown>',
    info.kernelVersion || '<unknown>',
    info.containerRuntimeVersion || '<unknown>',
  ];
}

interface EndpointsView {
  subsets?: { addresses?: { ip: string }[]; ports?: { port: number }[] }[];
}

/** `10.0.0.1:80,10.0.0.2:80 + 3 more...`: at most three addresses, each with every port of its subset. */
function formatEndpoints(endpoints: EndpointsView): string {
  const subsets = endpoints.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const shown: string[] = [];
  const limit = 3;
  let count = 0;
  const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const subset of subsets) {
    const addresses = subset.addresses ?? [];
    // Headless services may have no ports: then the bare addresses are listed.
    const targets = subset.ports?.length ? subset.ports.map((p) => (ip: string) => hostPort(ip, p.port)) : [(ip: string) => ip];
    for (const target of targets) {
      count += addresses.length;
      for (const address of addresses) {
        if (shown.length === limit) break;
        shown.push(target(address.ip));
      }
    }
  }
  const text = shown.join(',');
  return count > limit ? `${text} + ${count - limit} more...` : text;
}

interface EventView {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
  involvedObject?: { kind?: string; name?: string; fieldPath?: string };
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

function printEvent(obj: KubeObject, now: Date): unknown[] {
  const event = view<EventView>(obj);
  const firstSeen = humanAge(event.firstTimestamp || event.eventTime, now);
  let lastSeen = event.lastTimestamp ? humanAge(event.lastTimestamp, now) : firstSeen;
  let count = event.count || 1;
  if (event.series) {
    lastSeen = humanAge(event.series.lastObservedTime, now);
    count = event.series.count ?? 0;
  }
  const involved = event.involvedObject ?? {};
  const kind = (involved.kind ?? '').toLowerCase();
  const component = event.source?.component || event.reportingComponent || '';
  const instance = event.source?.host || event.reportingInstance || '';
  return [
    lastSeen,
    event.type ?? '',
    event.reason ?? '',
    involved.name ? `${kind}/${involved.name}` : kind,
    involved.fieldPath ?? '',
    instance ? `${component}, ${instance}` : component,
    (event.message ?? '').trim(),
    firstSeen,
    count,
    obj.metadata.name,
  ];
}

function countOf(map: unknown): number {
  return map && typeof map === 'object' ? Object.keys(map).length : 0;
}

/** Kubernetes' short names of access modes, as kubectl prints them. */
const ACCESS_MODE_SHORT: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

function accessModesText(modes: unknown): string {
  return Array.isArray(modes) ? modes.map((mode) => ACCESS_MODE_SHORT[String(mode)] ?? String(mode)).join(',') : '';
}

interface VolumeView {
  spec?: { capacity?: Record<string, string>; accessModes?: string[]; persistentVolumeReclaimPolicy?: string; claimRef?: { namespace?: string; name?: string }; storageClassName?: string; volumeMode?: string; volumeName?: string; volumeAttributesClassName?: string };
  status?: { phase?: string; reason?: string; capacity?: Record<string, string>; accessModes?: string[] };
}

function printPersistentVolume(obj: KubeObject, now: Date): unknown[] {
  const { spec = {}, status = {} } = view<VolumeView>(obj);
  const claim = spec.claimRef?.name ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name}` : '';
  return [
    obj.metadata.name,
    spec.capacity?.storage ?? '',
    accessModesText(spec.accessModes),
    spec.persistentVolumeReclaimPolicy ?? '',
    status.phase ?? '',
    claim,
    spec.storageClassName ?? '',
    spec.volumeAttributesClassName || '<unset>',
    status.reason ?? '',
    humanAge(obj.metadata.creationTimestamp, now),
    spec.volumeMode ?? '',
  ];
}

function printPersistentVolumeClaim(obj: KubeObject, now: Date): unknown[] {
  const { spec = {}, status = {} } = view<VolumeView>(obj);
  const bound = status.phase === 'Bound';
  return [
    obj.metadata.name,
    status.phase ?? '',
    spec.volumeName ?? '',
    bound ? (status.capacity?.storage ?? '') : '',
    bound ? accessModesText(status.accessModes) : '',
    spec.storageClassName ?? '',
    spec.volumeAttributesClassName || '<unset>',
    humanAge(obj.metadata.creationTimestamp, now),
    spec.volumeMode ?? '',
  ];
}

function printStorageClass(obj: KubeObject, now: Date): unknown[] {
  const isDefault = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class'].some((key) => obj.metadata.annotations?.[key] === 'true');
  return [
    isDefault ? `${obj.metadata.name} (default)` : obj.metadata.name,
    (obj.provisioner as string | undefined) ?? '',
    (obj.reclaimPolicy as string | undefined) ?? 'Delete',
    (obj.volumeBindingMode as string | undefined) ?? 'Immediate',
    String(obj.allowVolumeExpansion === true),
    humanAge(obj.metadata.creationTimestamp, now),
  ];
}

function printStatefulSet(obj: KubeObject, now: Date): unknown[] {
  const set = view<WorkloadView>(obj);
  return [
    obj.metadata.name,
    `${set.status?.readyReplicas ?? 0}/${desiredReplicas(set)}`,
    humanAge(obj.metadata.creationTimestamp, now),
    ...containerCells(set.spec?.template?.spec?.containers),
  ];
}

const PRINTERS: Record<string, Printer> = {
  PersistentVolume: printPersistentVolume,
  PersistentVolumeClaim: printPersistentVolumeClaim,
  StorageClass: printStorageClass,
  StatefulSet: printStatefulSet,
  Pod: printPod,
  Deployment: printDeployment,
  ReplicaSet: printReplicaSet,
  Service: printService,
  Node: printNode,
  Endpoints: (obj, now) => [obj.metadata.name, formatEndpoints(view<EndpointsView>(obj)), humanAge(obj.metadata.creationTimestamp, now)],
  Event: printEvent,
  Namespace: (obj, now) => [
    obj.metadata.name,
    view<{ status?: { phase?: string } }>(obj).status?.phase ?? '',
    humanAge(obj.metadata.creationTimestamp, now),
  ],
  ConfigMap: (obj, now) => [obj.metadata.name, countOf(obj.data) + countOf(obj.binaryData), humanAge(obj.metadata.creationTimestamp, now)],
  Secret: (obj, now) => [obj.metadata.name, (obj.type as string | undefined) ?? '', countOf(obj.data), humanAge(obj.metadata.creationTimestamp, now)],
  Lease: (obj, now) => [
    obj.metadata.name,
    view<{ spec?: { holderIdentity?: string } }>(obj).spec?.holderIdentity ?? '',
    humanAge(obj.metadata.creationTimestamp, now),
  ],
  DaemonSet: (obj, now) => printDaemonSet(obj, now, humanAge),
  ControllerRevision: (obj, now) => printControllerRevision(obj, now, humanAge),
  EndpointSlice: (obj, now) => printEndpointSlice(obj, now, humanAge),
};
