import { dns1123LabelErrors, initAnnotation, isQuantity, LINUX_STOP_SIGNALS, parseQuantity, portNameErrors, userAnnotation, userNameErrors } from '@berth/api';
import { constants as osConstants } from 'node:os';
import type { Container, ContainerPort, PodSpec, Probe, PullPolicy, ResourceRequirements, SecurityContext } from '@berth/api';
import { seconds, type ServiceContext } from './context';
import type { HealthCheck } from './model';
import { onPodsNode } from './network';

/**
 * The service's one container, from everything compose says about the process: the image, argv, environment,
 * user, security, health, resources and host ports. Volumes are added by storage.ts.
 */
export function serviceContainer(ctx: ServiceContext, image: string): Container {
  const { service } = ctx;
  const container: Container = { name: containerName(ctx), image, ...argv(ctx) };
  const env = Object.entries(service.environment).flatMap(([name, value]) => (value === null ? [] : [{ name, value: literal(value) }]));
  if (env.length) container.env = env;
  if (service.working_dir !== undefined) container.workingDir = service.working_dir;
  if (service.tty) container.tty = true;
  if (service.stdin_open) container.stdin = true;
  const pullPolicy = pullPolicyOf(ctx);
  if (pullPolicy) container.imagePullPolicy = pullPolicy;
  const securityContext = securityOf(ctx);
  if (Object.keys(securityContext).length) container.securityContext = securityContext;
  const resources = resourcesOf(ctx);
  if (resources) container.resources = resources;
  const stopSignal = stopSignalOf(ctx);
  if (stopSignal) container.lifecycle = { stopSignal };
  Object.assign(container, probesOf(ctx, service.healthcheck));
  const ports = containerPorts(ctx);
  if (ports.length) container.ports = ports;
  return container;
}

/**
 * Kubernetes expands `$(VAR)` in env values, command and args and reads `$$` as `$`; Docker passes them as
 * they are (the loader already did compose's own `${VAR}` interpolation). Escaped, they reach the process
 * as written: a `$` before `$` or `(` is doubled.
 */
export function literal(text: string): string {
  return text.replace(/\$(?=[$(])/g, '$$$$');
}

/** `container_name` names the pod's container (compose's container; a pod's own name is generated). */
function containerName(ctx: ServiceContext): string {
  const name = ctx.service.container_name;
  if (name === undefined) return ctx.service.name;
  const errs = dns1123LabelErrors(name);
  if (errs.length) ctx.refuse('container_name', `${JSON.stringify(name)} cannot name a container: ${errs[0]}`);
  return name;
}

/**
 * Docker's ENTRYPOINT is Kubernetes' command and Docker's CMD its args. Compose's `entrypoint: []` drops
 * the image's entrypoint and runs `command` alone; `command: []` drops the image's CMD. Kubernetes has no
 * way to say "no args, but keep the image's entrypoint", nor "no entrypoint, but the image's CMD".
 */
function argv(ctx: ServiceContext): Pick<Container, 'command' | 'args'> {
  const { entrypoint, command } = ctx.service;
  if (entrypoint !== undefined && entrypoint.length === 0) {
    if (!command?.length) ctx.refuse('entrypoint', "an empty entrypoint runs the image's CMD as the program, which a pod cannot say without the image: give command");
    return command?.length ? { command: command.map(literal) } : {};
  }
  if (command !== undefined && command.length === 0 && !entrypoint) {
    ctx.refuse('command', "an empty command (the image's entrypoint without its CMD) cannot be said in a pod: give the arguments, or an entrypoint");
    return {};
  }
  const out: Pick<Container, 'command' | 'args'> = {};
  if (entrypoint) out.command = entrypoint.map(literal);
  if (command?.length) out.args = command.map(literal);
  return out;
}

const PULL_POLICIES: Record<string, PullPolicy> = {
  always: 'Always',
  never: 'Never',
  missing: 'IfNotPresent',
  if_not_present: 'IfNotPresent',
  // `build`: the image is rebuilt and pushed under the same tag on every `up --build`; nodes must fetch it again.
  build: 'Always',
};

function pullPolicyOf(ctx: ServiceContext): PullPolicy | undefined {
  const policy = ctx.service.pull_policy;
  if (policy === undefined) return undefined;
  const mapped = PULL_POLICIES[policy];
  if (!mapped) ctx.refuse('pull_policy', `${JSON.stringify(policy)} is not one of ${Object.keys(PULL_POLICIES).join(', ')}`);
  return mapped;
}

/** `uid[:gid]`: the securityContext's numbers; anything else is a name for the node to resolve. */
const NUMERIC_USER = /^(\d{1,10})(?::(\d{1,10}))?$/;

/** Docker writes capabilities with or without `CAP_`; Kubernetes without. */
const capability = (name: string) => name.toUpperCase().replace(/^CAP_/, '');

function securityOf(ctx: ServiceContext): SecurityContext {
  const { service } = ctx;
  const security: SecurityContext = {};
  if (service.user !== undefined) {
    const numeric = NUMERIC_USER.exec(service.user);
    if (numeric) {
      security.runAsUser = Number(numeric[1]);
      if (numeric[2] !== undefined) security.runAsGroup = Number(numeric[2]);
    }
    // A name is the pod's user.berth.dev annotation (runtimeOptionAnnotations), resolved in the image by the node.
  }
  if (service.read_only !== undefined) security.readOnlyRootFilesystem = service.read_only;
  if (service.privileged !== undefined) security.privileged = service.privileged;
  if (service.cap_add.length || service.cap_drop.length) {
    security.capabilities = {};
    if (service.cap_add.length) security.capabilities.add = service.cap_add.map(capability);
    if (service.cap_drop.length) security.capabilities.drop = service.cap_drop.map(capability);
  }
  return security;
}

function resourcesOf(ctx: ServiceContext): ResourceRequirements | undefined {
  const resources = ctx.service.deploy?.resources;
  if (!resources) return undefined;
  const out: ResourceRequirements = {};
  const amounts = (key: string, given: { cpus?: string; memory?: number } | undefined) => {
    if (!given) return undefined;
    const list: Record<string, string> = {};
    if (given.cpus !== undefined) {
      if (isQuantity(given.cpus) && parseQuantity(given.cpus) > 0) list.cpu = given.cpus;
      else ctx.refuse(`${key}.cpus`, `${JSON.stringify(given.cpus)} is not a positive number of CPUs`);
    }
    if (given.memory !== undefined) {
      if (Number.isSafeInteger(given.memory) && given.memory > 0) list.memory = String(given.memory);
      else ctx.refuse(`${key}.memory`, `${given.memory} is not a positive number of bytes`);
    }
    return Object.keys(list).length ? list : undefined;
  };
  const limits = amounts('deploy.resources.limits', resources.limits);
  const requests = amounts('deploy.resources.reservations', resources.reservations);
  if (resources.limits?.pids !== undefined) ctx.refuse('deploy.resources.limits.pids', 'a pod has no pids limit of its own (the node sets one for every pod)');
  if (limits) out.limits = limits;
  if (requests) out.requests = requests;
  return limits || requests ? out : undefined;
}

/** Docker's healthcheck defaults. */
const HEALTH_DEFAULTS = { interval: 30, timeout: 30, retries: 3, startInterval: 5 };

/**
 * A healthcheck is both readiness (a service is reachable and `service_healthy` once it passes: Docker's
 * "healthy") and liveness (a container that stays unhealthy is replaced, as Swarm replaces its task).
 * Docker does not count failures during start_period: that is a startup probe, which holds the others back
 * until it passes, probing every start_interval and giving up only after the period plus `retries` failures.
 */
function probesOf(ctx: ServiceContext, health: HealthCheck | undefined): Pick<Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  if (!health || health.disable || health.test?.[0] === 'NONE') return {};
  const test = health.test;
  let command: string[];
  if (!test || test.length === 0) {
    ctx.refuse('healthcheck.test', "berth does not run the image's HEALTHCHECK: give the test");
    return {};
  } else if (test[0] === 'CMD' && test.length > 1) {
    command = test.slice(1);
  } else if (test[0] === 'CMD-SHELL' && test.length === 2) {
    command = ['/bin/sh', '-c', test[1]];
  } else {
    ctx.refuse('healthcheck.test', `${JSON.stringify(test)} is neither ["CMD", prog, args...], ["CMD-SHELL", line] nor ["NONE"]`);
    return {};
  }
  const time = (key: keyof HealthCheck, fallback: number) => {
    const value = health[key];
    const s = typeof value === 'string' ? seconds(ctx, `healthcheck.${key}`, value) : undefined;
    return Math.max(1, s ?? fallback);
  };
  const retries = health.retries ?? HEALTH_DEFAULTS.retries;
  if (!Number.isSafeInteger(retries) || retries < 1) ctx.refuse('healthcheck.retries', `${retries} is not a positive number`);
  const probe: Probe = {
    exec: { command },
    periodSeconds: time('interval', HEALTH_DEFAULTS.interval),
    timeoutSeconds: time('timeout', HEALTH_DEFAULTS.timeout),
    failureThreshold: Math.max(1, retries),
    successThreshold: 1,
  };
  const out: Pick<Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> = { readinessProbe: probe, livenessProbe: { ...probe, exec: { command: [...command] } } };
  const startPeriod = health.start_period === undefined ? 0 : (seconds(ctx, 'healthcheck.start_period', health.start_period) ?? 0);
  if (startPeriod > 0) {
    const every = time('start_interval', HEALTH_DEFAULTS.startInterval);
    out.startupProbe = { ...probe, exec: { command: [...command] }, periodSeconds: every, failureThreshold: Math.ceil(startPeriod / every) + Math.max(1, retries) };
  }
  return out;
}

/**
 * Container ports: every target compose names (informational, as EXPOSE), and for `mode: host` or a port
 * bound to one address (`127.0.0.1:9229:9229`) the node's port on that address (docker run -p). A host port
 * must be given: Swarm picks a free one, a pod cannot ask for that.
 */
function containerPorts(ctx: ServiceContext): ContainerPort[] {
  const ports: ContainerPort[] = [];
  const seen = new Set<string>();
  const hostNetwork = ctx.service.network_mode === 'host';
  for (const port of ctx.service.ports) {
    const protocol = port.protocol === 'udp' ? 'UDP' : 'TCP';
    const entry: ContainerPort = { containerPort: port.target, protocol };
    if (port.name !== undefined) {
      const errs = portNameErrors(port.name);
      if (errs.length) ctx.refuse('ports', `${port.target}: name ${JSON.stringify(port.name)}: ${errs[0]}`);
      else entry.name = port.name;
    }
    if (onPodsNode(port)) {
      if (port.published === undefined && !hostNetwork) {
        ctx.refuse('ports', `target ${port.target} ${port.mode === 'host' ? 'in mode host' : `on ${port.host_ip}`} needs a published port (a pod cannot ask the node for any free one)`);
        continue;
      }
      entry.hostPort = hostNetwork ? port.target : port.published;
      if (hostNetwork && port.published !== undefined && port.published !== port.target) {
        ctx.refuse('ports', `with network_mode host the container's port ${port.target} is the node's: it cannot be published as ${port.published}`);
      }
      if (port.host_ip !== undefined && port.host_ip !== '0.0.0.0') entry.hostIP = port.host_ip;
    } else if (hostNetwork) {
      entry.hostPort = port.target;
    }
    const key = `${entry.containerPort}/${protocol}/${entry.hostPort ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ports.push(entry);
  }
  return ports;
}

/**
 * What a pod says in berth's annotations for its container: compose's `init: true` (docker's --init, run
 * by the node as tini) and a `user` given by name, which the node looks up in the image's /etc/passwd.
 */
export function runtimeOptionAnnotations(ctx: ServiceContext, container: string): Record<string, string> {
  const { service } = ctx;
  const annotations: Record<string, string> = {};
  if (service.init) annotations[initAnnotation(container)] = 'true';
  if (service.user !== undefined && !NUMERIC_USER.test(service.user)) {
    const errs = userNameErrors(service.user);
    if (errs.length) ctx.refuse('user', `${JSON.stringify(service.user)}: ${errs[0]}`);
    else annotations[userAnnotation(container)] = service.user;
  }
  return annotations;
}

/** The real-time signals' numbers on Linux, as Kubernetes names them (SIGRTMIN+1, SIGRTMAX-1). */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** A signal number's Kubernetes name on Linux, or undefined. */
function signalName(n: number): string | undefined {
  if (n >= SIGRTMIN && n <= SIGRTMAX) {
    const fromMin = n - SIGRTMIN;
    return fromMin === 0 ? 'SIGRTMIN' : n === SIGRTMAX ? 'SIGRTMAX' : fromMin <= 15 ? `SIGRTMIN+${fromMin}` : `SIGRTMAX-${SIGRTMAX - n}`;
  }
  return Object.entries(osConstants.signals).find(([, number]) => number === n)?.[0];
}

/**
 * compose's `stop_signal` (SIGQUIT, QUIT or a number, as docker takes it) as Kubernetes' container
 * `lifecycle.stopSignal` names it; one Kubernetes does not know is refused.
 */
function stopSignalOf(ctx: ServiceContext): string | undefined {
  const given = ctx.service.stop_signal;
  if (given === undefined) return undefined;
  const upper = given.trim().toUpperCase();
  const name = /^\d{1,2}$/.test(upper) ? signalName(Number(upper)) : upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (name && LINUX_STOP_SIGNALS.includes(name)) return name;
  ctx.refuse('stop_signal', `${JSON.stringify(given)} is not a signal (SIGQUIT, QUIT, 3, SIGRTMIN+1)`);
  return undefined;
}

/** Pod-level fields from the process: hostname, grace period, sysctls; what a pod cannot do is refused. */
export function podProcessFields(ctx: ServiceContext): Partial<PodSpec> {
  const { service } = ctx;
  const spec: Partial<PodSpec> = {};
  if (service.hostname !== undefined) {
    const errs = dns1123LabelErrors(service.hostname);
    if (errs.length) ctx.refuse('hostname', `${JSON.stringify(service.hostname)}: a pod's hostname is a DNS label: ${errs[0]}`);
    else spec.hostname = service.hostname;
  }
  if (service.domainname !== undefined) ctx.refuse('domainname', "a pod's domain name is the cluster's (Kubernetes sets no NIS domain name)");
  if (service.stop_grace_period !== undefined) {
    const grace = seconds(ctx, 'stop_grace_period', service.stop_grace_period);
    if (grace !== undefined) spec.terminationGracePeriodSeconds = grace;
  }
  // Kubernetes takes a container's stopSignal only from a pod that names its OS.
  if (service.stop_signal !== undefined) spec.os = { name: 'linux' };
  const sysctls = Object.entries(service.sysctls).map(([name, value]) => ({ name, value: String(value) }));
  if (sysctls.length) spec.securityContext = { sysctls };
  if (Object.keys(service.ulimits).length) ctx.refuse('ulimits', 'a pod has no per-container ulimits (containers get the node\'s)');
  return spec;
}
