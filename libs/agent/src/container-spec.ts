import { containerInit, localDescendingPathErrors, parseQuantity, type ConfigMap, type Container, type EnvVar, type PersistentVolume, type PersistentVolumeClaim, type Pod, type Secret, type VolumeMount } from '@berth/api';
import { errors } from '@berth/errors';
import type { ContainerConfig, MountSpec, Resources } from '@berth/runtime-client';
import { containerResourceValue, podFieldValue, referencedContainer, type PodEnvContext } from './downward-api';
import { containerSecurity } from './security';

/** Where the agent reads the ConfigMaps and Secrets a pod refers to; undefined when there is none. */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** Claims and volumes, for persistentVolumeClaim volumes; read fresh, never remembered (a claim gets bound). */
  claim?(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  volume?(name: string): Promise<PersistentVolume | undefined>;
  /** A token of the pod's service account bound to the pod (a serviceAccountToken projection); absent where none can be had. */
  serviceAccountToken?(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
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

export type Source = 'configmap' | 'secret';

/** The entries of the named ConfigMap or Secret; undefined when there is none. */
export async function sourceEntries(objects: ObjectSource, kind: Source, namespace: string, name: string): Promise<Map<string, Buffer> | undefined> {
  if (kind === 'configmap') {
    const cm = await objects.configMap(namespace, name);
    return cm && configMapEntries(cm);
  }
  const secret = await objects.secret(namespace, name);
  return secret && secretEntries(secret);
}

const PLURAL: Record<Source, string> = { configmap: 'configmaps', secret: 'secrets' };

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
    const target = referencedContainer(pod, resourceFieldRef.containerName, container);
    return containerResourceValue(target, resourceFieldRef.resource, resourceFieldRef.divisor, ctx.allocatable);
  }
  return '';
}

/**
 * The container's environment as kubelet builds it: the Services' variables, then envFrom sources (each key, prefixed, that is a
 * valid name), then env in order, each value able to refer to the variables before it with `$(NAME)`.
 * A missing ConfigMap, Secret or key that is not optional is an error (CreateContainerConfigError).
 */
export async function containerEnv(pod: Pod, container: Container, objects: ObjectSource, ctx: PodEnvContext): Promise<Map<string, string>> {
  // Services' variables first: the container's own override them, and $(VAR) may refer to them.
  const vars = new Map<string, string>(ctx.serviceEnv ?? []);
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

/**
 * Makes a mount's subPath (already expanded) of a prepared volume ready to bind, and answers the host
 * path to bind: never a path a container could redirect (see bindSubPath).
 */
export type SubPathBinder = (volume: PreparedVolume, mount: VolumeMount, subPath: string, mountIndex: number) => Promise<string>;

/** The container's volumeMounts as bind mounts of the pod's prepared volumes, subPaths through `bindSubPath`. */
export async function containerMounts(container: Container, volumes: ReadonlyMap<string, PreparedVolume>, vars: ReadonlyMap<string, string>, bindSubPath: SubPathBinder): Promise<MountSpec[]> {
  const mounts: MountSpec[] = [];
  for (const [index, mount] of (container.volumeMounts ?? []).entries()) {
    const volume = volumes.get(mount.name);
    if (!volume) throw errors.badRequest(`volumeMount ${JSON.stringify(mount.name)} names no volume of the pod`);
    // kubelet's subPathExpr: $(VAR) from the container's environment, $$ for a dollar.
    const subPath = mount.subPathExpr ? expandVars(mount.subPathExpr, vars) : (mount.subPath ?? '');
    if (localDescendingPathErrors(subPath).length > 0) {
      throw errors.badRequest(`subPath ${JSON.stringify(subPath)} of volumeMount ${JSON.stringify(mount.name)} must be a relative path inside the volume`);
    }
    const source = subPath ? await bindSubPath(volume, mount, subPath, index) : volume.hostPath;
    mounts.push({ type: 'bind', source, destination: mount.mountPath, readOnly: volume.readOnly || !!mount.readOnly });
  }
  return mounts;
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
  bindSubPath: SubPathBinder;
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
    mounts: await containerMounts(container, input.volumes, vars, input.bindSubPath),
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
  // Kubernetes 1.33's lifecycle.stopSignal, and docker's --init as the pod's init.berth.dev annotation.
  const stopSignal = container.lifecycle?.stopSignal;
  if (stopSignal) config.stopSignal = stopSignal;
  if (containerInit(pod.metadata.annotations, container.name)) config.init = true;
  return config;
}
