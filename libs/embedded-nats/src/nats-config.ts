import { errors } from '@berth/errors';
import { createHmac, scrypt } from 'node:crypto';

/**
 * Everything of an embedded NATS cluster's secrets comes from the server token, so a server that has the
 * token needs nothing else to take part and nothing without it can: the route and client passwords and the
 * join endpoint's proof key are HMACs, each with its own label, of one scrypt key of the token (scrypt, as
 * the bootstrap data's key, so a weak token is slow to guess from what crosses the network).
 */
export interface ClusterSecrets {
  /** Password of the route user: every server's routes authenticate with it. */
  routePassword: string;
  /** Password of the client user: the berth servers' store connections. */
  clientPassword: string;
  /** HMAC key of the join endpoint's proof (see join.ts). */
  joinKey: Buffer;
}

export const ROUTE_USER = 'berth-route';
export const CLIENT_USER = 'berth';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const SALT = 'berth-embedded-nats-v1';

export async function deriveClusterSecrets(token: string): Promise<ClusterSecrets> {
  const key = await new Promise<Buffer>((resolve, reject) => scrypt(token, SALT, 32, SCRYPT, (err, derived) => (err ? reject(err) : resolve(derived))));
  const label = (name: string) => createHmac('sha256', key).update(name).digest();
  return { routePassword: label('route').toString('hex'), clientPassword: label('client').toString('hex'), joinKey: label('join') };
}

/** `host:port` with an IPv4 address or a DNS name: what a NATS member is reached at. */
const HOST_PORT = /^([a-zA-Z0-9](?:[-a-zA-Z0-9.]{0,251}[a-zA-Z0-9])?):(\d{1,5})$/;

/** Throws BadRequest unless `value` is `host:port` (IPv4 or DNS name, port 1-65535). */
export function checkHostPort(value: unknown, what: string): string {
  const match = typeof value === 'string' ? HOST_PORT.exec(value) : null;
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw errors.badRequest(`${what} must be HOST:PORT, got ${JSON.stringify(value)?.slice(0, 80)}`);
  return value as string;
}

/** NATS server names: DNS-label-like, so they are safe in the config file and readable in NATS' logs. */
const SERVER_NAME = /^[a-z0-9][-a-z0-9.]{0,62}$/;

export function checkServerName(value: unknown): string {
  if (typeof value !== 'string' || !SERVER_NAME.test(value)) throw errors.badRequest(`a NATS server name must be 1-63 lowercase letters, digits, - and ., got ${JSON.stringify(value)?.slice(0, 80)}`);
  return value;
}

export interface NatsServerSettings {
  serverName: string;
  /** Address the client and cluster ports listen on (0.0.0.0: every address). */
  listenAddress: string;
  /** The address other servers reach this one at (what it advertises to its routes and clients). */
  advertisedAddress: string;
  clientPort: number;
  clusterPort: number;
  /** Every member's cluster `host:port`, this server's own included (a lone first member routes to itself). */
  routes: string[];
  storeDir: string;
  secrets: Pick<ClusterSecrets, 'routePassword' | 'clientPassword'>;
}

/** Room for berth's 1.5 MiB values plus the envelope (NATS' default max_payload is 1 MiB). */
const MAX_PAYLOAD = '8MB';
export const NATS_CLUSTER_NAME = 'berth';

/**
 * The nats-server config file (the format Debian's nats-server 2.9 reads). JetStream runs clustered from
 * the first start, also on a lone member: a standalone node restarted as clustered loses its streams, and
 * clustered JetStream does not start without routes, so the first member routes to itself and JetStream
 * waits (no meta leader) until a second member joins. Values are quoted; every one of them was checked
 * (names, addresses, hex passwords, a path of the data dir), so none can end a string early.
 */
export function natsServerConfig(settings: NatsServerSettings): string {
  const { routePassword, clientPassword } = settings.secrets;
  const quote = (value: string) => {
    if (/["\\\n]/.test(value)) throw errors.badRequest(`${JSON.stringify(value)} cannot be written into a NATS config`);
    return `"${value}"`;
  };
  const routes = settings.routes.map((route) => quote(`nats-route://${ROUTE_USER}:${routePassword}@${checkHostPort(route, 'a NATS route')}`));
  return [
    `server_name: ${quote(checkServerName(settings.serverName))}`,
    `listen: ${quote(`${settings.listenAddress}:${settings.clientPort}`)}`,
    `client_advertise: ${quote(`${settings.advertisedAddress}:${settings.clientPort}`)}`,
    `max_payload: ${MAX_PAYLOAD}`,
    `authorization { user: ${quote(CLIENT_USER)}, password: ${quote(clientPassword)} }`,
    `jetstream { store_dir: ${quote(settings.storeDir)} }`,
    'cluster {',
    `  name: ${quote(NATS_CLUSTER_NAME)}`,
    `  listen: ${quote(`${settings.listenAddress}:${settings.clusterPort}`)}`,
    `  advertise: ${quote(`${settings.advertisedAddress}:${settings.clusterPort}`)}`,
    `  authorization { user: ${quote(ROUTE_USER)}, password: ${quote(routePassword)} }`,
    `  routes: [${routes.join(', ')}]`,
    '}',
    '',
  ].join('\n');
}
