import { parseQuantity, type ConfigMap, type Container, type EnvVar, type Pod, type Secret } from '@berth/api';
import { errors } from '@berth/errors';
import type { ContainerConfig, MountSpec, Resources } from '@berth/runtime-client';
import { join, normalize } from 'node:path';
import { containerSecurity } from './security';

/** Where the agent reads the ConfigMaps and Secrets a pod refers to; undefined when there is none. */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** What the pod's environment can refer to besides its own spec. */
export interface PodEnvContext {
  podIP: string;
  hostIP: string;
}

/** Key → value of a ConfigMap (data and binaryData) or of a Secret (base64-decoded). */
export function configMapEntries(configMap: ConfigMap): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(configMap.data ?? {})) entries.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(configMap.binaryData ?? {})) entries.set(k, Buffer.from(v, 'base64'));
  return entries;
}

export function secretEntries(secret: Secret): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(secret.data ?? {})) entries.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries(secret.stringData ?? {})) entries.set(k, Buffer.from(v));
  return entries;
}

type Source = 'configmap' | 'secret';

async function sourceEntries(objects: ObjectSource, kind: Source, namespace: string, name: string): Promise<Map<string, Buffer> | undefined> {
  if (kind === 'configmap') {
    const cm = await objects.configMap(namespace, name);
    return cm && configMapEntries(cm);
  }
  const secret = await objects.secret(namespace, name);
  return secret && secretEntries(secret);
}

const PLURAL: Record<Source, string> = { configmap: 'configmaps', secret: 'secrets' };

/** A label or annotation reference like `metadata.labels['app']`. */
const MAP_FIELD = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/** The value of a downward-API fieldRef, as kubelet resolves it. */
export function podFieldValue(pod: Pod, fieldPath: string, ctx: PodEnvContext): string {
  const map = MAP_FIELD.exec(fieldPath);
  if (map) return (map[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[map[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    default:
      throw errors.badRequest(`unsupported fieldRef ${JSON.stringify(fieldPath)}`);
  }
}

/**
 * Kubernetes' `$(VAR)` expansion: a reference to a defined variable is replaced, `$$` escapes a dollar,
 * and anything else (an undefined name, a lone `$`) is left as written.
 */
export function expandVars(input: string, vars: ReadonlyMap<string, string>): string {
  return input.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && vars.has(name) ? vars.get(name)! : match;
  });
}

function containerResource(container: Container, resource: string, divisor: string | undefined): string {
  const [kind, name] = resource.split('.') as ['limits' | 'requests', string];
  const value = container.resources?.[kind]?.[name];
  if (value === undefined) return '0';
  const quotient = parseQuantity(value) / parseQuantity(divisor || '1');
  return String(Math.ceil(quotient));
}

async function envVarValue(pod: Pod, container: Container, env: EnvVar, objects: ObjectSource, ctx: PodEnvContext, vars: ReadonlyMap<string, string>): Promise<string | undefined> {
  if (!env.valueFrom) return expandVars(env.value ?? '', vars);
  const namespace = pod.metadata.namespace ?? 'default';
  const { configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef } = env.valueFrom;
  const keyRef = configMapKeyRef ? { kind: 'configmap' as const, ref: configMapKeyRef } : secretKeyRef ? { kind: 'secret' as const, ref: secretKeyRef } : undefined;
  if (keyRef) {
    const name = keyRef.ref.name ?? '';
    const entries = await sourceEntries(objects, keyRef.kind, namespace, name);
    if (!entries) {
      if (keyRef.ref.optional) return undefined;
      throw errors.notFound(PLURAL[keyRef.kind], name);
    }
    const value = entries.get(keyRef.ref.key);
    if (value === undefined) {
      if (keyRef.ref.optional) return undefined;
      throw errors.badRequest(`couldn't find key ${keyRef.ref.key} in ${keyRef.kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${namespace}/${name}`);
    }
    return value.toString();
  }
  if (fieldRef) return podFieldValue(pod, fieldRef.fieldPath, ctx);
  if (resourceFieldRef) {
    const target = resourceFieldRef.containerName ? pod.spec?.containers.find((c) => c.name === resourceFieldRef.containerName) : container;
    return containerResource(target ?? container, resourceFieldRef.resource, resourceFieldRef.divisor);
  }
  return '';
}

/**
 * The container's environment as kubelet builds it: envFrom sources first (each key, prefixed, that is a
 * valid name), then env in order, each value able to refer to the variables before it with `$(NAME)`.
 * A missing ConfigMap, Secret or key that is not optional is an error (CreateContainerConfigError).
 */
export async function containerEnv(pod: Pod, container: Container, objects: ObjectSource, ctx: PodEnvContext): Promise<Map<string, string>> {
  const vars = new Map<string, string>();
  const namespace = pod.metadata.namespace ?? 'default';
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ? { kind: 'configmap' as const, ref: from.configMapRef } : from.secretRef ? { kind: 'secret' as const, ref: from.secretRef } : undefined;
    if (!ref) continue;
    const entries = await sourceEntries(objects, ref.kind, namespace, ref.ref.name ?? '');
    if (!entries) {
      if (ref.ref.optional) continue;
      throw errors.notFound(PLURAL[ref.kind], ref.ref.name ?? '');
    }
    for (const [key, value] of entries) {
      const name = `${from.prefix ?? ''}${key}`;
      // Kubernetes skips keys that are not valid variable names (and reports them in an event).
      if (/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name)) vars.set(name, value.toString());
    }
  }
  for (const env of container.env ?? []) {
    const value = await envVarValue(pod, container, env, objects, ctx, vars);
    if (value !== undefined) vars.set(env.name, value);
  }
  return vars;
}

/** limits.memory → a memory limit, limits.cpu → a CPU quota, requests.cpu → CPU shares (kubelet's 1024 per core, at least 2). */
export function containerResources(container: Container): Resources {
  const resources: Resources = {};
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  if (limits.memory !== undefined) resources.memoryBytes = Math.round(parseQuantity(limits.memory));
  if (limits.cpu !== undefined) resources.cpus = parseQuantity(limits.cpu);
  const cpuRequest = requests.cpu ?? limits.cpu;
  if (cpuRequest !== undefined) resources.cpuShares = Math.max(2, Math.round(parseQuantity(cpuRequest) * 1024));
  return resources;
}

/** A volume prepared on the node: the host directory its mounts bind, and whether it is always read-only. */
export interface PreparedVolume {
  hostPath: string;
  readOnly: boolean;
}

/** The container's volumeMounts as bind mounts of the pod's prepared volumes. */
export function containerMounts(container: Container, volumes: ReadonlyMap<string, PreparedVolume>, vars: ReadonlyMap<string, string>): MountSpec[] {
  return (container.volumeMounts ?? []).map((mount) => {
    const volume = volumes.get(mount.name);
    if (!volume) throw errors.badRequest(`volumeMount ${JSON.stringify(mount.name)} names no volume of the pod`);
    const subPath = mount.subPathExpr ? expandVars(mount.subPathExpr, vars) : (mount.subPath ?? '');
    if (subPath && (subPath.startsWith('/') || normalize(subPath).split('/').includes('..'))) {
      throw errors.badRequest(`subPath ${JSON.stringify(subPath)} must be a relative path inside the volume`);
    }
    return {
      type: 'bind' as const,
      source: subPath ? join(volume.hostPath, subPath) : volume.hostPath,
      destination: mount.mountPath,
      readOnly: volume.readOnly || !!mount.readOnly,
    };
  });
}

/**
 * What runtimed is asked to create for one of the pod's containers. Kubernetes' command replaces the
 * image's Entrypoint and args its Cmd; both get `$(VAR)` expansion from the container's environment;
 * the securityContext becomes the runtime's security settings.
 */
export async function runtimeContainerConfig(input: {
  pod: Pod;
  container: Container;
  objects: ObjectSource;
  ctx: PodEnvContext;
  volumes: ReadonlyMap<string, PreparedVolume>;
  name: string;
  sandboxId: string;
  labels: Record<string, string>;
  /** The node's directory of Localhost seccomp profiles. */
  seccompDir: string;
  /** The image's User, which runAsGroup alone keeps. */
  imageUser?: string;
}): Promise<ContainerConfig> {
  const { pod, container } = input;
  const vars = await containerEnv(pod, container, input.objects, input.ctx);
  const expand = (list: string[] | undefined) => list?.map((arg) => expandVars(arg, vars));
  const command = expand(container.command);
  const config: ContainerConfig = {
    name: input.name,
    image: container.image ?? '',
    env: [...vars].map(([k, v]) => `${k}=${v}`),
    workingDir: container.workingDir ?? '',
    tty: !!container.tty,
    openStdin: !!container.stdin,
    mounts: containerMounts(container, input.volumes, vars),
    resources: containerResources(container),
    labels: input.labels,
    sandboxId: input.sandboxId,
  };
  if (command) {
    config.overrideEntrypoint = true;
    config.entrypoint = command;
  }
  const args = expand(container.args);
  if (args) config.command = args;
  const { user, readOnlyRootfs, security } = await containerSecurity(pod, container, { seccompDir: input.seccompDir, imageUser: input.imageUser ?? '' });
  if (user !== undefined) config.user = user;
  if (readOnlyRootfs) config.readOnlyRootfs = true;
  config.security = security;
  return config;
}
