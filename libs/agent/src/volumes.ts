import type { KeyToPath, Pod, Volume } from '@berth/api';
import { errors } from '@berth/errors';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import { nodePaths } from './node-paths';
import { configMapEntries, type ObjectSource, type PreparedVolume, secretEntries } from './container-spec';

/** Where a pod's node-side files live: `<dataDir>/pods/<uid>/`, removed with the pod. */
export function podDir(dataDir: string, podUid: string): string {
  return join(nodePaths(dataDir).pods, podUid);
}

function checkedRelative(path: string): string {
  if (!path || path.startsWith('/') || normalize(path).split('/').includes('..')) throw errors.badRequest(`volume item path ${JSON.stringify(path)} must be a relative path inside the volume`);
  return path;
}

/** Files below dir (relative paths). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * Writes a ConfigMap's or Secret's keys (or only the listed items) as files. The directory itself is
 * kept and files are rewritten in place, so running containers, which bind-mount the directory, see
 * the new contents; files of keys that are gone are removed.
 */
async function writeKeyFiles(dir: string, entries: Map<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files = items?.length ? items.map((item) => ({ key: item.key, path: checkedRelative(item.path), mode: item.mode ?? defaultMode })) : [...entries.keys()].map((key) => ({ key, path: key, mode: defaultMode }));
  for (const file of files) {
    const data = entries.get(file.key);
    if (data === undefined) {
      if (optional) continue;
      throw errors.badRequest(`configuration key ${JSON.stringify(file.key)} not found`);
    }
    const target = join(dir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
    await chmod(target, file.mode);
  }
  const wanted = new Set(files.map((f) => normalize(f.path)));
  for (const existing of await filesUnder(dir)) if (!wanted.has(existing)) await rm(join(dir, existing), { force: true });
}

const DEFAULT_FILE_MODE = 0o644;

/** The host directory of one pod volume, made ready for its containers' bind mounts. */
async function prepareVolume(pod: Pod, volume: Volume, dir: string, objects: ObjectSource): Promise<PreparedVolume> {
  const namespace = pod.metadata.namespace ?? 'default';
  if (volume.hostPath) {
    const type = volume.hostPath.type ?? '';
    if (type === 'DirectoryOrCreate') await mkdir(volume.hostPath.path, { recursive: true });
    return { hostPath: volume.hostPath.path, readOnly: false };
  }
  if (volume.emptyDir) {
    // Memory-backed emptyDirs are plain directories for now: runtimed's tmpfs mounts are per container, not shared.
    await mkdir(dir, { recursive: true });
    return { hostPath: dir, readOnly: false };
  }
  if (volume.configMap) {
    const name = volume.configMap.name ?? '';
    const cm = await objects.configMap(namespace, name);
    if (!cm && !volume.configMap.optional) throw errors.notFound('configmaps', name);
    await writeKeyFiles(dir, cm ? configMapEntries(cm) : new Map(), volume.configMap.items, volume.configMap.defaultMode ?? DEFAULT_FILE_MODE, !!volume.configMap.optional);
    return { hostPath: dir, readOnly: true };
  }
  if (volume.secret) {
    const name = volume.secret.secretName ?? '';
    const secret = await objects.secret(namespace, name);
    if (!secret && !volume.secret.optional) throw errors.notFound('secrets', name);
    await writeKeyFiles(dir, secret ? secretEntries(secret) : new Map(), volume.secret.items, volume.secret.defaultMode ?? DEFAULT_FILE_MODE, !!volume.secret.optional);
    return { hostPath: dir, readOnly: true };
  }
  throw errors.badRequest(`volume ${JSON.stringify(volume.name)}: only emptyDir, hostPath, configMap and secret volumes are supported on this node`);
}

/**
 * Makes every volume of the pod ready under `<podDir>/volumes/<name>` (hostPath volumes are the host's
 * own path) and answers them by name, for the containers' mounts.
 */
export async function preparePodVolumes(dataDir: string, pod: Pod, objects: ObjectSource): Promise<Map<string, PreparedVolume>> {
  const root = join(podDir(dataDir, pod.metadata.uid ?? ''), 'volumes');
  const prepared = new Map<string, PreparedVolume>();
  for (const volume of pod.spec?.volumes ?? []) {
    prepared.set(volume.name, await prepareVolume(pod, volume, join(root, checkedRelative(volume.name)), objects));
  }
  return prepared;
}

export async function removePodDir(dataDir: string, podUid: string): Promise<void> {
  if (!podUid) return;
  await rm(podDir(dataDir, podUid), { recursive: true, force: true });
}
