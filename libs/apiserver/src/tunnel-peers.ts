import { resourceForKind, type Lease } from '@berth/api';
import { nodeTunnelPath, openWebSocket, type ClusterConnection, type TunnelKind } from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { ObjectService } from './objects';

const LEASE_TYPE = resourceForKind('coordination.k8s.io/v1', 'Lease')!;
/** Where the records of who holds each node's tunnel live. */
export const TUNNEL_LEASE_NAMESPACE = 'kube-system';
/** The query parameter of `nodes/{node}/tunnel` that asks the server to relay one request to the node it holds. */
export const TUNNEL_RELAY_PARAM = 'relay';
const SERVER_WRITE = { dryRun: false, fieldManager: 'berth-apiserver', fieldValidation: 'Strict' } as const;
const MAX_NAME_LENGTH = 253;
/** How often a server renews the records of the tunnels it holds (NodeTunnels drives it). */
export const TUNNEL_RENEW_INTERVAL_MS = 10_000;
/** A record not renewed for this long names a holder that stopped holding (died, or cut off): it is not trusted. */
export const TUNNEL_LEASE_DURATION_S = 30;

/** A Lease's MicroTime: RFC 3339 with microseconds. */
function microTime(at: Date): string {
  return at.toISOString().replace(/Z$/, '000Z');
}

/** The Lease that records which API server holds `node`'s tunnel; undefined when the name would be too long. */
export function tunnelLeaseName(node: string): string | undefined {
  const name = `node-tunnel.${node}`;
  return name.length <= MAX_NAME_LENGTH ? name : undefined;
}

/** What a server's end of the node tunnels asks of the other servers (see NodeTunnels). */
export interface TunnelPeers {
  /**
   * This server holds `node`'s tunnel: record it, so that the others forward to it. Called when the tunnel
   * connects and again every TUNNEL_RENEW_INTERVAL_MS while it is held, so the record's renewTime stays fresh
   * and a record lost (a store outage) comes back. A renewal never takes a fresh record from another server:
   * the agent dialled that one after this one, so this server's socket is a dead one it has not noticed yet;
   * the answer is then false (the caller drops its socket), otherwise true.
   */
  held(node: string, renewal?: boolean): Promise<boolean>;
  /** This server no longer holds `node`'s tunnel: drop the record, unless another server has taken it since. */
  released(node: string): Promise<void>;
  /**
   * Opens `kind` for `node` on the server that holds its tunnel: a socket that first carries the answer
   * (a TunnelAnswer), then the stream, as a node's dial-back does. Unavailable when no other server holds it.
   */
  relay(node: string, kind: TunnelKind, params: unknown): Promise<WebSocket>;
}

export interface TunnelPeerOptions {
  objects: Pick<ObjectService, 'get' | 'create' | 'update' | 'delete'>;
  /** This server's URL as the others reach it (its advertised address and port). */
  self: string;
  /** The cluster CA and the servers' shared admin token: how one server reaches another. */
  caCertPem: string;
  adminToken: string;
  logger: Logger;
  /** How long the holder has to accept a relayed request; default 10 s. */
  handshakeTimeoutMs?: number;
}

/**
 * The records of who holds each node's tunnel, and the way to the holder. An agent keeps its tunnel to one
 * server; the others find that server in a Lease (kube-system/node-tunnel.NODE, holderIdentity: its URL) and
 * reach the node through it: one hop (the holder serves a relayed request only from a tunnel it holds itself,
 * so a request never goes round), authenticated with the servers' shared admin credential, as the first
 * server already authorized the client. The holder renews its record while it holds the tunnel; a record
 * not renewed within its leaseDurationSeconds (its server died or was cut off, and the agent has not moved
 * yet) is not trusted: a relay fails at once with 503 naming it, rather than wait on a server that may never
 * answer. The agent's new server overwrites it within seconds.
 * The holder is verified against the cluster CA before the admin token is sent: a Lease naming another
 * address (whoever could write kube-system) gets a TLS failure, never the token.
 */
export class TunnelPeerRelay implements TunnelPeers {
  constructor(private readonly options: TunnelPeerOptions) {}

  async held(node: string, renewal = false): Promise<boolean> {
    const name = tunnelLeaseName(node);
    if (!name) return true;
    const { objects, self } = this.options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = (await objects.get(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, name).catch((err) => (isBerthError(err, 'NotFound') ? undefined : Promise.reject(err)))) as Lease | undefined;
      const now = microTime(new Date());
      // A renewal keeps the time this server took the tunnel; a new holder's record starts now.
      const otherHolder = current?.spec?.holderIdentity !== undefined && current.spec.holderIdentity !== self;
      if (renewal && otherHolder && staleFor(current!, Date.now()) === undefined) return false;
      const renewing = current?.spec?.holderIdentity === self && current.spec.acquireTime;
      const spec = { holderIdentity: self, leaseDurationSeconds: TUNNEL_LEASE_DURATION_S, acquireTime: renewing || now, renewTime: now };
      try {
        if (!current) {
          await objects.create(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: TUNNEL_LEASE_NAMESPACE }, spec }, SERVER_WRITE);
        } else {
          await objects.update(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, name, { ...current, spec: { ...current.spec, ...spec } }, SERVER_WRITE);
        }
        return true;
      } catch (err) {
        if (!isBerthError(err, 'Conflict') && !isBerthError(err, 'AlreadyExists')) throw err;
      }
    }
    throw errors.conflict('leases', name, `could not record the tunnel of node "${node}": its Lease kept changing`, 'coordination.k8s.io');
  }

  async released(node: string): Promise<void> {
    const name = tunnelLeaseName(node);
    if (!name) return;
    const { objects, self } = this.options;
    const current = (await objects.get(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, name).catch(() => undefined)) as Lease | undefined;
    if (current?.spec?.holderIdentity !== self) return;
    await objects
      .delete(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, name, { dryRun: false, preconditions: { resourceVersion: current.metadata.resourceVersion } })
      .catch((err) => (isBerthError(err, 'NotFound') || isBerthError(err, 'Conflict') ? undefined : Promise.reject(err)));
  }

  async relay(node: string, kind: TunnelKind, params: unknown): Promise<WebSocket> {
    const name = tunnelLeaseName(node);
    const lease = name ? ((await this.options.objects.get(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, name).catch(() => undefined)) as Lease | undefined) : undefined;
    const holder = lease?.spec?.holderIdentity;
    if (!holder || holder === this.options.self) throw errors.unavailable(`node "${node}" has no tunnel to the API server (is its agent running?)`);
    const stale = staleFor(lease!, Date.now());
    if (stale !== undefined) {
      throw errors.unavailable(
        `node "${node}" has no live tunnel: the API server ${holder} last renewed its record ${Math.round(stale / 1000)} s ago (is it reachable, and is the agent running?)`,
      );
    }
    const connection: ClusterConnection = { server: holder, ca: this.options.caCertPem, token: this.options.adminToken, insecureSkipTLSVerify: false };
    let ws: WebSocket;
    try {
      ws = await openWebSocket(connection, nodeTunnelPath(node), { query: { [TUNNEL_RELAY_PARAM]: '1' }, handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? 10_000 });
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, node, holder }, 'cannot reach the API server that holds the node tunnel');
      throw errors.unavailable(`node "${node}"'s tunnel is held by the API server ${holder}, which cannot be reached: ${(err as Error).message}`);
    }
    ws.send(JSON.stringify({ kind, params }));
    return ws;
  }
}

/**
 * How long ago a tunnel record's renewal ran out, in ms, or undefined while it is fresh. A record without
 * a renewTime (written by a server before renewals) is trusted as fresh: its holder's death shows as a
 * connection failure.
 */
export function staleFor(lease: Lease, now: number): number | undefined {
  const renewed = Date.parse(lease.spec?.renewTime ?? '');
  if (Number.isNaN(renewed)) return undefined;
  const duration = (lease.spec?.leaseDurationSeconds ?? TUNNEL_LEASE_DURATION_S) * 1000;
  return now - renewed > duration ? now - renewed : undefined;
}
