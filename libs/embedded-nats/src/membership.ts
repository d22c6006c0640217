import { errors, parseJsonObject } from '@berth/errors';
import { writeFileAtomicSync } from '@berth/host';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHostPort, checkServerName } from './nats-config';

/**
 * What a server of an embedded NATS cluster remembers of it, in `<data-dir>/nats/membership.json`: its own
 * NATS server name and the cluster and client addresses of every member it knows (its own included). A
 * restart routes to all of them, so a server comes back into its cluster whichever members are up.
 */
export interface Membership {
  serverName: string;
  /** Cluster `host:port` of every known member. */
  routes: string[];
  /** Client `host:port` of every known member: the store's failover list. */
  clientAddresses: string[];
}

/** At most this many members are remembered: a NATS cluster of berth servers has 3 or 5. */
export const MAX_MEMBERS = 16;

export function natsDir(dataDir: string): string {
  return join(dataDir, 'nats');
}

function membershipPath(dataDir: string): string {
  return join(natsDir(dataDir), 'membership.json');
}

/**
 * The NATS server name of a new member: the node name and 8 random hex digits (k3s names its etcd members
 * so), unique also when two hosts share a hostname, and kept in the membership for every restart.
 */
export function newServerName(nodeName: string): string {
  const base = nodeName.toLowerCase().replace(/[^-a-z0-9.]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 50) || 'berth';
  return checkServerName(`${base}-${randomBytes(4).toString('hex')}`);
}

/** Reads and checks a membership (from the file or from a join answer); what is not one is BadRequest. */
export function parseMembershipLists(value: unknown, what: string): Pick<Membership, 'routes' | 'clientAddresses'> {
  const fields = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const list = (field: unknown, name: string) => {
    if (!Array.isArray(field) || field.length === 0 || field.length > MAX_MEMBERS) throw errors.badRequest(`${what}: ${name} must list 1 to ${MAX_MEMBERS} members`);
    return field.map((entry) => checkHostPort(entry, `${what}: each of ${name}`));
  };
  return { routes: list(fields.routes, 'routes'), clientAddresses: list(fields.clientAddresses, 'clientAddresses') };
}

export function loadMembership(dataDir: string): Membership | undefined {
  const path = membershipPath(dataDir);
  if (!existsSync(path)) return undefined;
  const parsed = parseJsonObject(readFileSync(path, 'utf8'), path);
  const serverName = checkServerName(parsed.serverName);
  return { serverName, ...parseMembershipLists(parsed, path) };
}

export function saveMembership(dataDir: string, membership: Membership): void {
  mkdirSync(natsDir(dataDir), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(membershipPath(dataDir), `${JSON.stringify(membership, null, 2)}\n`);
}

/** The membership with a member's addresses added (once each), up to MAX_MEMBERS. */
export function withMember(membership: Membership, route: string, clientAddress: string): Membership {
  const add = (list: string[], entry: string) => (list.includes(entry) || list.length >= MAX_MEMBERS ? list : [...list, entry]);
  return { ...membership, routes: add(membership.routes, route), clientAddresses: add(membership.clientAddresses, clientAddress) };
}
