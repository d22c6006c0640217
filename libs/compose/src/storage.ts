import { dns1123SubdomainErrors, localDescendingPathErrors } from '@berth/api';
import type { ConfigMap, PersistentVolumeClaim, Secret, Volume, VolumeMount } from '@berth/api';
import { posix } from 'node:path';
import type { ServiceContext, TranslateOptions } from './context';
import { sizeBytes } from './duration';
import type { ComposeProject, FileObjectConfig, FileReference, ServiceVolume } from './model';
import { composeLabels, objectNameOf, own, splitLabels } from './names';
import type { Refusals } from './refusals';

/** A named volume's claim asks for this much; the local-path provisioner does not enforce it. */
export const DEFAULT_VOLUME_SIZE = '1Gi';
/** ConfigMaps and Secrets hold at most this much (Kubernetes' limit on an object). */
export const MAX_FILE_OBJECT_BYTES = 1024 * 1024;
/** The one key of the ConfigMap or Secret berth makes for a compose config or secret (an external one must have it too). */
export const FILE_OBJECT_KEY = 'content';
/** Docker mounts configs and secrets read-only for everyone (0444) unless `mode` says otherwise. */
const DEFAULT_FILE_MODE = 0o444;

/**
 * Host paths a bind may not reach, nor contain: the host's kernel interfaces, berth's and the container
 * runtimes' own state and sockets. A bind of `/`, `/var` or `/run` is refused as it contains one of them.
 */
const PROTECTED_HOST_PATHS = [
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/var/lib/berth',
  '/run/berth',
  '/var/run/berth',
  '/run/containerd',
  '/var/run/containerd',
  '/var/lib/containerd',
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/var/lib/docker',
];

const within = (path: string, root: string) => root === '/' || path === root || path.startsWith(`${root}/`);

/** Why a bind of this host path is refused, or undefined when it may be bound. */
export function hostPathRefusal(path: string): string | undefined {
  if (!posix.isAbsolute(path)) return 'a bind source must be an absolute path';
  const normal = posix.normalize(path).replace(/(.)\/+$/, '$1');
  const protectedPath = PROTECTED_HOST_PATHS.find((p) => within(normal, p) || within(p, normal));
  return protectedPath === undefined ? undefined : `binding ${normal} would expose ${protectedPath} of the node to the container`;
}

type FileKind = 'configs' | 'secrets';

/**
 * The object a top-level volume, config or secret is in the project's namespace: for an external one its own
 * name; else the `name` the file gives it made an object name, or when it gives none (the loader's
 * `<project>_<key>`) the key made one: the namespace already scopes it to the project.
 */
export function objectNameFor(project: ComposeProject, kind: 'volumes' | FileKind, key: string): string | undefined {
  const declared = own<{ name: string; external?: boolean }>(project[kind], key);
  if (!declared) return undefined;
  if (declared.external) return dns1123SubdomainErrors(declared.name).length ? undefined : declared.name;
  return objectNameOf(declared.name === `${project.name}_${key}` ? key : declared.name);
}

/**
 * The PVCs, ConfigMaps and Secrets the project's services use (not external ones: those must exist), in that
 * order: [configMaps, secrets, claims].
 */
export function projectStorageObjects(
  project: ComposeProject,
  options: TranslateOptions,
  refusals: Refusals,
): { configMaps: ConfigMap[]; secrets: Secret[]; claims: PersistentVolumeClaim[] } {
  const used = { volumes: new Set<string>(), configs: new Set<string>(), secrets: new Set<string>() };
  for (const service of Object.values(project.services)) {
    for (const volume of service.volumes) if (volume.type === 'volume' && volume.source !== undefined) used.volumes.add(volume.source);
    for (const ref of service.configs) used.configs.add(ref.source);
    for (const ref of service.secrets) used.secrets.add(ref.source);
  }
  const names = new Map<string, string>();
  /** Two compose keys that make one object name (`db_data` and `db-data`) cannot both be kept. */
  const named = (kind: string, key: string, name: string | undefined) => {
    const where = `${kind}.${key}`;
    if (name === undefined) {
      const declared = own<{ name: string }>(project[kind as 'volumes'], key);
      refusals.refuse(where, 'name', `${JSON.stringify(declared?.name ?? key)} cannot be made an object name (lower-case letters, digits, '-' and '.')`);
      return undefined;
    }
    const other = names.get(`${kind}/${name}`);
    if (other !== undefined && other !== key) {
      refusals.refuse(where, 'name', `makes the object name ${JSON.stringify(name)}, as ${kind}.${other} does`);
      return undefined;
    }
    names.set(`${kind}/${name}`, key);
    return name;
  };
  const metadata = (kind: string, key: string, name: string, labels: Record<string, string>) => {
    const split = splitLabels(labels, (label, why) => refusals.refuse(`${kind}.${key}`, `labels.${label}`, why));
    return {
      name,
      namespace: project.name,
      labels: { ...split.labels, ...composeLabels(project.name) },
      ...(Object.keys(split.annotations).length ? { annotations: split.annotations } : {}),
    };
  };

  const claims: PersistentVolumeClaim[] = [];
  for (const key of [...used.volumes].sort()) {
    const volume = own(project.volumes, key);
    if (!volume) continue; // refused where a service mounts it
    const name = named('volumes', key, objectNameFor(project, 'volumes', key));
    if (name === undefined || volume.external) continue;
    if (volume.driver !== undefined && volume.driver !== 'local') refusals.refuse(`volumes.${key}`, 'driver', `${volume.driver}: volumes are claims on the cluster's default StorageClass`);
    if (Object.keys(volume.driver_opts).length) refusals.refuse(`volumes.${key}`, 'driver_opts', 'volumes are claims on the default StorageClass, which takes no options from a claim');
    claims.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: metadata('volumes', key, name, volume.labels),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: DEFAULT_VOLUME_SIZE } } },
    });
  }

  const fileObjects = <T extends ConfigMap | Secret>(kind: FileKind, make: (meta: ConfigMap['metadata'], content: Uint8Array) => T): T[] => {
    const out: T[] = [];
    for (const key of [...used[kind]].sort()) {
      const declared = own<FileObjectConfig>(project[kind], key);
      if (!declared) continue; // refused where a service mounts it
      const name = named(kind, key, objectNameFor(project, kind, key));
      if (name === undefined || declared.external) continue;
      const content = fileContent(kind, key, declared, options, refusals);
      if (content) out.push(make(metadata(kind, key, name, declared.labels), content));
    }
    return out;
  };
  const configMaps = fileObjects<ConfigMap>('configs', (metadata, content) => {
    const text = utf8(content);
    return text === undefined
      ? { apiVersion: 'v1', kind: 'ConfigMap', metadata, binaryData: { [FILE_OBJECT_KEY]: Buffer.from(content).toString('base64') } }
      : { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { [FILE_OBJECT_KEY]: text } };
  });
  const secrets = fileObjects<Secret>('secrets', (metadata, content) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: 'Opaque',
    data: { [FILE_OBJECT_KEY]: Buffer.from(content).toString('base64') },
  }));
  return { configMaps, secrets, claims };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function fileContent(kind: FileKind, key: string, declared: FileObjectConfig, options: TranslateOptions, refusals: Refusals): Uint8Array | undefined {
  const where = `${kind}.${key}`;
  let content: Uint8Array | undefined;
  if (declared.content !== undefined) content = Buffer.from(declared.content, 'utf8');
  else if (declared.environment !== undefined) {
    const value = own(options.env ?? {}, declared.environment);
    if (value === undefined) refusals.refuse(where, 'environment', `the variable ${declared.environment} is not set`);
    else content = Buffer.from(value, 'utf8');
  } else if (declared.file !== undefined) {
    content = own(options.files ?? {}, declared.file);
    if (content === undefined) refusals.refuse(where, 'file', `${declared.file} was not read (readProjectFiles reads it)`);
  } else {
    refusals.refuse(where, 'file', 'none of file, environment, content or external is given');
  }
  if (content && content.length > MAX_FILE_OBJECT_BYTES) {
    refusals.refuse(where, declared.file !== undefined ? 'file' : 'content', `${content.length} bytes is over the ${MAX_FILE_OBJECT_BYTES} byte limit of an object`);
    return undefined;
  }
  return content;
}

/** The pod's volumes and the container's mounts for `volumes`, `tmpfs`, `configs` and `secrets`. */
export function serviceStorage(ctx: ServiceContext): { volumes: Volume[]; mounts: VolumeMount[] } {
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  const targets = new Set<string>();
  const add = (key: string, volume: Volume, mount: Omit<VolumeMount, 'name'>) => {
    if (!posix.isAbsolute(mount.mountPath)) {
      ctx.refuse(key, `the target ${JSON.stringify(mount.mountPath)} is not an absolute path`);
      return;
    }
    if (targets.has(mount.mountPath)) {
      ctx.refuse(key, `${mount.mountPath} is mounted twice`);
      return;
    }
    targets.add(mount.mountPath);
    volumes.push(volume);
    mounts.push({ name: volume.name, ...mount });
  };
  ctx.service.volumes.forEach((volume, index) => {
    const source = volumeSource(ctx, volume, `volume-${index}`);
    if (!source) return;
    const mount: Omit<VolumeMount, 'name'> = { mountPath: volume.target };
    if (volume.read_only) mount.readOnly = true;
    const subpath = volume.volume?.subpath;
    if (subpath !== undefined) {
      const errs = localDescendingPathErrors(subpath);
      if (errs.length) ctx.refuse('volumes', `subpath ${JSON.stringify(subpath)} ${errs[0]}`);
      else mount.subPath = subpath;
    }
    add('volumes', source, mount);
  });
  ctx.service.tmpfs.forEach((entry, index) => {
    const [target, ...rest] = entry.split(':');
    const emptyDir: Volume['emptyDir'] = { medium: 'Memory' };
    for (const option of rest.join(':').split(',').filter(Boolean)) {
      const size = /^size=(.*)$/.exec(option);
      const bytes = size ? sizeBytes(size[1]) : undefined;
      if (bytes !== undefined) emptyDir.sizeLimit = String(bytes);
      else if (option !== 'rw') ctx.refuse('tmpfs', `${JSON.stringify(option)}: a memory-backed emptyDir takes a size only`);
    }
    add('tmpfs', { name: `tmpfs-${index}`, emptyDir }, { mountPath: target });
  });
  const files = (kind: FileKind, refs: FileReference[]) => {
    refs.forEach((ref, index) => {
      const key = kind;
      const name = objectNameFor(ctx.project, kind, ref.source);
      if (!own<FileObjectConfig>(ctx.project[kind], ref.source)) {
        ctx.refuse(key, `${JSON.stringify(ref.source)} is not a top-level ${kind.slice(0, -1)}`);
        return;
      }
      if (name === undefined) return; // refused with the top-level object
      if (ref.uid !== undefined || ref.gid !== undefined) ctx.refuse(key, `${ref.source}: files from ${kind} are owned by root (uid and gid cannot be set on a pod's volume)`);
      const target = ref.target ?? (kind === 'configs' ? `/${ref.source}` : ref.source);
      const mountPath = posix.isAbsolute(target) ? target : posix.join(kind === 'configs' ? '/' : '/run/secrets', target);
      const items = [{ key: FILE_OBJECT_KEY, path: FILE_OBJECT_KEY, mode: ref.mode ?? DEFAULT_FILE_MODE }];
      const volume: Volume =
        kind === 'configs'
          ? { name: `config-${index}`, configMap: { name, items } }
          : { name: `secret-${index}`, secret: { secretName: name, items } };
      add(key, volume, { mountPath, subPath: FILE_OBJECT_KEY, readOnly: true });
    });
  };
  files('configs', ctx.service.configs);
  files('secrets', ctx.service.secrets);
  return { volumes, mounts };
}

function volumeSource(ctx: ServiceContext, volume: ServiceVolume, name: string): Volume | undefined {
  if (volume.bind?.propagation !== undefined && !['private', 'rprivate'].includes(volume.bind.propagation)) {
    ctx.refuse('volumes', `${volume.target}: propagation ${volume.bind.propagation}: mounts do not propagate between node and container`);
  }
  if (volume.type === 'tmpfs') {
    if (volume.tmpfs?.mode !== undefined) ctx.refuse('volumes', `${volume.target}: tmpfs mode: a memory-backed emptyDir is always 1777`);
    const size = volume.tmpfs?.size;
    return { name, emptyDir: size === undefined ? { medium: 'Memory' } : { medium: 'Memory', sizeLimit: String(size) } };
  }
  if (volume.type === 'bind') {
    const source = volume.source ?? '';
    const why = hostPathRefusal(source);
    if (why) {
      ctx.refuse('volumes', `${source}: ${why}`);
      return undefined;
    }
    const path = posix.normalize(source);
    // Docker binds a file or a directory that is there, and with create_host_path makes a missing one a
    // directory. A hostPath type says one or the other: the caller tells which the path is (bindSourceKinds).
    const kind = own(ctx.options.bindKinds ?? {}, path);
    const type = kind === 'file' ? 'File' : kind === 'directory' ? 'Directory' : volume.bind?.create_host_path ? 'DirectoryOrCreate' : '';
    return { name, hostPath: { path, type } };
  }
  // berth never copies the image's files into a new volume (Docker's default): as if nocopy were always true.
  if (volume.volume?.nocopy === false) ctx.refuse('volumes', `${volume.target}: nocopy false: a new volume starts empty (the image's files are not copied in)`);
  if (volume.source === undefined) return { name, emptyDir: {} };
  if (!own(ctx.project.volumes, volume.source)) {
    ctx.refuse('volumes', `${JSON.stringify(volume.source)} is not a top-level volume`);
    return undefined;
  }
  const claimName = objectNameFor(ctx.project, 'volumes', volume.source);
  // A name that cannot be made is refused with the top-level volume.
  return claimName === undefined ? undefined : { name, persistentVolumeClaim: { claimName } };
}
