import { errors, field, FieldCause } from '@berth/errors';
import { MAX_ID } from './defaults';
import { readFileBeneath } from '@berth/host';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/** The passwd/group files a user is resolved against; a larger one is not an account database. */
const MAX_ACCOUNT_FILE_BYTES = 4 * 1024 * 1024;

/**
 * etc/<name> of a rootfs, or '' when it is absent or not a plain file. A running container can rewrite its
 * /etc (exec resolves its user there), so no link is followed and a fifo does not block the reader.
 */
function readRootfsFile(rootfs: string, name: string): string {
  return readFileBeneath(rootfs, `etc/${name}`, MAX_ACCOUNT_FILE_BYTES) ?? '';
}

function records(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

const numeric = (s: string) => /^\d+$/.test(s);

/**
 * Docker's `--user` (`name|uid[:group|gid]`) resolved against the image's /etc/passwd and
 * /etc/group: a name must exist there; a number need not. Without a group, the user's primary group
 * and the groups listing the user as a member.
 */
export function resolveUser(rootfs: string, user: string): ResolvedUser {
  const [userPart, groupPart] = user.split(':', 2);
  const bad = (detail: string) => errors.invalid('container', '', [field.invalid('user', user, detail)]);
  if (!userPart) throw bad('must be name|uid[:group|gid]');
  const passwd = records(readRootfsFile(rootfs, 'passwd'));
  const groups = records(readRootfsFile(rootfs, 'group'));
  const entry = passwd.find((r) => (numeric(userPart) ? r[2] === userPart : r[0] === userPart));
  if (!entry && !numeric(userPart)) throw bad(`no user "${userPart}" in the image's /etc/passwd`);
  const uid = Number(entry ? entry[2] : userPart);
  let gid = entry ? Number(entry[3]) : 0;
  let additionalGids: number[] | undefined;
  if (groupPart) {
    const group = groups.find((g) => (numeric(groupPart) ? g[2] === groupPart : g[0] === groupPart));
    if (!group && !numeric(groupPart)) throw bad(`no group "${groupPart}" in the image's /etc/group`);
    gid = Number(group ? group[2] : groupPart);
  } else if (entry) {
    const name = entry[0];
    const member = groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2]));
    if (member.length) additionalGids = [...new Set(member)].filter((g) => g !== gid);
  }
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) throw bad('has a malformed id');
  return additionalGids?.length ? { uid, gid, additionalGids } : { uid, gid };
}


/**
 * docker run --group-add: each a gid, or a group name of the image's /etc/group; an unknown name or an
 * id out of range is Invalid, naming its place under `path`.
 */
export function resolveGroups(rootfs: string, groups: readonly string[], path = 'supplementalGroups'): number[] {
  if (!groups.length) return [];
  const known = records(readRootfsFile(rootfs, 'group'));
  const causes: FieldCause[] = [];
  const gids: number[] = [];
  for (const [i, group] of groups.entries()) {
    const gid = numeric(group) ? Number(group) : Number(known.find((g) => g[0] === group)?.[2]);
    if (Number.isSafeInteger(gid) && gid <= MAX_ID) gids.push(gid);
    else causes.push(field.invalid(`${path}[${i}]`, group, numeric(group) ? 'must be a group id from 0 to 4294967294' : "must be a gid or a group of the image's /etc/group"));
  }
  if (causes.length) throw errors.invalid('container', '', causes);
  return gids;
}
