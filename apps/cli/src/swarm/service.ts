import type { Container, DaemonSet, Deployment, Job, KubeObject, Node, NodeSelectorRequirement, Pod, ResourceType, Service } from '@berth/api';
import { StatusError, Transport } from '@berth/client';
import { PROJECT_LABEL } from './labels';
import { BerthError } from '@berth/errors';
import { readFileSync, statSync } from 'node:fs';
import { builtinType } from '../kinds';
import { table } from '../runtime/format';
import type { Session } from '../session';
import { streamLogs } from '../commands/logs';
import { schedulableNodeLabels } from '../commands/nodes';
import { RESTARTED_AT_ANNOTATION, rolloutStatusOf, undoDeployment } from '../commands/rollout';
import { isNotFound, podSelectorOf, POD_TYPE, watchUntil } from '../commands/workloads';
import {
  affinityFor,
  constraintText,
  durationSeconds,
  envFileLines,
  parseConstraint,
  parseCpus,
  parseEnv,
  parseFailureAction,
  parseLabels,
  parsePublishFlag,
  parseSize,
  publishingService,
  serviceObjects,
  setFailureAction,
  SWARM_SERVICE_LABEL,
  swarmId,
  templateOf,
  type PublishedPort,
  type ServiceCreateOptions,
  type Workload,
} from './service-spec';
import {
  byNameOrId,
  formatRows,
  modeOf,
  portsOf,
  SERVICE_HEADERS,
  SERVICE_SELECTOR,
  serviceFilter,
  serviceName,
  serviceRow,
  TASK_HEADERS,
  taskFilter,
  taskRow,
  tasksOf,
  type ServiceView,
  type Task,
} from './tasks';

export const DEPLOYMENTS = builtinType('deployments');
export const DAEMONSETS = builtinType('daemonsets');
export const JOBS = builtinType('jobs');
export const SERVICES = builtinType('services');
export const NODES = builtinType('nodes');
const PVCS = builtinType('persistentvolumeclaims');
const WORKLOAD_TYPES = [DEPLOYMENTS, DAEMONSETS, JOBS];
const FIELD_MANAGER = 'berth-service';
const MAX_ENV_FILE = 1 << 20;

export function workloadType(workload: KubeObject): ResourceType {
  return workload.kind === 'DaemonSet' ? DAEMONSETS : workload.kind === 'Job' ? JOBS : DEPLOYMENTS;
}

/** Every service of a namespace (all with undefined): workloads with the compose service label, and their Services. */
export async function listServices(session: Session, namespace: string | undefined): Promise<ServiceView[]> {
  const [workloads, services] = await Promise.all([
    Promise.all(WORKLOAD_TYPES.map((type) => session.client.list<Workload>(type, { namespace, labelSelector: SERVICE_SELECTOR }).then((l) => l.items))),
    session.client.list<Service>(SERVICES, { namespace, labelSelector: SERVICE_SELECTOR }).then((l) => l.items),
  ]);
  const byKey = new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  // Compose's translation publishes a service's ports as `<service>-published` (beside a ClusterIP `<service>`);
  // `service create` publishes them on the Service named as the service.
  const publishing = (workload: Workload) => {
    const key = `${workload.metadata.namespace}/${workload.metadata.name}`;
    const own = byKey.get(key);
    return byKey.get(`${key}-published`) ?? (own?.spec?.type === 'ClusterIP' ? undefined : own);
  };
  return workloads
    .flat()
    .map((workload) => ({ workload, published: publishing(workload) }))
    .sort((a, b) => serviceName(a.workload).localeCompare(serviceName(b.workload)));
}

/** A service named by its name or a prefix of its ID, in the session's namespace, as docker resolves one. */
export async function findService(session: Session, ref: string): Promise<ServiceView> {
  const all = await listServices(session, session.namespace);
  return byNameOrId(all, ref, (v) => serviceName(v.workload), (v) => v.workload.metadata.uid, 'service');
}

async function podsOf(session: Session, view: ServiceView): Promise<Pod[]> {
  const labelSelector = podSelectorOf(view.workload);
  if (!labelSelector) return [];
  return (await session.client.list<Pod>(POD_TYPE, { namespace: view.workload.metadata.namespace, labelSelector })).items;
}

async function nodeIds(session: Session): Promise<Map<string, string>> {
  const nodes = await session.client.list<Node>(NODES);
  return new Map(nodes.items.map((n) => [n.metadata.name ?? '', swarmId(n.metadata.uid)]));
}

export async function serviceTasks(session: Session, view: ServiceView, ids?: Map<string, string>): Promise<Task[]> {
  const mode = modeOf(view.workload);
  // Swarm names a global service's tasks by node (NAME.NODE-ID), a global job's too.
  const global = mode === 'global' || mode === 'global-job';
  return tasksOf(serviceName(view.workload), await podsOf(session, view), global, global ? (ids ?? (await nodeIds(session))) : new Map());
}

// ---- converging: docker's progress lines, plain (one a change), as docker prints them off a terminal ----

/** Where a workload's rollout stands: tasks up to date and running of those wanted, and whether it is over. */
export function progressOf(workload: Workload): { running: number; desired: number; done: boolean } {
  const generationSeen = (workload.metadata.generation ?? 0) <= ((workload.status as { observedGeneration?: number } | undefined)?.observedGeneration ?? 0);
  if (workload.kind === 'DaemonSet') {
    const s = (workload as DaemonSet).status;
    const desired = s?.desiredNumberScheduled ?? 0;
    const running = Math.min(s?.updatedNumberScheduled ?? 0, s?.numberAvailable ?? 0);
    return { running, desired, done: generationSeen && running === desired && (s?.currentNumberScheduled ?? 0) === desired && desired > 0 };
  }
  if (workload.kind === 'Job') {
    const job = workload as Job;
    const failed = (job.status?.conditions ?? []).find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed) throw new BerthError('BadRequest', `job ${job.metadata.name} failed: ${failed.message ?? failed.reason ?? ''}`.trim());
    const done = (job.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
    return { running: job.status?.succeeded ?? 0, desired: job.spec?.completions ?? 1, done };
  }
  const deployment = workload as Deployment;
  const desired = deployment.spec?.replicas ?? 1;
  const running = Math.min(deployment.status?.updatedReplicas ?? 0, deployment.status?.availableReplicas ?? 0);
  return { running, desired, done: rolloutStatusOf(deployment).done };
}

/** Waits until the service's workload has rolled out, printing `overall progress: N out of M tasks` on each change. */
export async function converge(session: Session, workload: Workload, prefix = ''): Promise<void> {
  let printed = '';
  await watchUntil<Workload, true>(
    session,
    workloadType(workload),
    { namespace: workload.metadata.namespace, fieldSelector: `metadata.name=${workload.metadata.name}` },
    ([current]) => {
      if (!current) throw new BerthError('NotFound', `service ${serviceName(workload)} was removed while converging`);
      const { running, desired, done } = progressOf(current);
      const line = `overall progress: ${prefix}${running} out of ${desired} tasks`;
      if (line !== printed) session.out(line);
      printed = line;
      return done || undefined;
    },
  );
  session.out('verify: Service converged');
}

// ---- service create ----

export interface CreateFlags extends Omit<ServiceCreateOptions, 'envFileLines'> {
  envFile: string[];
  detach?: boolean;
}

function readEnvFiles(paths: string[]): string[] {
  return paths.flatMap((path) => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch (err) {
      throw new BerthError('BadRequest', `open ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    if (size > MAX_ENV_FILE) throw new BerthError('BadRequest', `env file ${path} is larger than ${MAX_ENV_FILE} bytes`);
    return envFileLines(readFileSync(path, 'utf8'));
  });
}

const ADJECTIVES = ['admiring', 'brave', 'clever', 'dreamy', 'eager', 'focused', 'gifted', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'quirky', 'relaxed', 'serene', 'tender', 'upbeat', 'vibrant', 'zealous'];
const SURNAMES = ['albattani', 'babbage', 'curie', 'darwin', 'euclid', 'fermi', 'galileo', 'hopper', 'jepsen', 'kepler', 'lovelace', 'meitner', 'newton', 'noether', 'pascal', 'ritchie', 'shannon', 'tesla', 'turing', 'wozniak'];

/** docker's random names, `adjective_surname`, with '-' (object names allow no '_'). */
export function randomServiceName(random = Math.random): string {
  const pick = (words: string[]) => words[Math.floor(random() * words.length)];
  return `${pick(ADJECTIVES)}-${pick(SURNAMES)}`;
}

export async function serviceCreate(session: Session, image: string, args: string[], flags: CreateFlags): Promise<void> {
  const namespace = session.namespace;
  const name = flags.name ?? randomServiceName();
  const { workload, services, claims } = await serviceObjects(name, namespace, image, args, { ...flags, envFileLines: readEnvFiles(flags.envFile) }, () => schedulableNodeLabels(session));
  // A named volume that is there already is used as it is (docker makes only a missing one).
  for (const claim of claims) {
    await session.client.create(PVCS, claim, { namespace, fieldManager: FIELD_MANAGER }).catch((err: unknown) => (err instanceof StatusError && err.reason === 'AlreadyExists' ? undefined : Promise.reject(err)));
  }
  const created = await session.client.create(workloadType(workload), workload, { namespace, fieldManager: FIELD_MANAGER });
  const made: Service[] = [];
  try {
    for (const service of services) made.push(await session.client.create(SERVICES, service, { namespace, fieldManager: FIELD_MANAGER }));
  } catch (err) {
    // No half-made service: the workload and its Services go again when its ports cannot be published.
    for (const service of made) await session.client.delete(SERVICES, service.metadata.name!, { namespace }).catch(() => undefined);
    await session.client.delete(workloadType(workload), name, { namespace, propagationPolicy: 'Background' }).catch(() => undefined);
    throw err;
  }
  session.out(swarmId(created.metadata.uid));
  if (!flags.detach) await converge(session, created);
}

// ---- ls, ps, inspect ----

export async function serviceLs(session: Session, options: { quiet?: boolean; filter: string[]; format?: string }, namespace: string | undefined = session.namespace): Promise<void> {
  const keep = serviceFilter(options.filter);
  const rows = (await listServices(session, namespace)).filter(keep).map(serviceRow);
  if (options.quiet) {
    for (const row of rows) session.out(row.ID);
    return;
  }
  if (options.format) {
    const headers = { ID: 'ID', Name: 'NAME', Mode: 'MODE', Replicas: 'REPLICAS', Image: 'IMAGE', Ports: 'PORTS' };
    for (const line of formatRows(options.format, rows as unknown as Record<string, string>[], headers)) session.out(line);
    return;
  }
  process.stdout.write(table(SERVICE_HEADERS, rows.map((r) => [r.ID, r.Name, r.Mode, r.Replicas, r.Image, r.Ports])));
}

export async function servicePs(session: Session, refs: string[], options: { quiet?: boolean; noTrunc?: boolean; filter: string[] }, views?: ServiceView[]): Promise<void> {
  const keep = taskFilter(options.filter);
  const services = views ?? (await Promise.all(refs.map((ref) => findService(session, ref))));
  const ids = await nodeIds(session);
  const rows = (await Promise.all(services.map((view) => serviceTasks(session, view, ids)))).flat().map((task) => taskRow(task, !!options.noTrunc)).filter(keep);
  if (options.quiet) {
    for (const row of rows) session.out(row.ID);
    return;
  }
  process.stdout.write(table(TASK_HEADERS, rows.map((r) => [r.ID, r.Name, r.Image, r.Node, r.DesiredState, r.CurrentState, r.Error, r.Ports])));
}

function requirementsOf(workload: KubeObject): NodeSelectorRequirement[] {
  return templateOf(workload)?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchExpressions ?? [];
}

const nanoCpus = (cpu: string | undefined) => (cpu === undefined ? undefined : Math.round((cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu)) * 1e9));
const memoryBytes = (memory: string | undefined) => (memory === undefined ? undefined : Number(memory) || memory);

/** `docker service inspect`'s JSON for a berth service. */
export function inspectService(view: ServiceView): Record<string, unknown> {
  const { workload } = view;
  const template = templateOf(workload);
  const container: Partial<Container> = template?.spec?.containers?.[0] ?? {};
  const mode = modeOf(workload);
  const strategy = (workload as Deployment).spec?.strategy?.rollingUpdate ?? (workload as DaemonSet).spec?.updateStrategy?.rollingUpdate;
  const ports = portsOf(view).map((p) => ({ Protocol: p.protocol, TargetPort: p.target, PublishedPort: p.published, PublishMode: p.mode }));
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const spec = {
    Name: serviceName(workload),
    Labels: workload.metadata.labels ?? {},
    TaskTemplate: {
      ContainerSpec: {
        Image: container.image ?? '',
        ...(template?.metadata?.labels ? { Labels: template.metadata.labels } : {}),
        ...(container.command ? { Command: container.command } : {}),
        ...(container.args ? { Args: container.args } : {}),
        ...(container.env ? { Env: container.env.map((e) => `${e.name}=${e.value ?? ''}`) } : {}),
        ...(container.workingDir ? { Dir: container.workingDir } : {}),
        ...(template?.spec?.hostname ? { Hostname: template.spec.hostname } : {}),
        ...(container.volumeMounts
          ? {
              Mounts: container.volumeMounts.map((m) => {
                const volume = template?.spec?.volumes?.find((v) => v.name === m.name);
                const type = volume?.hostPath ? 'bind' : volume?.emptyDir?.medium === 'Memory' ? 'tmpfs' : 'volume';
                const source = volume?.hostPath?.path ?? volume?.persistentVolumeClaim?.claimName;
                return { Type: type, ...(source ? { Source: source } : {}), Target: m.mountPath, ...(m.readOnly ? { ReadOnly: true } : {}) };
              }),
            }
          : {}),
      },
      Resources: {
        Limits: { ...(limits.cpu ? { NanoCPUs: nanoCpus(limits.cpu) } : {}), ...(limits.memory ? { MemoryBytes: memoryBytes(limits.memory) } : {}) },
        Reservations: { ...(requests.cpu ? { NanoCPUs: nanoCpus(requests.cpu) } : {}), ...(requests.memory ? { MemoryBytes: memoryBytes(requests.memory) } : {}) },
      },
      RestartPolicy: { Condition: template?.spec?.restartPolicy === 'Never' ? 'none' : template?.spec?.restartPolicy === 'OnFailure' ? 'on-failure' : 'any', MaxAttempts: 0 },
      Placement: requirementsOf(workload).length ? { Constraints: requirementsOf(workload).map(constraintText) } : {},
    },
    Mode:
      mode === 'global'
        ? { Global: {} }
        : mode === 'global-job'
          ? { GlobalJob: {} }
          : mode === 'replicated-job'
          ? { ReplicatedJob: { MaxConcurrent: (workload as Job).spec?.parallelism ?? 1, TotalCompletions: (workload as Job).spec?.completions ?? 1 } }
          : { Replicated: { Replicas: (workload as Deployment).spec?.replicas ?? 1 } },
    ...(mode === 'replicated-job' || mode === 'global-job'
      ? {}
      : {
          UpdateConfig: {
            Parallelism: Number(strategy?.maxSurge) || Number(strategy?.maxUnavailable) || 1,
            ...((workload as Deployment).spec?.minReadySeconds ? { Delay: (workload as Deployment).spec!.minReadySeconds! * 1e9 } : {}),
            FailureAction: 'pause',
            Order: Number(strategy?.maxSurge) > 0 && !Number(strategy?.maxUnavailable) ? 'start-first' : 'stop-first',
          },
        }),
    EndpointSpec: { Mode: 'vip', ...(ports.length ? { Ports: ports } : {}) },
  };
  const clusterIP = view.published?.spec?.clusterIP;
  return {
    ID: swarmId(workload.metadata.uid),
    Version: { Index: Number(workload.metadata.resourceVersion) || 0 },
    CreatedAt: workload.metadata.creationTimestamp ?? '',
    UpdatedAt: lastUpdate(workload),
    Spec: spec,
    Endpoint: { Spec: spec.EndpointSpec, ...(ports.length ? { Ports: ports } : {}), ...(clusterIP && clusterIP !== 'None' ? { VirtualIPs: [{ Addr: clusterIP }] } : {}) },
  };
}

function lastUpdate(workload: KubeObject): string {
  const times = (workload.metadata.managedFields ?? []).map((f) => f.time ?? '').filter(Boolean);
  return times.sort().pop() ?? workload.metadata.creationTimestamp ?? '';
}

/** `--pretty`: the human form, as docker words it. */
export function prettyService(view: ServiceView): string {
  const json = inspectService(view) as { ID: string; Spec: { Name: string; Labels: Record<string, string>; Mode: Record<string, { Replicas?: number }>; TaskTemplate: { ContainerSpec: Record<string, unknown>; Placement: { Constraints?: string[] }; Resources: { Limits: Record<string, number>; Reservations: Record<string, number> } }; UpdateConfig?: Record<string, unknown> }; Endpoint: { Ports?: { Protocol: string; TargetPort: number; PublishedPort: number; PublishMode: string }[] } };
  const { Spec: spec } = json;
  const lines = [`ID:\t\t${json.ID}`, `Name:\t\t${spec.Name}`];
  if (Object.keys(spec.Labels).length) lines.push('Labels:', ...Object.entries(spec.Labels).map(([k, v]) => ` ${k}=${v}`));
  const [modeName, mode] = Object.entries(spec.Mode)[0];
  lines.push(`Service Mode:\t${modeName}`);
  if (mode.Replicas !== undefined) lines.push(` Replicas:\t${mode.Replicas}`);
  if (spec.TaskTemplate.Placement.Constraints) lines.push('Placement:', ` Constraints:\t[${spec.TaskTemplate.Placement.Constraints.join(' ')}]`);
  if (spec.UpdateConfig) {
    lines.push('UpdateConfig:', ` Parallelism:\t${spec.UpdateConfig.Parallelism}`);
    if (spec.UpdateConfig.Delay) lines.push(` Delay:\t\t${Number(spec.UpdateConfig.Delay) / 1e9}s`);
    lines.push(` On failure:\t${spec.UpdateConfig.FailureAction}`, ` Update order:      ${spec.UpdateConfig.Order}`);
  }
  const c = spec.TaskTemplate.ContainerSpec;
  lines.push('ContainerSpec:', ` Image:\t\t${c.Image}`);
  if (c.Command) lines.push(` Command:\t${(c.Command as string[]).join(' ')}`);
  if (c.Args) lines.push(` Args:\t\t${(c.Args as string[]).join(' ')} `);
  if (c.Env) lines.push(' Env:', ...(c.Env as string[]).map((e) => `  ${e}`));
  if (c.Dir) lines.push(` Dir:\t\t${c.Dir}`);
  if (c.Mounts) lines.push('Mounts:', ...(c.Mounts as { Type: string; Source?: string; Target: string; ReadOnly?: boolean }[]).flatMap((m) => [` Target:\t${m.Target}`, `  Source:\t${m.Source ?? ''}`, `  ReadOnly:\t${m.ReadOnly ?? false}`, `  Type:\t\t${m.Type}`]));
  const { Limits: limits, Reservations: reservations } = spec.TaskTemplate.Resources;
  if (Object.keys(limits).length || Object.keys(reservations).length) {
    lines.push('Resources:');
    const section = (title: string, r: Record<string, number>) => (Object.keys(r).length ? [` ${title}:`, ...(r.NanoCPUs ? [`  CPU:\t\t${r.NanoCPUs / 1e9}`] : []), ...(r.MemoryBytes ? [`  Memory:\t${r.MemoryBytes}`] : [])] : []);
    lines.push(...section('Reservations', reservations), ...section('Limits', limits));
  }
  lines.push('Endpoint Mode:\tvip');
  if (json.Endpoint.Ports?.length) lines.push('Ports:', ...json.Endpoint.Ports.flatMap((p) => [` PublishedPort = ${p.PublishedPort}`, `  Protocol = ${p.Protocol}`, `  TargetPort = ${p.TargetPort}`, `  PublishMode = ${p.PublishMode}`]));
  return `${lines.join('\n')}\n`;
}

export async function serviceInspect(session: Session, refs: string[], options: { pretty?: boolean }): Promise<void> {
  const views: ServiceView[] = [];
  for (const ref of refs) {
    try {
      views.push(await findService(session, ref));
    } catch (err) {
      if (!(err instanceof BerthError) || err.reason !== 'NotFound') throw err;
      session.failWith(`Error: no such service: ${ref}`);
    }
  }
  if (options.pretty) {
    session.out(views.map(prettyService).join('\n'));
    return;
  }
  session.out(JSON.stringify(views.map(inspectService), null, 4));
}

// ---- logs ----

export interface ServiceLogsOptions {
  follow?: boolean;
  timestamps?: boolean;
  tail?: string;
  raw?: boolean;
  noTaskIds?: boolean;
  noTrunc?: boolean;
  since?: string;
}

/** `service logs`: every task's log, each line prefixed `web.1.<task id>@node    | ` (docker's words). */
export async function serviceLogs(session: Session, ref: string, options: ServiceLogsOptions): Promise<void> {
  const view = await findService(session, ref);
  const tasks = await serviceTasks(session, view);
  const tail = options.tail === undefined || options.tail === 'all' ? undefined : Number(options.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new BerthError('BadRequest', `invalid argument ${JSON.stringify(options.tail)} for "--tail" flag: a number or "all"`);
  const live = tasks.filter((t) => t.pod.spec?.nodeName && t.pod.status?.phase !== 'Pending');
  const logOptions = { follow: options.follow, timestamps: options.timestamps, tail, since: options.since };
  const transport = new Transport(session.connection, { userAgent: 'berth-cli' });
  const prefixes = live.map((t) => {
    const id = options.noTaskIds ? '' : `.${swarmId(t.pod.metadata.uid, options.noTrunc ? 25 : 12)}`;
    return `${t.name}${id}@${t.pod.spec?.nodeName ?? ''}`;
  });
  const width = Math.max(0, ...prefixes.map((p) => p.length));
  try {
    await Promise.all(
      live.map((task, i) => {
        const container = task.pod.spec?.containers?.[0]?.name ?? '';
        const prefix = options.raw ? '' : `${prefixes[i].padEnd(width)}    | `;
        return streamLogs(session, transport, { pod: task.pod, container }, logOptions, prefix);
      }),
    );
  } finally {
    transport.close();
  }
}

// ---- scale, update, rollback, rm ----

export function parseScaleArgs(args: string[]): { name: string; replicas: number }[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    const replicas = Number(arg.slice(eq + 1));
    if (eq <= 0 || !/^\d+$/.test(arg.slice(eq + 1)) || replicas > 100000) throw new BerthError('BadRequest', `invalid scale specifier '${arg}'.\nSee 'berth service scale --help'.`);
    return { name: arg.slice(0, eq), replicas };
  });
}

export async function serviceScale(session: Session, args: string[], options: { detach?: boolean }): Promise<void> {
  const scaled: Workload[] = [];
  for (const { name, replicas } of parseScaleArgs(args)) {
    try {
      const view = await findService(session, name);
      if (view.workload.kind !== 'Deployment') throw new BerthError('BadRequest', `${name}: scale can only be used with replicated mode`);
      await session.client.patch(DEPLOYMENTS, view.workload.metadata.name!, { spec: { replicas } }, { namespace: session.namespace, type: 'merge', subresource: 'scale' });
      session.out(`${name} scaled to ${replicas}`);
      scaled.push(await session.client.get<Workload>(DEPLOYMENTS, view.workload.metadata.name!, { namespace: session.namespace }));
    } catch (err) {
      if (!(err instanceof BerthError) && !(err instanceof StatusError)) throw err;
      session.fail(err);
    }
  }
  if (options.detach) return;
  for (const workload of scaled) await converge(session, workload);
}

export interface UpdateFlags {
  image?: string;
  replicas?: number;
  envAdd: string[];
  envRm: string[];
  publishAdd: string[];
  publishRm: string[];
  constraintAdd: string[];
  constraintRm: string[];
  labelAdd: string[];
  labelRm: string[];
  limitCpu?: string;
  limitMemory?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  force?: boolean;
  rollback?: boolean;
  detach?: boolean;
}

const sameRequirement = (a: NodeSelectorRequirement, b: NodeSelectorRequirement) => a.key === b.key && a.operator === b.operator && (a.values ?? []).join(',') === (b.values ?? []).join(',');

/** The workload after the update flags (a copy; the caller writes it back). */
export function updatedWorkload(current: Workload, flags: UpdateFlags, now = new Date()): Workload {
  const workload = JSON.parse(JSON.stringify(current)) as Workload;
  const template = templateOf(workload);
  const container = template?.spec?.containers?.[0];
  if (!template?.spec || !container) throw new BerthError('BadRequest', `service ${serviceName(current)} has no container to update`);
  if (flags.replicas !== undefined) {
    if (workload.kind !== 'Deployment') throw new BerthError('BadRequest', 'replicas can only be used with replicated mode');
    (workload as Deployment).spec!.replicas = flags.replicas;
  }
  if (flags.image !== undefined) {
    if (flags.image === '' || /\s/.test(flags.image) || flags.image.length > 512) throw new BerthError('BadRequest', `invalid image reference ${JSON.stringify(flags.image)}`);
    container.image = flags.image;
  }
  if (flags.envRm.length || flags.envAdd.length) {
    const added = parseEnv(flags.envAdd, '--env-add');
    const env = (container.env ?? []).filter((e) => !flags.envRm.includes(e.name) && !added.some((a) => a.name === e.name));
    env.push(...added);
    if (env.length) container.env = env;
    else delete container.env;
  }
  if (flags.constraintAdd.length || flags.constraintRm.length) {
    const removed = flags.constraintRm.map(parseConstraint);
    const requirements = requirementsOf(workload).filter((r) => !removed.some((x) => sameRequirement(r, x)));
    for (const added of flags.constraintAdd.map(parseConstraint)) if (!requirements.some((r) => sameRequirement(r, added))) requirements.push(added);
    const affinity = affinityFor(requirements);
    if (affinity) template.spec.affinity = { ...template.spec.affinity, ...affinity };
    else if (template.spec.affinity) {
      delete template.spec.affinity.nodeAffinity;
      if (Object.keys(template.spec.affinity).length === 0) delete template.spec.affinity;
    }
  }
  const selectorKeys = new Set(Object.keys((workload as Deployment).spec?.selector?.matchLabels ?? {}));
  for (const key of flags.labelRm) {
    if (selectorKeys.has(key) || key === SWARM_SERVICE_LABEL) throw new BerthError('BadRequest', `label ${key} is berth's own: it selects the service's tasks`);
    if (workload.metadata.labels) delete workload.metadata.labels[key];
  }
  const addedLabels = parseLabels(flags.labelAdd, '--label-add');
  for (const key of Object.keys(addedLabels)) if (selectorKeys.has(key) || key === SWARM_SERVICE_LABEL) throw new BerthError('BadRequest', `label ${key} is berth's own: it selects the service's tasks`);
  if (Object.keys(addedLabels).length) workload.metadata.labels = { ...workload.metadata.labels, ...addedLabels };
  if (flags.limitCpu !== undefined || flags.limitMemory !== undefined) {
    const limits = { ...container.resources?.limits };
    if (flags.limitCpu !== undefined) {
      if (flags.limitCpu === '0') delete limits.cpu;
      else limits.cpu = parseCpus(flags.limitCpu, '--limit-cpu');
    }
    if (flags.limitMemory !== undefined) {
      if (flags.limitMemory === '0') delete limits.memory;
      else limits.memory = String(parseSize(flags.limitMemory, '--limit-memory'));
    }
    container.resources = { ...container.resources, limits };
  }
  if (flags.updateFailureAction !== undefined || flags.updateMonitor !== undefined) {
    if (workload.kind !== 'Deployment') throw new BerthError('BadRequest', `--update-failure-action and --update-monitor are for replicated services: a ${workload.kind}'s rollout has no progress deadline`);
    const deployment = workload as Deployment;
    if (flags.updateFailureAction !== undefined) setFailureAction(deployment, parseFailureAction(flags.updateFailureAction));
    if (flags.updateMonitor !== undefined) deployment.spec!.progressDeadlineSeconds = Math.max(1, durationSeconds(flags.updateMonitor, '--update-monitor'));
  }
  if (flags.force) {
    template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, [RESTARTED_AT_ANNOTATION]: now.toISOString().replace(/\.\d+Z$/, 'Z') } };
  }
  return workload;
}

/** The ports published after `--publish-add` and `--publish-rm` (by target port, or PUBLISHED:TARGET). */
export function updatedPorts(current: PublishedPort[], add: string[], remove: string[]): PublishedPort[] {
  let ports = [...current];
  for (const spec of remove) {
    const gone = parsePublishFlag(spec);
    const before = ports.length;
    ports = ports.filter((p) => !(p.target === gone.target && p.protocol === gone.protocol && (gone.published === undefined || p.published === gone.published)));
    if (ports.length === before) throw new BerthError('BadRequest', `no published port matches ${JSON.stringify(spec)}`);
  }
  for (const spec of add) {
    const port = parsePublishFlag(spec);
    ports = ports.filter((p) => !(p.published !== undefined && p.published === port.published && p.protocol === port.protocol));
    ports.push(port);
  }
  return ports;
}

/** The container ports of the published ones (host mode: with their host port). */
function setContainerPorts(workload: Workload, ports: PublishedPort[]): void {
  const container = templateOf(workload)!.spec!.containers[0];
  const containerPorts = ports.map((p) => ({ containerPort: p.target, protocol: p.protocol.toUpperCase() as 'TCP', ...(p.mode === 'host' ? { hostPort: p.published ?? p.target } : {}) }));
  if (containerPorts.length) container.ports = containerPorts;
  else delete container.ports;
}

/** Makes, changes or removes the Service publishing the service's ingress ports, keeping node ports that stay. */
async function publish(session: Session, view: ServiceView, ports: PublishedPort[]): Promise<void> {
  const { name, namespace } = view.workload.metadata as { name: string; namespace: string };
  const labels = Object.fromEntries(Object.entries(view.workload.metadata.labels ?? {}).filter(([k]) => [SWARM_SERVICE_LABEL, PROJECT_LABEL, SERVICE_SELECTOR].includes(k)));
  const existing = view.published;
  // A service made by `service create` or compose publishes on `<name>-published`; one made before, on its own name.
  const serviceName = existing?.metadata.name ?? (await import('@berth/compose')).publishedServiceName(name);
  const selector = (view.workload as Deployment).spec?.selector?.matchLabels ?? { [SWARM_SERVICE_LABEL]: name };
  const wanted = publishingService(serviceName, namespace, ports, labels, selector);
  if (!wanted && existing) await session.client.delete(SERVICES, existing.metadata.name!, { namespace });
  else if (wanted && !existing) await session.client.create(SERVICES, wanted, { namespace, fieldManager: FIELD_MANAGER });
  else if (wanted && existing) {
    const keepNodePort = (port: number, protocol?: string) => existing.spec?.ports?.find((p) => p.port === port && p.protocol === protocol)?.nodePort;
    const servicePorts = wanted.spec!.ports!.map((p) => {
      const nodePort = keepNodePort(p.port, p.protocol);
      return nodePort ? { ...p, nodePort } : p;
    });
    await session.client.update(SERVICES, { ...existing, spec: { ...existing.spec, type: wanted.spec!.type, ports: servicePorts } } as Service, { namespace, fieldManager: FIELD_MANAGER });
  }
}

/** How often an update is tried again when the workload changed under it (its controller writes it too). */
const UPDATE_ATTEMPTS = 5;

export async function serviceUpdate(session: Session, ref: string, flags: UpdateFlags): Promise<void> {
  let view = await findService(session, ref);
  const name = serviceName(view.workload);
  if (view.workload.kind === 'Job') throw new BerthError('BadRequest', `service ${name} is a replicated-job: its tasks cannot be updated (remove it and create it again)`);
  const others = Object.entries(flags).some(([k, v]) => !['rollback', 'detach'].includes(k) && v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0));
  if (flags.rollback) {
    if (others) throw new BerthError('BadRequest', '--rollback cannot be used with other update flags');
    return serviceRollback(session, ref, { detach: flags.detach });
  }
  let ports: PublishedPort[] | undefined;
  if (flags.publishAdd.length || flags.publishRm.length) {
    const current = portsOf(view).map((p) => ({ target: p.target, published: p.published, protocol: p.protocol as PublishedPort['protocol'], mode: p.mode }));
    ports = updatedPorts(current, flags.publishAdd, flags.publishRm);
    // Checked before anything is written: the workload update below must not fail on the flags.
    updatedWorkload(view.workload, flags);
    await publish(session, view, ports);
  }
  let updated: Workload | undefined;
  for (let attempt = 1; !updated; attempt++) {
    const workload = updatedWorkload(view.workload, flags);
    if (ports) setContainerPorts(workload, ports);
    try {
      updated = await session.client.update(workloadType(workload), workload, { namespace: session.namespace, fieldManager: FIELD_MANAGER });
    } catch (err) {
      if (!(err instanceof StatusError) || err.reason !== 'Conflict' || attempt >= UPDATE_ATTEMPTS) throw err;
      view = await findService(session, ref);
    }
  }
  session.out(name);
  if (!flags.detach) await converge(session, updated);
}

export async function serviceRollback(session: Session, ref: string, options: { detach?: boolean }): Promise<void> {
  const view = await findService(session, ref);
  const name = serviceName(view.workload);
  if (view.workload.kind !== 'Deployment') throw new BerthError('BadRequest', `service ${name}: rollback is available for replicated services (berth rollout undo ds/${name} rolls a global one back)`);
  const outcome = await undoDeployment(session, view.workload.metadata.name!, 0);
  session.out(name);
  if (outcome !== 'rolled back') {
    session.notice(`service ${name} already runs the previous specification (revision ${outcome.skipped})`);
    return;
  }
  session.out('rollback: manually requested rollback');
  if (!options.detach) await converge(session, await session.client.get<Workload>(DEPLOYMENTS, view.workload.metadata.name!, { namespace: session.namespace }), 'rolling back update: ');
}

/** `service rm`: the workload (its pods with it) and its publishing Service; prints each name as docker does. */
export async function serviceRm(session: Session, refs: string[]): Promise<void> {
  for (const ref of refs) {
    try {
      const view = await findService(session, ref);
      await removeService(session, view);
      session.out(ref);
    } catch (err) {
      if (!(err instanceof BerthError) && !(err instanceof StatusError)) throw err;
      session.failWith(isNotFoundError(err) ? `Error: No such service: ${ref}` : `Error: ${err.message}`);
    }
  }
}

function isNotFoundError(err: unknown): boolean {
  return (err instanceof BerthError && err.reason === 'NotFound') || isNotFound(err);
}

export async function removeService(session: Session, view: ServiceView): Promise<void> {
  const namespace = view.workload.metadata.namespace;
  await session.client.delete(workloadType(view.workload), view.workload.metadata.name!, { namespace, propagationPolicy: 'Background' });
  // Its Services: the one that publishes its ports and (compose's) the one its name resolves to.
  const service = view.workload.metadata.labels?.[SERVICE_SELECTOR] ?? serviceName(view.workload);
  const services = await session.client.list<Service>(SERVICES, { namespace, labelSelector: `${SERVICE_SELECTOR}=${service}` });
  for (const s of services.items) await session.client.delete(SERVICES, s.metadata.name!, { namespace }).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
}

