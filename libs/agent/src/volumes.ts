import type { DownwardAPIVolumeFile, KeyToPath, Pod, ServiceAccountTokenProjection, Volume } from '@berth/api';
import { localPathNode, parseQuantity } from '@berth/api';
import { errors } from '@berth/errors';
import { mountPointsUnder, mustRun, unmountAllUnder } from '@berth/host';
import { chmod, mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeAtomically, type Payload } from './atomic-writer';
import { sourceEntries, type ObjectSource, type PreparedVolume, type Source } from './container-spec';
import { containerResourceValue, podFieldValue, referencedContainer, type NodeAllocatable } from './downward-api';
import { applyFsGroup } from './fs-group';
import { nodePaths } from './node-paths';

/** Where a pod's node-side files live: `<dataDir>/pods/<uid>/`, removed with the pod. */
export function podDir(dataDir: string, podUid: string): string {
  return join(nodePaths(dataDir).pods, podUid);
}

/** Where a container's subPath mounts are bound from: `<podDir>/volume-subpaths/<volume>/<container>/<mount index>`. */
export function subPathTarget(dataDir: string, podUid: string, volume: string, container: string, mountIndex: number): string {
  return join(podDir(dataDir, podUid), 'volume-subpaths', volume, container, String(mountIndex));
}

const DEFAULT_FILE_MODE = 0o644;
/** kubelet makes emptyDirs world-writable, so that containers running as any user can use them. */
const EMPTY_DIR_MODE = 0o777;

/** A ConfigMap's or Secret's keys (or only the listed items) as files; kubelet's wording for a missing key. */
async function keyFiles(pod: Pod, objects: ObjectSource, kind: Source, name: string, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean): Promise<Payload> {
  const found = await sourceEntries(objects, kind, pod.metadata.namespace ?? 'default', name);
  if (!found && !optional) throw errors.notFound(kind === 'configmap' ? 'configmaps' : 'secrets', name);
  const entries = found ?? new Map<string, Buffer>();
  const payload: Payload = new Map();
  if (!items?.length) {
    for (const [key, data] of entries) payload.set(key, { data, mode: defaultMode });
    return payload;
  }
  for (const item of items) {
    const data = entries.get(item.key);
    if (data === undefined) {
      if (optional) continue;
      throw errors.badRequest(kind === 'configmap' ? `configmap references non-existent config key: ${item.key}` : `secret references non-existent secret key: ${item.key}`);
    }
    payload.set(item.path, { data, mode: item.mode ?? defaultMode });
  }
  return payload;
}

/** The files of a downwardAPI volume or projection: each a field of the pod or a container's resource. */
function downwardFiles(pod: Pod, items: DownwardAPIVolumeFile[] | undefined, defaultMode: number, allocatable: NodeAllocatable): Payload {
  const payload: Payload = new Map();
  for (const item of items ?? []) {
    let value: string;
    if (item.fieldRef) value = podFieldValue(pod, item.fieldRef.fieldPath, { podIP: '', hostIP: '' });
    else if (item.resourceFieldRef) {
      const { containerName, resource, divisor } = item.resourceFieldRef;
      value = containerResourceValue(referencedContainer(pod, containerName), resource, divisor, allocatable);
    } else throw errors.badRequest(`downwardAPI file ${JSON.stringify(item.path)} has neither fieldRef nor resourceFieldRef`);
    payload.set(item.path, { data: Buffer.from(value), mode: item.mode ?? defaultMode });
  }
  return payload;
}

/** Kubernetes' default lifetime of a projected token when the projection names none: an hour. */
const DEFAULT_TOKEN_SECONDS = 3600;

/** A serviceAccountToken projection: the pod's token at `path`. */
async function tokenFile(pod: Pod, projection: ServiceAccountTokenProjection, mode: number, objects: ObjectSource): Promise<Payload> {
  if (!objects.serviceAccountToken) throw errors.badRequest('this node cannot request service account tokens');
  const token = await objects.serviceAccountToken(pod, projection.audience || undefined, projection.expirationSeconds ?? DEFAULT_TOKEN_SECONDS);
  return new Map([[projection.path, { data: Buffer.from(token), mode }]]);
}

/** What a volume made of files shows: undefined for volumes that are not. Later projections win a path, as in kubelet. */
async function volumePayload(pod: Pod, volume: Volume, objects: ObjectSource, allocatable: NodeAllocatable): Promise<Payload | undefined> {
  if (volume.configMap) {
    const source = volume.configMap;
    return keyFiles(pod, objects, 'configmap', source.name ?? '', source.items, source.defaultMode ?? DEFAULT_FILE_MODE, !!source.optional);
  }
  if (volume.secret) {
    const source = volume.secret;
    return keyFiles(pod, objects, 'secret', source.secretName ?? '', source.items, source.defaultMode ?? DEFAULT_FILE_MODE, !!source.optional);
  }
  if (volume.downwardAPI) return downwardFiles(pod, volume.downwardAPI.items, volume.downwardAPI.defaultMode ?? DEFAULT_FILE_MODE, allocatable);
  if (volume.projected) {
    const defaultMode = volume.projected.defaultMode ?? DEFAULT_FILE_MODE;
    const payload: Payload = new Map();
    for (const source of volume.projected.sources ?? []) {
      let files: Payload;
      if (source.configMap) files = await keyFiles(pod, objects, 'configmap', source.configMap.name ?? '', source.configMap.items, defaultMode, !!source.configMap.optional);
      else if (source.secret) files = await keyFiles(pod, objects, 'secret', source.secret.name ?? '', source.secret.items, defaultMode, !!source.secret.optional);
      else if (source.downwardAPI) files = downwardFiles(pod, source.downwardAPI.items, defaultMode, allocatable);
      else if (source.serviceAccountToken) files = await tokenFile(pod, source.serviceAccountToken, defaultMode, objects);
      else throw errors.badRequest(`volume ${JSON.stringify(volume.name)}: only configMap, secret, downwardAPI and serviceAccountToken projections are supported on this node`);
      for (const [path, file] of files) payload.set(path, file);
    }
    return payload;
  }
  return undefined;
}

const HOST_PATH_KINDS: Record<string, { is: (s: Awaited<ReturnType<typeof stat>>) => boolean; what: string }> = {
  Directory: { is: (s) => s.isDirectory(), what: 'a directory' },
  DirectoryOrCreate: { is: (s) => s.isDirectory(), what: 'a directory' },
  File: { is: (s) => s.isFile(), what: 'a file' },
  FileOrCreate: { is: (s) => s.isFile(), what: 'a file' },
  Socket: { is: (s) => s.isSocket(), what: 'a socket file' },
  CharDevice: { is: (s) => s.isCharacterDevice(), what: 'a character device' },
  BlockDevice: { is: (s) => s.isBlockDevice(), what: 'a block device' },
};

/** kubelet's hostPath type check: create what the `...OrCreate` types ask for, then the path must be of that type. */
async function checkHostPath(path: string, type: string): Promise<void> {
  const kind = HOST_PATH_KINDS[type];
  if (!kind) return;
  if (type === 'DirectoryOrCreate') await mkdir(path, { recursive: true, mode: 0o755 });
  if (type === 'FileOrCreate') await (await open(path, 'a', 0o644).catch(() => undefined))?.close();
  const found = await stat(path).catch(() => undefined);
  if (!found) throw errors.badRequest(`hostPath type check failed: ${path} does not exist`);
  if (!kind.is(found)) throw errors.badRequest(`hostPath type check failed: ${path} is not ${kind.what}`);
}

/** A memory-backed emptyDir is a tmpfs of its own, as big as its sizeLimit (the kernel's default without one). */
async function mountTmpfs(dir: string, sizeLimit: string | undefined): Promise<void> {
  if ((await mountPointsUnder(dir)).includes(dir)) return;
  const options = [`mode=${EMPTY_DIR_MODE.toString(8)}`];
  if (sizeLimit !== undefined) options.push(`size=${Math.ceil(parseQuantity(sizeLimit))}`);
  await mustRun('mount', ['-t', 'tmpfs', '-o', options.join(','), 'tmpfs', dir], { what: `mounting a tmpfs for emptyDir ${dir}` });
}

/** local-path directories are made world-writable, as k3s' provisioner makes them, for containers running as any user. */
const LOCAL_PATH_MODE = 0o777;

/**
 * The directory of a pod's claim: its bound volume's, on this node. A local-path volume's directory is created
 * here, for its first pod, and must be one directly in this node's storage dir (the PV says where, and a PV is
 * input like any other); a hostPath volume is checked as a hostPath pod volume; a local volume must exist.
 */
async function claimVolume(pod: Pod, volume: Volume, objects: ObjectSource, storageDir: string): Promise<PreparedVolume> {
  const { claimName, readOnly } = volume.persistentVolumeClaim!;
  if (!objects.claim || !objects.volume) throw errors.badRequest(`volume ${JSON.stringify(volume.name)}: persistentVolumeClaim volumes are not supported on this node`);
  const pvc = await objects.claim(pod.metadata.namespace ?? 'default', claimName);
  if (!pvc) throw errors.notFound('persistentvolumeclaims', claimName);
  const volumeName = pvc.spec?.volumeName;
  if (!volumeName || pvc.status?.phase !== 'Bound') throw errors.badRequest(`persistentvolumeclaim "${claimName}" is not bound yet`);
  const pv = await objects.volume(volumeName);
  if (!pv || (pv.spec?.claimRef?.uid && pv.spec.claimRef.uid !== pvc.metadata.uid)) throw errors.badRequest(`persistentvolume "${volumeName}" is not bound to claim "${claimName}"`);
  const prepared = (hostPath: string) => ({ hostPath, readOnly: readOnly === true });
  if (localPathNode(pv)) {
    const path = resolve(pv.spec?.hostPath?.path ?? pv.spec?.local?.path ?? '');
    if (dirname(path) !== resolve(storageDir)) throw errors.badRequest(`persistentvolume "${volumeName}": a local-path volume must be a directory in ${storageDir}, not ${path}`);
    await mkdir(storageDir, { recursive: true, mode: 0o700 });
    if ((await mkdir(path, { recursive: true })) !== undefined) await chmod(path, LOCAL_PATH_MODE);
    return prepared(path);
  }
  if (pv.spec?.hostPath) {
    await checkHostPath(pv.spec.hostPath.path, pv.spec.hostPath.type ?? '');
    return prepared(pv.spec.hostPath.path);
  }
  if (pv.spec?.local) {
    const found = await stat(pv.spec.local.path).catch(() => undefined);
    if (!found?.isDirectory()) throw errors.badRequest(`persistentvolume "${volumeName}": local path ${pv.spec.local.path} is not a directory on this node`);
    return prepared(pv.spec.local.path);
  }
  throw errors.badRequest(`persistentvolume "${volumeName}": only hostPath and local volumes can be mounted on this node`);
}

/** The host directory of one pod volume, made ready for its containers' bind mounts. */
async function prepareVolume(pod: Pod, volume: Volume, dir: string, objects: ObjectSource, allocatable: NodeAllocatable, dataDir: string): Promise<PreparedVolume> {
  if (volume.persistentVolumeClaim) return claimVolume(pod, volume, objects, nodePaths(dataDir).storage);
  if (volume.hostPath) {
    await checkHostPath(volume.hostPath.path, volume.hostPath.type ?? '');
    return { hostPath: volume.hostPath.path, readOnly: false };
  }
  if (volume.emptyDir) {
    // World-writable as kubelet makes it (whatever the umask), so any user a container runs as can write;
    // only when new, which keeps the setgid bit fsGroup adds.
    if ((await mkdir(dir, { recursive: true })) !== undefined) await chmod(dir, EMPTY_DIR_MODE);
    if (volume.emptyDir.medium === 'Memory') await mountTmpfs(dir, volume.emptyDir.sizeLimit);
    return { hostPath: dir, readOnly: false };
  }
  const payload = await volumePayload(pod, volume, objects, allocatable);
  if (!payload) throw errors.badRequest(`volume ${JSON.stringify(volume.name)}: only emptyDir, hostPath, persistentVolumeClaim, configMap, secret, downwardAPI and projected volumes are supported on this node`);
  const ready = { hostPath: dir, readOnly: true };
  // As kubelet's: fsGroup's group and permissions on the new files before they are swapped in.
  await writeAtomically(dir, payload, () => applyFsGroup(pod, new Map([[volume.name, ready]]), false));
  return ready;
}

function checkedName(name: string): string {
  if (!name || name.includes('/') || name === '.' || name === '..') throw errors.badRequest(`volume name ${JSON.stringify(name)} cannot name a directory`);
  return name;
}

/**
 * Makes every volume of the pod ready under `<podDir>/volumes/<name>` (hostPath volumes are the host's
 * own path) and answers them by name, for the containers' mounts. Volumes of files are rewritten when what
 * they show changed (see writeAtomically); calling it again is cheap when nothing did.
 */
export async function preparePodVolumes(dataDir: string, pod: Pod, objects: ObjectSource, allocatable: NodeAllocatable): Promise<Map<string, PreparedVolume>> {
  const root = join(podDir(dataDir, pod.metadata.uid ?? ''), 'volumes');
  const prepared = new Map<string, PreparedVolume>();
  for (const volume of pod.spec?.volumes ?? []) {
    prepared.set(volume.name, await prepareVolume(pod, volume, join(root, checkedName(volume.name)), objects, allocatable, dataDir));
  }
  return prepared;
}

/** Removes the pod's directory, after unmounting what is mounted in it (tmpfs emptyDirs, subPath binds). */
export async function removePodDir(dataDir: string, podUid: string): Promise<void> {
  if (!podUid) return;
  const dir = podDir(dataDir, podUid);
  await unmountAllUnder(dir);
  await rm(dir, { recursive: true, force: true });
}
