import type { Pod } from '@berth/api';
import { O_PATH, openHandleAt } from '@berth/host';
import { constants } from 'node:fs';
import { chmod, chown, lchown, lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import type { PreparedVolume } from './container-spec';

/** kubelet's masks: group read (and write) on every file, group search and setgid on directories. */
const READ_WRITE = 0o660;
const READ_ONLY = 0o440;
const DIRECTORY = 0o110 | 0o2000;

/**
 * Gives the file `handle` (an O_PATH fd that follows no link) the group and the mask, and everything below it
 * when it is a directory. The walk goes by fd, never by path: the volume may be an emptyDir whose containers
 * run (after an agent restart), and they can swap any file or directory for a symbolic link at any moment.
 * chown, chmod and readdir go through /proc/self/fd/N, which is the inode fstat saw whatever its name is now;
 * each entry is opened from its directory's fd with O_NOFOLLOW. A link is given the group by lchown of
 * `<directory fd>/<name>`, which changes at most what is at that name in the volume now, never its target.
 */
async function own(handle: FileHandle, gid: number, readOnly: boolean, linkAt: string): Promise<void> {
  const stat = await handle.stat();
  if (stat.isSymbolicLink()) return lchown(linkAt, -1, gid);
  const self = `/proc/self/fd/${handle.fd}`;
  await chown(self, -1, gid);
  const mask = (readOnly ? READ_ONLY : READ_WRITE) | (stat.isDirectory() ? DIRECTORY : 0);
  if ((stat.mode & mask) !== mask) await chmod(self, (stat.mode & 0o7777) | mask);
  if (!stat.isDirectory()) return;
  for (const name of await readdir(self)) {
    // Undefined: removed since the directory was read, as a container's files come and go.
    const entry = await openHandleAt(handle.fd, name, O_PATH);
    if (!entry) continue;
    try {
      await own(entry, gid, readOnly, `${self}/${name}`);
    } finally {
      await entry.close();
    }
  }
}

/** `own` from the volume's root, the agent's own path (a container cannot rename it). */
async function ownVolume(root: string, gid: number, readOnly: boolean): Promise<void> {
  const handle = await open(root, O_PATH | constants.O_NOFOLLOW);
  try {
    await own(handle, gid, readOnly, root);
  } finally {
    await handle.close();
  }
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
    await ownVolume(ready.hostPath, gid, ready.readOnly);
  }
}
