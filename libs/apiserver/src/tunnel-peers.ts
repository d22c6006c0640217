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

/** The Lease that records which API server holds `node`'s tunnel; undefined when the name would be too long. */
export function tunnelLeaseName(node: string): string | undefined {
  const name = `node-tunnel.${node}`;
  return name.length <= MAX_NAME_LENGTH ? name : undefined;
}

/** What a server's end of the node tunnels asks of the other servers (see NodeTunnels). */
export interface TunnelPeers {
  /** This server now holds `node`'s tunnel: record it, so that the others forward to it. */
  held(node: string): Promise<void>;
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
 * server already authorized the client. A record whose server died stays until the agent's new server
 * overwrites it (within seconds, when the agent moves on); until then a relay fails with 503 naming it.
 * The holder is verified against the cluster CA before the admin token is sent: a Lease naming another
 * address (whoever could write kube-system) gets a TLS failure, never the token.
 */
export class TunnelPeerRelay implements TunnelPeers {
  constructor(private readonly options: TunnelPeerOptions) {}

  async held(node: string): Promise<void> {
    const name = tunnelLeaseName(node);
    if (!name) return;
    const { objects, self } = this.options;
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    const spec = { holderIdentity: self, acquireTime: now, renewTime: now };
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = (await objects.get(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, name).catch((err) => (isBerthError(err, 'NotFound') ? undefined : Promise.reject(err)))) as Lease | undefined;
      try {
        if (!current) {
          await objects.create(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: TUNNEL_LEASE_NAMESPACE }, spec }, SERVER_WRITE);
        } else {
          await objects.update(LEASE_TYPE, TUNNEL_LEASE_NAMESPACE, name, { ...current, spec: { ...current.spec, ...spec } }, SERVER_WRITE);
        }
        return;
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
