import type {
  DaemonSet,
  Deployment,
  EnvVar,
  Job,
  KubeObject,
  NodeSelectorRequirement,
  PodSpec,
  PodTemplateSpec,
  Service,
  ServicePort,
} from '@berth/api';
import type { ComposeProject, ServiceConfig, UpdateConfig } from '@berth/compose';
import { UPDATE_FAILURE_ACTION_ANNOTATION } from './labels';
import { BerthError } from '@berth/errors';
import { parseGoDuration } from '@berth/flags';
import { parseBytes } from '../runtime/format';

/**
 * Swarm's `docker service create` flags, read as docker reads them, as the keys of one compose service
 * (composeServiceOf), which @berth/compose's translation turns into objects: a flag means what its compose
 * key means. `service update` changes the objects in place (updatedWorkload, publishingService).
 */

/** The label a Swarm-style service's workload and pods carry (its pods are selected by compose's labels). */
export const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.name';
/** The availability a node was given with `berth node update --availability` (pause, drain). */
export const AVAILABILITY_ANNOTATION = 'swarm.berth.dev/availability';

export type ServiceMode = 'replicated' | 'global' | 'replicated-job' | 'global-job';
export const SERVICE_MODES: ServiceMode[] = ['replicated', 'global', 'replicated-job', 'global-job'];

export interface PublishedPort {
  target: number;
  published?: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  mode: 'ingress' | 'host';
}

const MAX_FLAG_TEXT = 4096;

function bad(message: string): BerthError {
  return new BerthError('BadRequest', message);
}

function checkLength(flag: string, text: string): void {
  if (text.length > MAX_FLAG_TEXT) throw bad(`invalid argument for ${flag}: longer than ${MAX_FLAG_TEXT} characters`);
}

function port(text: string, flag: string, spec: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw bad(`invalid argument ${JSON.stringify(spec)} for "${flag}" flag: ${JSON.stringify(text)} is not a port (1-65535)`);
  return n;
}

function protocolOf(text: string, spec: string): PublishedPort['protocol'] {
  const protocol = text.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw bad(`invalid argument ${JSON.stringify(spec)} for "--publish" flag: invalid protocol ${JSON.stringify(text)}: use tcp, udp or sctp`);
  return protocol;
}

/** `key=value,key=value` as docker's csv flags (--publish, --mount) have them, keys lower case, each once. */
function csvFields(spec: string, flag: string): Map<string, string | undefined> {
  const fields = new Map<string, string | undefined>();
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (key === '') throw bad(`invalid argument ${JSON.stringify(spec)} for "${flag}" flag: empty field`);
    if (fields.has(key)) throw bad(`invalid argument ${JSON.stringify(spec)} for "${flag}" flag: ${key} given twice`);
    fields.set(key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  return fields;
}

/**
 * `-p`/`--publish`: `[PUBLISHED:]TARGET[/PROTOCOL]` or the long form
 * `published=P,target=T[,protocol=tcp|udp|sctp][,mode=ingress|host]`. Port ranges are refused.
 */
export function parsePublishFlag(spec: string): PublishedPort {
  checkLength('--publish', spec);
  if (spec.includes('=')) {
    const fields = csvFields(spec, '--publish');
    const result: Partial<PublishedPort> = { protocol: 'tcp', mode: 'ingress' };
    for (const [key, value = ''] of fields) {
      if (key === 'target') result.target = port(value, '--publish', spec);
      else if (key === 'published') result.published = port(value, '--publish', spec);
      else if (key === 'protocol') result.protocol = protocolOf(value, spec);
      else if (key === 'mode') {
        if (value !== 'ingress' && value !== 'host') throw bad(`invalid argument ${JSON.stringify(spec)} for "--publish" flag: invalid publish mode value (${value}): must be either "ingress" or "host"`);
        result.mode = value;
      } else throw bad(`invalid argument ${JSON.stringify(spec)} for "--publish" flag: invalid field key ${key}`);
    }
    if (result.target === undefined) throw bad(`invalid argument ${JSON.stringify(spec)} for "--publish" flag: missing mandatory field "target"`);
    return result as PublishedPort;
  }
  const slash = spec.indexOf('/');
  const ports = slash < 0 ? spec : spec.slice(0, slash);
  const protocol = slash < 0 ? 'tcp' : protocolOf(spec.slice(slash + 1), spec);
  if (ports.includes('-')) throw bad(`invalid argument ${JSON.stringify(spec)} for "--publish" flag: port ranges are not supported`);
  const parts = ports.split(':');
  if (parts.length > 2) throw bad(`invalid argument ${JSON.stringify(spec)} for "--publish" flag: use [PUBLISHED:]TARGET[/PROTOCOL]; a host IP cannot be given to a service`);
  const target = port(parts[parts.length - 1], '--publish', spec);
  return { target, ...(parts.length === 2 ? { published: port(parts[0], '--publish', spec) } : {}), protocol, mode: 'ingress' };
}

export interface ServiceMount {
  type: 'volume' | 'bind' | 'tmpfs';
  source?: string;
  target: string;
  readOnly: boolean;
  tmpfsSize?: number;
}

const VOLUME_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function booleanField(value: string | undefined, spec: string, key: string): boolean {
  if (value === undefined || ['true', '1'].includes(value.toLowerCase())) return true;
  if (['false', '0'].includes(value.toLowerCase())) return false;
  throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: invalid value for ${key}: ${value}`);
}

/** `--mount type=volume|bind|tmpfs,source=S,target=T[,readonly][,tmpfs-size=N]`, as docker parses it. */
export function parseMountFlag(spec: string): ServiceMount {
  checkLength('--mount', spec);
  const fields = csvFields(spec, '--mount');
  const mount: Partial<ServiceMount> = { type: 'volume', readOnly: false };
  for (const [key, value] of fields) {
    const text = value ?? '';
    if (key === 'type') {
      if (text !== 'volume' && text !== 'bind' && text !== 'tmpfs') throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: type ${JSON.stringify(text)} is not supported: use volume, bind or tmpfs`);
      mount.type = text;
    } else if (key === 'source' || key === 'src') mount.source = text;
    else if (key === 'target' || key === 'destination' || key === 'dst') mount.target = text;
    else if (key === 'readonly' || key === 'ro') mount.readOnly = booleanField(value, spec, key);
    else if (key === 'tmpfs-size') mount.tmpfsSize = parseSize(text, '--mount tmpfs-size');
    else throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: unexpected key '${key}' in '${spec}'`);
  }
  if (!mount.target) throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: target is required`);
  if (!mount.target.startsWith('/')) throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: target must be an absolute path`);
  if (mount.type === 'bind' && !mount.source?.startsWith('/')) throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: a bind mount needs an absolute source`);
  if (mount.type === 'tmpfs' && mount.source) throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: a tmpfs mount has no source`);
  if (mount.type !== 'tmpfs' && mount.tmpfsSize !== undefined) throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: tmpfs-size is for type=tmpfs`);
  if (mount.type === 'volume' && mount.source !== undefined && mount.source !== '' && !VOLUME_NAME.test(mount.source)) {
    throw bad(`invalid argument ${JSON.stringify(spec)} for "--mount" flag: volume name ${JSON.stringify(mount.source)} must be lower-case letters, digits and '-' (it names a PersistentVolumeClaim)`);
  }
  if (mount.source === '') delete mount.source;
  return mount as ServiceMount;
}

const ARCHES: Record<string, string> = { x86_64: 'amd64', amd64: 'amd64', aarch64: 'arm64', arm64: 'arm64' };

/**
 * `--constraint`: `node.hostname==x`, `node.labels.k!=v`, `node.platform.os==linux`, `node.platform.arch==x86_64`
 * as a node selector requirement on the nodes' labels. `node.role` is refused: berth's server is not a role
 * its nodes carry (the server's own node is told by its address), and `node.id` names no label.
 */
export function parseConstraint(spec: string): NodeSelectorRequirement {
  checkLength('--constraint', spec);
  const match = /^\s*([A-Za-z0-9_.\-/]+)\s*(==|!=)\s*(.*?)\s*$/.exec(spec);
  if (!match || match[3] === '') throw bad(`invalid constraint ${JSON.stringify(spec)}: use KEY==VALUE or KEY!=VALUE (node.hostname, node.labels.NAME, node.platform.os, node.platform.arch)`);
  const [, key, op, value] = match;
  const operator = op === '==' ? 'In' : 'NotIn';
  if (key === 'node.hostname') return { key: 'kubernetes.io/hostname', operator, values: [value] };
  if (key === 'node.platform.os') return { key: 'kubernetes.io/os', operator, values: [value] };
  if (key === 'node.platform.arch') return { key: 'kubernetes.io/arch', operator, values: [ARCHES[value] ?? value] };
  if (key.startsWith('node.labels.') && key.length > 'node.labels.'.length) return { key: key.slice('node.labels.'.length), operator, values: [value] };
  if (key === 'node.role') throw bad(`invalid constraint ${JSON.stringify(spec)}: node.role is not supported: berth has one server and no manager nodes; use node.hostname==NAME`);
  throw bad(`invalid constraint ${JSON.stringify(spec)}: ${key} is not supported (node.hostname, node.labels.NAME, node.platform.os, node.platform.arch)`);
}

/** A requirement as `--constraint` words it again (service inspect's Placement). */
export function constraintText(r: NodeSelectorRequirement): string {
  const key = r.key === 'kubernetes.io/hostname' ? 'node.hostname' : r.key === 'kubernetes.io/os' ? 'node.platform.os' : r.key === 'kubernetes.io/arch' ? 'node.platform.arch' : `node.labels.${r.key}`;
  return `${key}${r.operator === 'NotIn' ? '!=' : '=='}${(r.values ?? []).join(',')}`;
}

/** docker's memory sizes (`512m`, `1g`, bytes) in bytes. */
export function parseSize(text: string, flag: string): number {
  try {
    return parseBytes(text);
  } catch {
    throw bad(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: not a size (e.g. 512m, 1g)`);
  }
}

/** docker's `--limit-cpu 0.5`: a CPU quantity. */
export function parseCpus(text: string, flag: string): string {
  if (!/^\d+(\.\d{1,3})?$/.test(text) || Number(text) <= 0) throw bad(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: a number of CPUs, e.g. 0.5`);
  return text;
}

export function durationSeconds(text: string, flag: string): number {
  try {
    return Math.ceil(parseGoDuration(text) / 1000);
  } catch (err) {
    throw bad(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: ${(err as Error).message}`);
  }
}

/** `KEY=VALUE` (or `KEY`, the value taken from this environment, as docker does) into env vars. */
export function parseEnv(pairs: string[], flag: string, environment: NodeJS.ProcessEnv = process.env): EnvVar[] {
  const env: EnvVar[] = [];
  for (const pair of pairs) {
    checkLength(flag, pair);
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (name === '' || /\s/.test(name)) throw bad(`invalid argument ${JSON.stringify(pair)} for "${flag}" flag: invalid variable name`);
    const value = eq < 0 ? environment[name] : pair.slice(eq + 1);
    if (value === undefined) continue;
    const at = env.findIndex((e) => e.name === name);
    if (at >= 0) env.splice(at, 1);
    env.push({ name, value });
  }
  return env;
}

/** An env file's lines (`#` comments and blank lines skipped) as `--env` would take them. */
export function envFileLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/^\s+/, ''))
    .filter((line) => line !== '' && !line.startsWith('#'));
}

export function parseLabels(pairs: string[], flag: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    checkLength(flag, pair);
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === '') throw bad(`invalid argument ${JSON.stringify(pair)} for "${flag}" flag: empty label key`);
    Object.defineProperty(labels, key, { value: eq < 0 ? '' : pair.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return labels;
}

export interface ServiceCreateOptions {
  name?: string;
  replicas?: number;
  mode?: string;
  publish: string[];
  env: string[];
  /** The env files' lines, read by the caller. */
  envFileLines?: string[];
  mount: string[];
  constraint: string[];
  label: string[];
  containerLabel: string[];
  limitCpu?: string;
  limitMemory?: string;
  reserveCpu?: string;
  reserveMemory?: string;
  updateParallelism?: number;
  updateDelay?: string;
  updateOrder?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  restartCondition?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: number;
  healthStartPeriod?: string;
  noHealthcheck?: boolean;
}

export type Workload = Deployment | DaemonSet | Job;

export interface ServiceObjects {
  workload: Workload;
  /** Its Services: `<name>` inside the project, `<name>-published` publishing its ingress ports on every node. */
  services: Service[];
  /** The claims of the named volumes it mounts: made when missing. */
  claims: KubeObject[];
}

const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function checkServiceName(name: string): void {
  if (!SERVICE_NAME.test(name)) throw bad(`invalid name ${JSON.stringify(name)}: a service name is lower-case letters, digits and '-', starting with a letter, at most 63 characters`);
}

/** Splits `--entrypoint "sh -c"` into words as docker does (quotes kept together). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** The placement the pods get from the constraints: one required node selector term. */
export function affinityFor(requirements: NodeSelectorRequirement[]): PodSpec['affinity'] | undefined {
  if (requirements.length === 0) return undefined;
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: requirements }] } } };
}

/**
 * The Service `name` publishing `ports` (ingress mode) on every node to the pods `selector` selects, or
 * undefined when none are: what `service update --publish-add|--publish-rm` makes of a service's ports.
 */
export function publishingService(name: string, namespace: string, ports: PublishedPort[], labels: Record<string, string>, selector: Record<string, string>): Service | undefined {
  const ingress = ports.filter((p) => p.mode === 'ingress');
  if (ingress.length === 0) return undefined;
  // Every port published at a port of its own: a LoadBalancer (berth's service-lb answers on every node, as Swarm's
  // routing mesh). Ports without published ones get node ports from the range, as Swarm picks them from 30000+.
  // Both at once would need a port of the range given as the published one: refused.
  const loadBalancer = ingress.every((p) => p.published !== undefined);
  if (!loadBalancer && ingress.some((p) => p.published !== undefined)) {
    throw bad('publish every ingress port at a port of its own (PUBLISHED:TARGET), or none (each gets a node port from the range): berth cannot mix the two');
  }
  const servicePorts: ServicePort[] = ingress.map((p, i) => ({
    name: `${p.protocol}-${p.target}-${i}`,
    protocol: p.protocol.toUpperCase() as ServicePort['protocol'],
    port: loadBalancer ? p.published! : p.target,
    targetPort: p.target,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: { type: loadBalancer ? 'LoadBalancer' : 'NodePort', selector: { ...selector }, ports: servicePorts },
  } as Service;
}

/**
 * `--update-failure-action`: what happens to a rollout that fails (exceeds its progress deadline,
 * `--update-monitor`). pause: it stops where it is (a Deployment's own behaviour); rollback: the cluster rolls
 * it back to the previous revision (the annotation the compose-rollback controller acts on). Swarm's
 * `continue` cannot be honoured: a Deployment never goes on past a task that does not become ready.
 */
export function parseFailureAction(text: string): 'pause' | 'rollback' {
  if (text === 'pause' || text === 'rollback') return text;
  if (text === 'continue') throw bad('--update-failure-action continue is not supported: a rollout that fails stops (pause) or is rolled back (rollback)');
  throw bad(`invalid argument ${JSON.stringify(text)} for "--update-failure-action" flag: use pause or rollback`);
}

/** Sets (rollback) or removes (pause) the failure action on a Deployment's annotations. */
export function setFailureAction(deployment: Deployment, action: 'pause' | 'rollback'): void {
  const annotations = { ...deployment.metadata.annotations };
  if (action === 'rollback') annotations[UPDATE_FAILURE_ACTION_ANNOTATION] = 'rollback';
  else delete annotations[UPDATE_FAILURE_ACTION_ANNOTATION];
  if (Object.keys(annotations).length) deployment.metadata.annotations = annotations;
  else delete deployment.metadata.annotations;
}

export function parseMode(text: string | undefined): ServiceMode {
  const mode = (text ?? 'replicated') as ServiceMode;
  if (!SERVICE_MODES.includes(mode)) throw bad(`invalid argument ${JSON.stringify(text)} for "--mode" flag: use replicated, global, replicated-job or global-job`);
  return mode;
}

/** The docker flags `service create` checks itself, with docker's messages, before the translation sees them. */
function checkCreateFlags(name: string, image: string, mode: ServiceMode, options: ServiceCreateOptions): void {
  checkServiceName(name);
  if (image === '' || image.length > 512 || /\s/.test(image)) throw bad(`invalid image reference ${JSON.stringify(image)}`);
  if (options.replicas !== undefined && (mode === 'global' || mode === 'global-job')) throw bad('replicas can only be used with replicated or replicated-job mode');
  const job = mode === 'replicated-job' || mode === 'global-job';
  const condition = options.restartCondition ?? (job ? 'on-failure' : 'any');
  if (!['any', 'on-failure', 'none'].includes(condition)) throw bad(`invalid argument ${JSON.stringify(condition)} for "--restart-condition" flag: use any, on-failure or none`);
  if (!job && condition !== 'any') throw bad(`--restart-condition ${condition} needs --mode replicated-job or global-job: a long-running service's tasks always restart`);
  if (job && condition === 'any') throw bad('--restart-condition any cannot be used with a job mode: use on-failure or none');
  if (options.updateOrder !== undefined && options.updateOrder !== 'stop-first' && options.updateOrder !== 'start-first') {
    throw bad(`invalid argument ${JSON.stringify(options.updateOrder)} for "--update-order" flag: use start-first or stop-first`);
  }
  if (options.noHealthcheck && options.healthCmd !== undefined) throw bad('--no-healthcheck conflicts with --health-* options');
  options.constraint.forEach(parseConstraint);
}

/** A duration flag as compose writes one (`30s`), checked as docker reads it. */
function durationFlag(text: string, flag: string): string {
  durationSeconds(text, flag);
  return text;
}

/**
 * The compose service `service create`'s flags stand for, so that a flag and its compose key mean exactly the
 * same (docker's flags are compose's `deploy` keys under other names): --replicas and --mode are
 * deploy.replicas and deploy.mode, -p ports, --mount volumes (a named volume a top-level volume of the
 * project), --constraint deploy.placement.constraints, --label deploy.labels, --container-label labels,
 * --limit-* and --reserve-* deploy.resources, --update-* deploy.update_config, --restart-condition
 * deploy.restart_policy.condition, --health-* healthcheck, --entrypoint and the arguments entrypoint and
 * command. Both label sets carry the Swarm service label, which `berth service` finds tasks by.
 */
export function composeServiceOf(name: string, image: string, args: string[], options: ServiceCreateOptions): { fields: Partial<ServiceConfig>; volumes: ComposeProject['volumes'] } {
  const mode = parseMode(options.mode);
  checkCreateFlags(name, image, mode, options);
  const swarm = { [SWARM_SERVICE_LABEL]: name };
  const deploy: NonNullable<ServiceConfig['deploy']> = { mode, labels: { ...parseLabels(options.label, '--label'), ...swarm } };
  if (options.replicas !== undefined) deploy.replicas = options.replicas;
  if (options.constraint.length) deploy.placement = { constraints: options.constraint, preferences: [] };
  const limits: { cpus?: string; memory?: number } = {};
  const reservations: { cpus?: string; memory?: number } = {};
  if (options.limitCpu !== undefined) limits.cpus = parseCpus(options.limitCpu, '--limit-cpu');
  if (options.limitMemory !== undefined) limits.memory = parseSize(options.limitMemory, '--limit-memory');
  if (options.reserveCpu !== undefined) reservations.cpus = parseCpus(options.reserveCpu, '--reserve-cpu');
  if (options.reserveMemory !== undefined) reservations.memory = parseSize(options.reserveMemory, '--reserve-memory');
  if (Object.keys(limits).length || Object.keys(reservations).length) {
    deploy.resources = { ...(Object.keys(limits).length ? { limits } : {}), ...(Object.keys(reservations).length ? { reservations } : {}) };
  }
  const update: UpdateConfig = {};
  if (options.updateParallelism !== undefined) update.parallelism = options.updateParallelism;
  if (options.updateDelay !== undefined) update.delay = durationFlag(options.updateDelay, '--update-delay');
  if (options.updateOrder !== undefined) update.order = options.updateOrder as UpdateConfig['order'];
  if (options.updateFailureAction !== undefined) update.failure_action = parseFailureAction(options.updateFailureAction);
  if (options.updateMonitor !== undefined) update.monitor = durationFlag(options.updateMonitor, '--update-monitor');
  if (Object.keys(update).length) {
    if ((update.failure_action === 'rollback' || update.monitor !== undefined) && mode !== 'replicated') {
      throw bad(`--update-failure-action rollback and --update-monitor are for replicated services: a ${mode} service's rollout has no progress deadline`);
    }
    deploy.update_config = update;
  }
  if (mode === 'replicated-job' || mode === 'global-job') deploy.restart_policy = { condition: (options.restartCondition ?? 'on-failure') as 'on-failure' | 'none' };

  const environment: Record<string, string> = {};
  for (const { name: key, value } of parseEnv([...(options.envFileLines ?? []), ...options.env], '--env')) environment[key] = value ?? '';
  const ports = options.publish.map(parsePublishFlag).map((p) => {
    if (p.protocol === 'sctp') throw bad(`invalid argument for "--publish" flag: sctp is not supported (a compose port is tcp or udp)`);
    return { target: p.target, ...(p.published !== undefined ? { published: p.published } : {}), protocol: p.protocol, mode: p.mode };
  });
  const volumes: ComposeProject['volumes'] = {};
  const mounts = options.mount.map(parseMountFlag).map((m): ServiceConfig['volumes'][number] => {
    const readOnly = m.readOnly ? { read_only: true } : {};
    if (m.type === 'tmpfs') return { type: 'tmpfs', target: m.target, ...(m.tmpfsSize ? { tmpfs: { size: m.tmpfsSize } } : {}) };
    if (m.type === 'bind') return { type: 'bind', source: m.source, target: m.target, ...readOnly };
    // docker makes a named volume that is not there yet: the project's volume of that name, a claim of that name.
    if (m.source) volumes[m.source] = { name: m.source, driver_opts: {}, labels: {} };
    return { type: 'volume', ...(m.source ? { source: m.source } : {}), target: m.target, ...readOnly };
  });

  const service: Partial<ServiceConfig> = { image, environment, labels: { ...parseLabels(options.containerLabel, '--container-label'), ...swarm }, ports, volumes: mounts, deploy };
  if (options.entrypoint !== undefined) service.entrypoint = splitWords(options.entrypoint);
  if (args.length > 0) service.command = args;
  if (options.workdir) service.working_dir = options.workdir;
  if (options.user) service.user = options.user;
  if (options.hostname) service.hostname = options.hostname;
  if (options.noHealthcheck) service.healthcheck = { disable: true };
  else if (options.healthCmd !== undefined) {
    service.healthcheck = { test: ['CMD-SHELL', options.healthCmd] };
    if (options.healthInterval !== undefined) service.healthcheck.interval = durationFlag(options.healthInterval, '--health-interval');
    if (options.healthTimeout !== undefined) service.healthcheck.timeout = durationFlag(options.healthTimeout, '--health-timeout');
    if (options.healthRetries !== undefined) service.healthcheck.retries = options.healthRetries;
    if (options.healthStartPeriod !== undefined) service.healthcheck.start_period = durationFlag(options.healthStartPeriod, '--health-start-period');
  }
  return { fields: service, volumes };
}

/**
 * The objects `service create` makes, as `compose up` would make them for the one-service project
 * `<namespace>` (translateProject, loaded on use: the CLI's start must not load the compose lib): the
 * workload named as the service, its Services (`<name>` inside the project, `<name>-published` for ports
 * published in ingress mode) and the claims of its named volumes. The project's Namespace is not made: the
 * service goes into the session's namespace as it is.
 */
export async function serviceObjects(
  name: string,
  namespace: string,
  image: string,
  args: string[],
  options: ServiceCreateOptions,
  schedulableNodes?: () => Promise<Array<Record<string, string>>>,
): Promise<ServiceObjects> {
  const { fields, volumes } = composeServiceOf(name, image, args, options);
  const { composeProject, composeService, translateProject, bindSourceKinds } = await import('@berth/compose');
  const project = composeProject(namespace, [composeService(name, fields)], { volumes, workingDir: process.cwd(), files: [] });
  // A global job runs one task on each node it may use now, as Swarm's: the translation counts them.
  const nodes = fields.deploy?.mode === 'global-job' && schedulableNodes ? await schedulableNodes() : undefined;
  const objects = translateProject(project, { bindKinds: await bindSourceKinds(project), schedulableNodes: nodes });
  const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet' || o.kind === 'Job') as Workload;
  return {
    workload,
    services: objects.filter((o): o is Service => o.kind === 'Service'),
    claims: objects.filter((o) => o.kind === 'PersistentVolumeClaim'),
  };
}

/** The pod template of any of the three workload kinds. */
export function templateOf(workload: KubeObject): PodTemplateSpec | undefined {
  return (workload as Workload).spec?.template;
}

/** docker's 25-character ids: a uid without its dashes, cut. */
export function swarmId(uid: string | undefined, length = 25): string {
  return (uid ?? '').replace(/-/g, '').slice(0, length);
}
