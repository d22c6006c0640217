import type { DaemonSet, KubeObject, Node, Pod, Service } from '@berth/api';
import { MODE_ANNOTATION, SERVICE_LABEL } from './labels';
import { BerthError } from '@berth/errors';
import { ago } from '../runtime/format';
import { SWARM_SERVICE_LABEL, swarmId, templateOf, type Workload } from './service-spec';

/**
 * What the Swarm verbs show of berth's objects, computed from them alone (no requests): a service is a
 * workload (Deployment, DaemonSet or Job) carrying the compose service label; its tasks are its pods.
 */

export type ServiceModeName = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export interface ServiceView {
  workload: Workload;
  /** The Service of the same name publishing its ports, if any. */
  published?: Service;
}

export function serviceName(workload: KubeObject): string {
  return workload.metadata.labels?.[SWARM_SERVICE_LABEL] ?? workload.metadata.name ?? '';
}

export function modeOf(workload: KubeObject): ServiceModeName {
  if (workload.kind === 'Job') return workload.metadata.annotations?.[MODE_ANNOTATION] === 'global-job' ? 'global-job' : 'replicated-job';
  return workload.kind === 'DaemonSet' ? 'global' : 'replicated';
}

/** `2/3` (replicated), `3/3` (global), `1/2 (3/5 completed)` (replicated-job), as docker service ls. */
export function replicasColumn(workload: Workload): string {
  if (workload.kind === 'DaemonSet') {
    const s = (workload as DaemonSet).status;
    return `${s?.numberAvailable ?? 0}/${s?.desiredNumberScheduled ?? 0}`;
  }
  if (workload.kind === 'Job') {
    const job = workload as { spec?: { parallelism?: number; completions?: number }; status?: { active?: number; succeeded?: number } };
    return `${job.status?.active ?? 0}/${job.spec?.parallelism ?? 1} (${job.status?.succeeded ?? 0}/${job.spec?.completions ?? 1} completed)`;
  }
  const d = workload as { spec?: { replicas?: number }; status?: { availableReplicas?: number } };
  return `${d.status?.availableReplicas ?? 0}/${d.spec?.replicas ?? 1}`;
}

export function imageOf(workload: KubeObject): string {
  return templateOf(workload)?.spec?.containers?.[0]?.image ?? '';
}

export interface PortView {
  published: number;
  target: number;
  protocol: string;
  mode: 'ingress' | 'host';
}

/** The ports a service publishes: the Service's on every node (ingress), then the containers' host ports. */
export function portsOf(view: ServiceView): PortView[] {
  const ports: PortView[] = [];
  const spec = view.published?.spec;
  for (const p of spec?.ports ?? []) {
    const published = spec?.type === 'LoadBalancer' ? p.port : p.nodePort;
    if (published === undefined || spec?.type === 'ClusterIP') continue;
    const target = typeof p.targetPort === 'number' ? p.targetPort : Number(p.targetPort ?? p.port);
    ports.push({ published, target: Number.isFinite(target) ? target : p.port, protocol: (p.protocol ?? 'TCP').toLowerCase(), mode: 'ingress' });
  }
  for (const c of templateOf(view.workload)?.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.hostPort) ports.push({ published: p.hostPort, target: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase(), mode: 'host' });
    }
  }
  return ports;
}

export function portText(p: PortView): string {
  return `*:${p.published}->${p.target}/${p.protocol}`;
}

export interface ServiceRow {
  ID: string;
  Name: string;
  Mode: string;
  Replicas: string;
  Image: string;
  Ports: string;
}

export function serviceRow(view: ServiceView): ServiceRow {
  return {
    ID: swarmId(view.workload.metadata.uid, 12),
    Name: serviceName(view.workload),
    Mode: modeOf(view.workload),
    Replicas: replicasColumn(view.workload),
    Image: imageOf(view.workload),
    Ports: portsOf(view).filter((p) => p.mode === 'ingress').map(portText).join(', '),
  };
}

/** `-f name=web`, `label=k`, `label=k=v`, `mode=global`, `id=abc` (docker's service ls filters; name and id match prefixes). */
export function serviceFilter(filters: string[]): (view: ServiceView) => boolean {
  const tests = filters.map((filter) => {
    const eq = filter.indexOf('=');
    if (eq <= 0) throw new BerthError('BadRequest', `invalid filter '${filter}': use KEY=VALUE (id, name, label, mode)`);
    const key = filter.slice(0, eq).toLowerCase();
    const value = filter.slice(eq + 1);
    switch (key) {
      case 'name':
        return (v: ServiceView) => serviceName(v.workload).startsWith(value);
      case 'id':
        return (v: ServiceView) => swarmId(v.workload.metadata.uid).startsWith(value);
      case 'mode':
        if (value !== 'replicated' && value !== 'global' && value !== 'replicated-job' && value !== 'global-job') throw new BerthError('BadRequest', `invalid filter 'mode=${value}'`);
        return (v: ServiceView) => modeOf(v.workload) === value;
      case 'label': {
        const at = value.indexOf('=');
        const [k, want] = at < 0 ? [value, undefined] : [value.slice(0, at), value.slice(at + 1)];
        return (v: ServiceView) => {
          const labels = v.workload.metadata.labels ?? {};
          return Object.prototype.hasOwnProperty.call(labels, k) && (want === undefined || labels[k] === want);
        };
      }
      default:
        throw new BerthError('BadRequest', `invalid filter '${key}'`);
    }
  });
  return (view) => tests.every((test) => test(view));
}

/**
 * `--format`: a Go template of `{{.Field}}` placeholders over `fields` (`{{json .}}` the whole row as JSON);
 * `table ...` keeps the header line. Anything else in braces is refused.
 */
export function formatRows(format: string, rows: Record<string, string>[], headers: Record<string, string>): string[] {
  const table = format.startsWith('table ');
  const template = (table ? format.slice(6) : format).replace(/\\t/g, '\t');
  const render = (row: Record<string, string>) =>
    template.replace(/\{\{\s*(json \.|\.[A-Za-z]+)\s*\}\}/g, (_m, field: string) => {
      if (field === 'json .') return JSON.stringify(row);
      const key = field.slice(1);
      if (!Object.prototype.hasOwnProperty.call(row, key)) throw new BerthError('BadRequest', `template: can't evaluate field ${key}`);
      return row[key];
    });
  const leftover = template.replace(/\{\{\s*(json \.|\.[A-Za-z]+)\s*\}\}/g, '');
  if (leftover.includes('{{')) throw new BerthError('BadRequest', `unsupported --format template ${JSON.stringify(format)}: only {{.Field}} and {{json .}}`);
  const lines = rows.map(render);
  return table ? [render(headers), ...lines] : lines;
}

/**
 * One of `items` by its name, else by a prefix of its ID, as docker resolves a service or node reference;
 * NotFound or (several IDs begin so) BadRequest, naming `what`.
 */
export function byNameOrId<T>(items: T[], ref: string, nameOf: (item: T) => string, uidOf: (item: T) => string | undefined, what: string): T {
  const byName = items.find((item) => nameOf(item) === ref);
  if (byName) return byName;
  const byId = /^[0-9a-f]+$/.test(ref) ? items.filter((item) => swarmId(uidOf(item)).startsWith(ref)) : [];
  if (byId.length === 1) return byId[0];
  if (byId.length > 1) throw new BerthError('BadRequest', `${what} ${ref} is ambiguous (${byId.length} matches)`);
  throw new BerthError('NotFound', `${what} ${ref} not found`);
}

export interface Task {
  pod: Pod;
  /** `web.1` (replicated, numbered by creation order) or `web.<node id>` (global). */
  name: string;
  slot: string;
}

/**
 * A service's pods as Swarm tasks. Deployments have no ordinals, so replicated tasks are numbered by
 * creation order (oldest first, name breaking ties): a replaced task's successor takes the next free
 * number, not its predecessor's. Global tasks are named after their node's ID, as in Swarm.
 */
export function tasksOf(service: string, pods: Pod[], global: boolean, nodeIds: Map<string, string>): Task[] {
  const ordered = [...pods].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  return ordered.map((pod, i) => {
    const slot = global ? (nodeIds.get(pod.spec?.nodeName ?? '') ?? pod.spec?.nodeName ?? '') : String(i + 1);
    return { pod, slot, name: `${service}.${slot}` };
  });
}

const cap = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** docker's task state words for a pod, with the time it has been in that state. */
export function taskState(pod: Pod, now = Date.now()): { desired: string; current: string; error: string } {
  const status = pod.status ?? {};
  const container = status.containerStatuses?.[0];
  const job = (pod.metadata.ownerReferences ?? []).some((o) => o.kind === 'Job');
  let desired = job ? 'Complete' : 'Running';
  let word: string;
  let since = pod.metadata.creationTimestamp ?? '';
  let error = '';
  if (pod.metadata.deletionTimestamp) {
    desired = 'Shutdown';
    word = status.phase === 'Running' ? 'Running' : 'Shutdown';
  } else if (status.phase === 'Succeeded') {
    word = 'Complete';
    since = container?.state?.terminated?.finishedAt ?? since;
  } else if (status.phase === 'Failed') {
    word = 'Failed';
    const code = container?.state?.terminated?.exitCode;
    error = code !== undefined ? `task: non-zero exit (${code})` : (status.reason ?? status.message ?? '');
  } else if (status.phase === 'Running' && container?.state?.running) {
    word = 'Running';
    since = container.state.running.startedAt ?? status.startTime ?? since;
  } else if (!pod.spec?.nodeName) {
    word = 'Pending';
    const scheduled = (status.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (scheduled?.message) error = scheduled.message;
  } else {
    word = 'Preparing';
    const waiting = container?.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      word = waiting.reason === 'CrashLoopBackOff' ? 'Failed' : 'Rejected';
      error = waiting.message ? `${waiting.reason}: ${waiting.message}` : waiting.reason;
    }
    const terminated = container?.lastState?.terminated;
    if (waiting?.reason === 'CrashLoopBackOff' && terminated?.exitCode !== undefined) error = `task: non-zero exit (${terminated.exitCode})`;
    since = status.startTime ?? since;
  }
  return { desired, current: `${cap(word)} ${ago(since, now)}`.trim(), error };
}

export interface TaskRow {
  ID: string;
  Name: string;
  Image: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
  Ports: string;
}

export function taskRow(task: Task, noTrunc: boolean, now = Date.now()): TaskRow {
  const { desired, current, error } = taskState(task.pod, now);
  const hostPorts = (task.pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort).map((p) => `*:${p.hostPort}->${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`));
  const shown = !noTrunc && error.length > 30 ? `${error.slice(0, 29)}…` : error;
  return {
    ID: swarmId(task.pod.metadata.uid, noTrunc ? 25 : 12),
    Name: task.name,
    Image: task.pod.spec?.containers?.[0]?.image ?? '',
    Node: task.pod.spec?.nodeName ?? '',
    DesiredState: desired,
    CurrentState: current,
    Error: shown ? JSON.stringify(shown) : '',
    Ports: hostPorts.join(', '),
  };
}

export const TASK_HEADERS = ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'];
export const SERVICE_HEADERS = ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'];

/** `desired-state=running|shutdown|accepted`, `name=`, `node=`, `id=` (docker service ps's filters). */
export function taskFilter(filters: string[]): (row: TaskRow) => boolean {
  const tests = filters.map((filter) => {
    const eq = filter.indexOf('=');
    if (eq <= 0) throw new BerthError('BadRequest', `invalid filter '${filter}': use KEY=VALUE (desired-state, id, name, node)`);
    const key = filter.slice(0, eq).toLowerCase();
    const value = filter.slice(eq + 1);
    switch (key) {
      case 'desired-state': {
        const want = value.toLowerCase();
        if (!['running', 'shutdown', 'accepted', 'complete'].includes(want)) throw new BerthError('BadRequest', `invalid filter 'desired-state=${value}'`);
        return (r: TaskRow) => r.DesiredState.toLowerCase() === want || (want === 'accepted' && r.CurrentState.startsWith('Pending'));
      }
      case 'id':
        return (r: TaskRow) => r.ID.startsWith(value);
      case 'name':
        return (r: TaskRow) => r.Name.startsWith(value);
      case 'node':
        return (r: TaskRow) => r.Node === value;
      default:
        throw new BerthError('BadRequest', `invalid filter '${key}'`);
    }
  });
  return (row) => tests.every((test) => test(row));
}

/** A Node as docker node ls shows it. */
export interface NodeRow {
  ID: string;
  Self: boolean;
  Hostname: string;
  Status: string;
  Availability: string;
  ManagerStatus: string;
  EngineVersion: string;
}

export const NODE_HEADERS = ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'];

export function availabilityOf(node: Node, annotation: string): string {
  const marked = node.metadata.annotations?.[annotation];
  if (node.spec?.unschedulable) return marked === 'drain' ? 'Drain' : 'Pause';
  return 'Active';
}

/** `leader`: the node runs the API server (berth has one server, so it leads). */
export function nodeRow(node: Node, self: boolean, leader: boolean, engineVersion: string, annotation: string): NodeRow {
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status === 'True';
  return {
    ID: swarmId(node.metadata.uid),
    Self: self,
    Hostname: node.metadata.name ?? '',
    Status: ready ? 'Ready' : 'Down',
    Availability: availabilityOf(node, annotation),
    ManagerStatus: leader ? 'Leader' : '',
    EngineVersion: engineVersion,
  };
}

/** The compose service label, for finding services made by `compose`/`stack` as well as `service create`. */
export const SERVICE_SELECTOR = SERVICE_LABEL;
