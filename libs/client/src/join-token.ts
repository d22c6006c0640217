import { createHash } from 'node:crypto';
import { errors } from '@berth/errors';

/**
 * Join tokens, k3s style: `K10<sha256 hex of the cluster CA>::<user>:<secret>`. The hash is taken over
 * the CA certificate's PEM text exactly as the server serves it at `GET /cacerts` (as k3s hashes its
 * cacerts answer), so a joining host can fetch the CA without verification and then check it.
 * The secret is the bearer credential; the user part names what the token is for (`node`).
 */
const PREFIX = 'K10';
const JOIN_TOKEN = /^K10([0-9a-f]{64})::([a-z0-9-]+):(\S+)$/;

export interface JoinToken {
  /** sha256 hex of the CA's PEM text. */
  caHash: string;
  user: string;
  /** What the server accepts as a bearer token. */
  secret: string;
}

export function caCertHash(caPem: string): string {
  return createHash('sha256').update(caPem).digest('hex');
}

export function formatJoinToken(caPem: string, secret: string, user = 'node'): string {
  return `${PREFIX}${caCertHash(caPem)}::${user}:${secret}`;
}

/** A bare token (no K10 prefix) is not a join token: undefined. A K10 token that is malformed is a BadRequest. */
export function parseJoinToken(token: string): JoinToken | undefined {
  if (!token.startsWith(PREFIX)) return undefined;
  const match = JOIN_TOKEN.exec(token);
  if (!match) throw errors.badRequest('the token is not a valid join token (K10<sha256 of the CA>::node:<secret>)');
  return { caHash: match[1]!, user: match[2]!, secret: match[3]! };
}

/**
 * Where a host joins (the kubelet's TLS bootstrap, in one request): it POSTs the certificate signing
 * request of a key it made itself (PEM, `CN=system:node:<name>, O=system:nodes`) with the join token as
 * its bearer token, and gets its client certificate back (PEM), signed by the cluster CA. A node renews
 * its certificate the same way, presenting the certificate it has.
 */
export const NODE_CERTIFICATE_PATH = '/v1-berth/node-certificate';
/** The API server's endpoint that collects the cluster registry's garbage (admin only; `?dryRun=true&deleteUntagged=true`). */
export const REGISTRY_GC_PATH = '/v1-berth/registry/gc';
export const PEM_MEDIA_TYPE = 'application/x-pem-file';
/** A node's user name is `system:node:<node name>`, in the group `system:nodes`, as kubelets' are. */
export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';
/** Where nodes renew their heartbeat Leases, one named after each node; a node may touch only its own, there. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
