import { containerUserName, localDescendingPathErrors, type Container, type Pod, type SeccompProfile } from '@berth/api';
import { errors } from '@berth/errors';
import { O_PATH } from '@berth/host';
import { MAX_SECCOMP_PROFILE_BYTES } from '@berth/oci';
import type { ImageDetails, SecurityConfig } from '@berth/runtime-client';
import { constants } from 'node:fs';
import { open, readFile, realpath } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';

/** Where the node's Localhost seccomp profiles live, as kubelet's `<root>/seccomp`. */
export function seccompDir(dataDir: string): string {
  return join(dataDir, 'seccomp');
}

/**
 * A Localhost profile's text, from `<seccomp dir>/<localhostProfile>`. The name stays inside that
 * directory: an absolute path, `..`, or a symlink leading out is refused, as is anything but a file.
 */
export async function readLocalhostProfile(dir: string, name: string): Promise<string> {
  const shown = JSON.stringify(name);
  if (!name || name.includes('\0') || localDescendingPathErrors(name).length > 0) {
    throw errors.badRequest(`localhost seccomp profile ${shown} must be a relative path inside the node's seccomp directory ${dir}`);
  }
  const path = join(dir, name);
  let handle;
  try {
    const [root, real] = await Promise.all([realpath(dir), realpath(path)]);
    const rel = relative(root, real);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw errors.badRequest(`localhost seccomp profile ${shown} leads out of the node's seccomp directory ${dir}`);
    // Looked at through an O_PATH fd before it is opened: opening a fifo would block the pod worker until a writer came.
    handle = await open(real, O_PATH | constants.O_NOFOLLOW);
    const stat = await handle.stat();
    if (!stat.isFile()) throw errors.badRequest(`localhost seccomp profile ${shown} at ${path} is not a file`);
    if (stat.size > MAX_SECCOMP_PROFILE_BYTES) throw errors.badRequest(`localhost seccomp profile ${shown} at ${path} is larger than ${MAX_SECCOMP_PROFILE_BYTES} bytes`);
    // The inode just looked at, whatever is at its name now.
    return await readFile(`/proc/self/fd/${handle.fd}`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw errors.badRequest(`cannot load localhost seccomp profile ${shown} from ${path}: ${code === 'ENOENT' ? 'no such file' : code}`);
    throw err;
  } finally {
    await handle?.close();
  }
}

/** The User of an image's config ('' for root or an unreadable config). */
export function imageConfigUser(details: Pick<ImageDetails, 'configJson'>): string {
  try {
    const user = (JSON.parse(details.configJson) as { config?: { User?: unknown } } | null)?.config?.User;
    return typeof user === 'string' ? user : '';
  } catch {
    return '';
  }
}

/** "namespace/name_uid", as kubelet names a pod in its messages. */
function podRef(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}_${pod.metadata.uid ?? ''}`;
}

export interface ContainerSecurity {
  /** name|uid[:group|gid] for runtimed; absent: the image's. */
  user?: string;
  readOnlyRootfs: boolean;
  security: SecurityConfig;
}

/**
 * The container's securityContext over the pod's, as the kubelet applies them with Docker's seccomp
 * profile as the default (kubelet's --seccomp-default). Without runAsUser, the pod's user.berth.dev
 * annotation names the user (runAsGroup replacing its group). runAsGroup without a user keeps the image's
 * user (`imageUser`) with the group; runAsNonRoot with runAsUser 0 is refused here with kubelet's
 * message, and runtimed refuses an image whose user resolves to root. fsGroup joins the supplemental
 * groups, as kubelet adds it.
 */
export async function containerSecurity(pod: Pod, container: Container, options: { seccompDir: string; imageUser: string }): Promise<ContainerSecurity> {
  const podContext = pod.spec?.securityContext ?? {};
  const context = container.securityContext ?? {};
  const uid = context.runAsUser ?? podContext.runAsUser;
  const gid = context.runAsGroup ?? podContext.runAsGroup;
  const runAsNonRoot = context.runAsNonRoot ?? podContext.runAsNonRoot ?? false;
  if (runAsNonRoot && uid === 0) throw errors.badRequest(`container's runAsUser breaks non-root policy (pod: "${podRef(pod)}", container: ${container.name})`);
  // A user by name (user.berth.dev/<container>, compose's `user: postgres`) stands where runAsUser is not set;
  // runtimed resolves it in the image's /etc/passwd (and refuses it under runAsNonRoot if it is root).
  const named = containerUserName(pod.metadata.annotations, container.name);
  let user: string | undefined;
  if (uid !== undefined) user = gid !== undefined ? `${uid}:${gid}` : String(uid);
  else if (named !== undefined) user = gid !== undefined ? `${named.split(':')[0]}:${gid}` : named;
  else if (gid !== undefined) user = `${options.imageUser.split(':')[0] || '0'}:${gid}`;
  const groups = [...(podContext.supplementalGroups ?? []), ...(podContext.fsGroup !== undefined ? [podContext.fsGroup] : [])];
  const security: SecurityConfig = {
    privileged: !!context.privileged,
    capAdd: context.capabilities?.add ?? [],
    capDrop: context.capabilities?.drop ?? [],
    seccomp: await seccomp(context.seccompProfile ?? podContext.seccompProfile, options.seccompDir),
    noNewPrivileges: context.allowPrivilegeEscalation === false,
    runAsNonRoot,
    sysctls: Object.fromEntries((podContext.sysctls ?? []).map((s) => [s.name, s.value])),
    supplementalGroups: [...new Set(groups)].map(String),
  };
  return { ...(user !== undefined ? { user } : {}), readOnlyRootfs: !!context.readOnlyRootFilesystem, security };
}

async function seccomp(profile: SeccompProfile | undefined, dir: string): Promise<SecurityConfig['seccomp']> {
  if (profile?.type === 'Unconfined') return { type: 'Unconfined' };
  if (profile?.type === 'Localhost') return { type: 'Localhost', profileJson: await readLocalhostProfile(dir, profile.localhostProfile ?? '') };
  return { type: 'RuntimeDefault' };
}
