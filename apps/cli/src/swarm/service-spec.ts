import type {
  Container,
  ContainerPort,
  DaemonSet,
  Deployment,
  EnvVar,
  Job,
  KubeObject,
  NodeSelectorRequirement,
  PodSpec,
  PodTemplateSpec,
  Probe,
  Service,
  ServicePort,
  Volume,
  VolumeMount,
} from '@berth/api';
import { PROJECT_LABEL, SERVICE_LABEL, UPDATE_FAILURE_ACTION_ANNOTATION } from './labels';
import { BerthError } from '@berth/errors';
import { parseGoDuration } from '@berth/flags';
import { parseBytes } from '../runtime/format';

/**
 * Swarm's `docker service create` flags as berth objects. This is berth's own small mapping of a service
 * onto a workload (Deployment, DaemonSet or Job) and, for published ports, a Service; @berth/compose's
 * translation of a whole compose project did not exist when this was written (see the swarm README
 * section): what both map is mapped the same way (labels, modes, placement, resources, ports).
 */

/** The label every object of a Swarm-style service carries, and that its pods are selected by. */
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
  /** The Service that publishes its ingress ports on every node, if any. */
  service?: Service;
  /** The named volumes it mounts: PersistentVolumeClaims to make when missing. */
  claims: string[];
}

const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function checkServiceName(name: string): void {
  if (!SERVICE_NAME.test(name)) throw bad(`invalid name ${JSON.stringify(name)}: a service name is lower-case letters, digits and '-', starting with a letter, at most 63 characters`);
}

function resources(options: ServiceCreateOptions): Container['resources'] | undefined {
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (options.limitCpu !== undefined) limits.cpu = parseCpus(options.limitCpu, '--limit-cpu');
  if (options.limitMemory !== undefined) limits.memory = String(parseSize(options.limitMemory, '--limit-memory'));
  if (options.reserveCpu !== undefined) requests.cpu = parseCpus(options.reserveCpu, '--reserve-cpu');
  if (options.reserveMemory !== undefined) requests.memory = String(parseSize(options.reserveMemory, '--reserve-memory'));
  const result: NonNullable<Container['resources']> = {};
  if (Object.keys(limits).length) result.limits = limits;
  if (Object.keys(requests).length) result.requests = requests;
  return Object.keys(result).length ? result : undefined;
}

function healthProbe(options: ServiceCreateOptions): Probe | undefined {
  if (options.noHealthcheck) {
    if (options.healthCmd !== undefined) throw bad('--no-healthcheck conflicts with --health-* options');
    return undefined;
  }
  if (options.healthCmd === undefined) return undefined;
  const probe: Probe = { exec: { command: ['/bin/sh', '-c', options.healthCmd] } };
  if (options.healthInterval !== undefined) probe.periodSeconds = Math.max(1, durationSeconds(options.healthInterval, '--health-interval'));
  if (options.healthTimeout !== undefined) probe.timeoutSeconds = Math.max(1, durationSeconds(options.healthTimeout, '--health-timeout'));
  if (options.healthRetries !== undefined) probe.failureThreshold = Math.max(1, options.healthRetries);
  if (options.healthStartPeriod !== undefined) probe.initialDelaySeconds = durationSeconds(options.healthStartPeriod, '--health-start-period');
  return probe;
}

/** `--user uid[:gid]`: only numbers, as a pod's securityContext takes them. */
function userContext(user: string): Container['securityContext'] {
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) throw bad(`invalid argument ${JSON.stringify(user)} for "--user" flag: berth takes a numeric UID[:GID]`);
  return { runAsUser: Number(match[1]), ...(match[2] !== undefined ? { runAsGroup: Number(match[2]) } : {}) };
}

function volumeFor(mount: ServiceMount, index: number, claims: string[]): { volume: Volume; mount: VolumeMount } {
  const name = `mount-${index}`;
  const volumeMount: VolumeMount = { name, mountPath: mount.target, ...(mount.readOnly ? { readOnly: true } : {}) };
  if (mount.type === 'bind') return { volume: { name, hostPath: { path: mount.source! } }, mount: volumeMount };
  if (mount.type === 'tmpfs') return { volume: { name, emptyDir: { medium: 'Memory', ...(mount.tmpfsSize ? { sizeLimit: String(mount.tmpfsSize) } : {}) } }, mount: volumeMount };
  if (!mount.source) return { volume: { name, emptyDir: {} }, mount: volumeMount };
  if (!claims.includes(mount.source)) claims.push(mount.source);
  return { volume: { name, persistentVolumeClaim: { claimName: mount.source, ...(mount.readOnly ? { readOnly: true } : {}) } }, mount: volumeMount };
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

/** The Service publishing `ports` (ingress mode) on every node, or undefined when none are. */
export function publishingService(name: string, namespace: string, ports: PublishedPort[], labels: Record<string, string>): Service | undefined {
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
    spec: { type: loadBalancer ? 'LoadBalancer' : 'NodePort', selector: { [SWARM_SERVICE_LABEL]: name }, ports: servicePorts },
  } as Service;
}

/** Swarm's update config onto a rolling update: parallelism at a time, stop-first (surge 0) or start-first. */
function rollingUpdate(options: ServiceCreateOptions): { maxSurge: number | string; maxUnavailable: number | string } | undefined {
  if (options.updateParallelism === undefined && options.updateOrder === undefined) return undefined;
  const batch: number | string = options.updateParallelism === 0 ? '100%' : (options.updateParallelism ?? 1);
  const order = options.updateOrder ?? 'stop-first';
  if (order !== 'stop-first' && order !== 'start-first') throw bad(`invalid argument ${JSON.stringify(order)} for "--update-order" flag: use start-first or stop-first`);
  return order === 'start-first' ? { maxSurge: batch, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: batch };
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
  if (mode === 'global-job') throw bad('--mode global-job is not supported: berth has no per-node Job yet (use global, or replicated-job)');
  return mode;
}

/**
 * The objects `service create` makes: the workload named as the service (a Deployment, a DaemonSet for
 * global, a Job for replicated-job), labelled with the service name and the compose labels (project = the
 * namespace, so `berth stack` sees it), and a Service for ports published in ingress mode.
 */
export function serviceObjects(name: string, namespace: string, image: string, args: string[], options: ServiceCreateOptions): ServiceObjects {
  checkServiceName(name);
  if (image === '' || image.length > 512 || /\s/.test(image)) throw bad(`invalid image reference ${JSON.stringify(image)}`);
  const mode = parseMode(options.mode);
  if (options.replicas !== undefined && mode === 'global') throw bad('replicas can only be used with replicated or replicated-job mode');
  const labels = { [SWARM_SERVICE_LABEL]: name, [PROJECT_LABEL]: namespace, [SERVICE_LABEL]: name };
  const ports = options.publish.map(parsePublishFlag);
  const mounts = options.mount.map(parseMountFlag);
  const claims: string[] = [];
  const container: Container = { name, image };
  if (options.entrypoint !== undefined) container.command = splitWords(options.entrypoint);
  if (args.length > 0) container.args = args;
  const env = parseEnv([...(options.envFileLines ?? []), ...options.env], '--env');
  if (env.length > 0) container.env = env;
  if (options.workdir) container.workingDir = options.workdir;
  if (options.user) container.securityContext = userContext(options.user);
  const res = resources(options);
  if (res) container.resources = res;
  const probe = healthProbe(options);
  if (probe) container.readinessProbe = container.livenessProbe = probe;
  const containerPorts: ContainerPort[] = ports.map((p) => ({
    containerPort: p.target,
    protocol: p.protocol.toUpperCase() as ContainerPort['protocol'],
    ...(p.mode === 'host' ? { hostPort: p.published ?? p.target } : {}),
  }));
  if (containerPorts.length) container.ports = containerPorts;
  const volumes: Volume[] = [];
  mounts.forEach((m, i) => {
    const { volume, mount } = volumeFor(m, i, claims);
    volumes.push(volume);
    (container.volumeMounts ??= []).push(mount);
  });

  const job = mode === 'replicated-job';
  const condition = options.restartCondition ?? (job ? 'on-failure' : 'any');
  if (!['any', 'on-failure', 'none'].includes(condition)) throw bad(`invalid argument ${JSON.stringify(condition)} for "--restart-condition" flag: use any, on-failure or none`);
  if (!job && condition !== 'any') throw bad(`--restart-condition ${condition} needs --mode replicated-job: a long-running service's tasks always restart`);
  if (job && condition === 'any') throw bad('--restart-condition any cannot be used with --mode replicated-job: use on-failure or none');
  const spec: PodSpec = { containers: [container], restartPolicy: job ? (condition === 'none' ? 'Never' : 'OnFailure') : 'Always' };
  if (volumes.length) spec.volumes = volumes;
  if (options.hostname) spec.hostname = options.hostname;
  const affinity = affinityFor(options.constraint.map(parseConstraint));
  if (affinity) spec.affinity = affinity;
  const template: PodTemplateSpec = { metadata: { labels: { ...parseLabels(options.containerLabel, '--container-label'), ...labels } }, spec };
  const metadata = { name, namespace, labels: { ...parseLabels(options.label, '--label'), ...labels } };
  const selector = { matchLabels: { [SWARM_SERVICE_LABEL]: name } };
  const failureAction = options.updateFailureAction === undefined ? undefined : parseFailureAction(options.updateFailureAction);
  if ((failureAction === 'rollback' || options.updateMonitor !== undefined) && mode !== 'replicated') {
    throw bad(`--update-failure-action rollback and --update-monitor are for replicated services: a ${mode} service's rollout has no progress deadline`);
  }
  const update = rollingUpdate(options);
  const delay = options.updateDelay !== undefined ? durationSeconds(options.updateDelay, '--update-delay') : undefined;

  let workload: Workload;
  if (mode === 'global') {
    workload = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata, spec: { selector, template, ...(update ? { updateStrategy: { type: 'RollingUpdate', rollingUpdate: update } } : {}), ...(delay ? { minReadySeconds: delay } : {}) } };
  } else if (job) {
    const replicas = options.replicas ?? 1;
    workload = { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: { completions: replicas, parallelism: replicas, template } };
  } else {
    workload = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: { replicas: options.replicas ?? 1, selector, template, ...(update ? { strategy: { type: 'RollingUpdate', rollingUpdate: update } } : {}), ...(delay ? { minReadySeconds: delay } : {}) },
    };
    if (failureAction) setFailureAction(workload, failureAction);
    if (options.updateMonitor !== undefined) workload.spec!.progressDeadlineSeconds = Math.max(1, durationSeconds(options.updateMonitor, '--update-monitor'));
  }
  if (ports.some((p) => p.mode === 'host' && p.published === undefined)) throw bad('a port published in host mode needs published=PORT');
  return { workload, service: publishingService(name, namespace, ports, labels), claims };
}

/** The pod template of any of the three workload kinds. */
export function templateOf(workload: KubeObject): PodTemplateSpec | undefined {
  return (workload as Workload).spec?.template;
}

/** docker's 25-character ids: a uid without its dashes, cut. */
export function swarmId(uid: string | undefined, length = 25): string {
  return (uid ?? '').replace(/-/g, '').slice(0, length);
}
