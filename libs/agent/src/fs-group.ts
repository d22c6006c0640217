import type { Pod } from '@berth/api';
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreparedVolume } from './container-spec';

/** kubelet's masks: group read (and write) on every file, group search and setgid on directories. */
const READ_WRITE = 0o660;
const READ_ONLY = 0o440;
const DIRECTORY = 0o110 | 0o2000;

async function own(path: string, gid: number, readOnly: boolean): Promise<void> {
  const stat = await lstat(path);
  await lchown(path, -1, gid);
  if (stat.isSymbolicLink()) return;
  const mask = (readOnly ? READ_ONLY : READ_WRITE) | (stat.isDirectory() ? DIRECTORY : 0);
  if ((stat.mode & mask) !== mask) await chmod(path, (stat.mode & 0o7777) | mask);
  if (!stat.isDirectory()) return;
  for (const entry of await readdir(path)) await own(join(path, entry), gid, readOnly);
}

/** OnRootMismatch: the volume's root already has the group and the permissions, so its files are taken to as well. */
async function rootMatches(path: string, gid: number, readOnly: boolean): Promise<boolean> {
  const stat = await lstat(path);
  const mask = (readOnly ? READ_ONLY : READ_WRITE) | DIRECTORY;
  return stat.gid === gid && (stat.mode & mask) === mask;
}

/**
 * pod.spec.securityContext.fsGroup, as kubelet's SetVolumeOwnership: every file of the pod's volumes
 * (but hostPath ones, which belong to the host) gets the group and group access, and directories the
 * setgid bit so that what containers create there gets the group too. Writable volumes are done when
 * first made (`firstSetup`); volumes the agent rewrites (ConfigMaps, Secrets) every time.
 */
export async function applyFsGroup(pod: Pod, prepared: ReadonlyMap<string, PreparedVolume>, firstSetup: boolean): Promise<void> {
  const context = pod.spec?.securityContext;
  const gid = context?.fsGroup;
  if (gid === undefined) return;
  for (const volume of pod.spec?.volumes ?? []) {
    const ready = prepared.get(volume.name);
    if (!ready || volume.hostPath || (!ready.readOnly && !firstSetup)) continue;
    // Volumes the agent writes get new files under a root that already matches: kubelet ignores the policy for them.
    if (context?.fsGroupChangePolicy === 'OnRootMismatch' && !ready.readOnly && (await rootMatches(ready.hostPath, gid, ready.readOnly))) continue;
    await own(ready.hostPath, gid, ready.readOnly);
  }
}
