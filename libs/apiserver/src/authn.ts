import { dns1123SubdomainErrors } from '@berth/api';
import { NODE_USER_PREFIX, NODES_GROUP } from '@berth/client';
import { errors } from '@berth/errors';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Who sent a request, as Kubernetes' authenticators name users: a name and groups. */
export interface UserInfo {
  name: string;
  groups: readonly string[];
}

/** The group allowed everything, as Kubernetes' system:masters. */
export const MASTERS_GROUP = 'system:masters';
/** The admin token's user. */
export const ADMIN: UserInfo = { name: 'system:admin', groups: [MASTERS_GROUP, 'system:authenticated'] };
/** The join token's user: allowed to ask for a node certificate, nothing else (a bootstrap token's user). */
export const JOINING_HOST: UserInfo = { name: 'system:bootstrap:join-token', groups: ['system:bootstrappers', 'system:authenticated'] };

/** A node name as the API accepts them (a DNS subdomain); the only names node certificates are issued for. */
export function isNodeName(name: string): boolean {
  return dns1123SubdomainErrors(name).length === 0;
}

export function nodeUser(nodeName: string): UserInfo {
  return { name: `${NODE_USER_PREFIX}${nodeName}`, groups: [NODES_GROUP, 'system:authenticated'] };
}

/** The node a user is (`system:node:<name>` in system:nodes), as Kubernetes' node identifier reads it. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.name.startsWith(NODE_USER_PREFIX)) return undefined;
  return user.name.slice(NODE_USER_PREFIX.length) || undefined;
}

/** The token of an `Authorization: Bearer <token>` header, if it has one. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match ? match[1]!.trim() : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Request authentication, in Kubernetes' order: a client certificate signed by the cluster CA (the HTTPS
 * server verified it; only node certificates are issued, so it names a node), else a bearer token (the
 * admin's or the join token's). Anything else is 401.
 */
export class Authenticator {
  private readonly tokens: Array<{ secret: Buffer; user: UserInfo }>;

  constructor(secrets: { adminToken: string; joinSecret?: string }) {
    this.tokens = [
      { secret: Buffer.from(secrets.adminToken), user: ADMIN },
      ...(secrets.joinSecret ? [{ secret: Buffer.from(secrets.joinSecret), user: JOINING_HOST }] : []),
    ];
  }

  authenticate(req: IncomingMessage): UserInfo {
    const user = this.certificateUser(req) ?? this.bearerUser(req.headers.authorization);
    if (user) return user;
    throw errors.unauthorized();
  }

  /** The node a verified client certificate names, if the request came with one. */
  certificateUser(req: IncomingMessage): UserInfo | undefined {
    const socket = req.socket as Partial<TLSSocket>;
    if (!socket.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
    const subject = socket.getPeerCertificate().subject ?? {};
    const name = single(subject.CN);
    const groups = typeof subject.O === 'string' ? [subject.O] : (subject.O ?? []);
    const node = name === undefined ? undefined : nodeNameOf({ name, groups });
    return node && isNodeName(node) ? nodeUser(node) : undefined;
  }

  /** The user of an `Authorization: Bearer <token>` header, when it names a known token. */
  private bearerUser(header: string | undefined): UserInfo | undefined {
    const token = bearerToken(header);
    return token === undefined ? undefined : this.tokenUser(token);
  }

  /** Whose a secret is (the admin token, the join secret), compared in constant time; undefined for any other. */
  tokenUser(secret: string): UserInfo | undefined {
    const presented = Buffer.from(secret);
    return this.tokens.find(({ secret: known }) => presented.length === known.length && timingSafeEqual(presented, known))?.user;
  }
}
