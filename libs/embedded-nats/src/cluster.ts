import { statusFor } from '@berth/apiserver';
import { errors, isBerthError } from '@berth/errors';
import { writeFileAtomicSync } from '@berth/host';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { JoinEndpoint, requestJoin } from './join';
import { loadMembership, natsDir, newServerName, saveMembership, withMember, type Membership } from './membership';
import { CLIENT_USER, deriveClusterSecrets, natsServerConfig, type ClusterSecrets } from './nats-config';
import { EmbeddedNats, findNatsServer, waitForJetStream } from './supervisor';

export const DEFAULT_NATS_PORT = 4222;
export const DEFAULT_NATS_CLUSTER_PORT = 6222;
/** How long --join keeps asking a member that cannot be reached (it may be restarting). */
const JOIN_DEADLINE_MS = 120_000;

export interface EmbeddedClusterOptions {
  /** `init`: the first member; `join`: a member's `https://HOST:PORT` to join through. */
  mode: { init: true } | { join: string };
  dataDir: string;
  token: string;
  nodeName: string;
  bindAddress: string;
  advertisedAddress: string;
  natsPort: number;
  natsClusterPort: number;
  httpsPort: number;
  /** The serving certificate and key of the HTTPS port, for the join endpoint while the API waits. */
  tls: { cert: string; key: string };
  /** What the 503s and the log say while JetStream waits for a second member. */
  waitingMessage: string;
  logger: Logger;
}

export interface EmbeddedCluster {
  /** The store URL: this member's NATS first, the others as failover. */
  storeUrl: string;
  storeAccess: { user: string; pass: string; growReplicas: true };
  /** Answers join requests; the API server serves it on its port beside the API. */
  joinEndpoint: JoinEndpoint;
  nats: EmbeddedNats;
  stop(): Promise<void>;
}

/**
 * Starts this server's member of an embedded NATS cluster and resolves once JetStream answers (see
 * README "High availability"):
 * - the first start of `--cluster-init` makes a cluster of one that routes to itself; JetStream then
 *   waits for a second member, and until it comes the HTTPS port serves only the join endpoint (every
 *   other request gets 503 with `waitingMessage`);
 * - the first start of `--join` asks a member's join endpoint for the routes, then starts its own member
 *   routed to every one;
 * - a restart reads the membership it kept (and the JetStream store) from the data dir, and rejoins.
 */
export async function startEmbeddedCluster(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const { dataDir, logger } = options;
  const binary = findNatsServer();
  const secrets = await deriveClusterSecrets(options.token);
  const self = { cluster: `${options.advertisedAddress}:${options.natsClusterPort}`, client: `${options.advertisedAddress}:${options.natsPort}` };
  let membership = loadMembership(dataDir) ?? (await firstMembership(options, secrets, self));
  membership = withMember(membership, self.cluster, self.client);
  saveMembership(dataDir, membership);
  const writeConfig = () => {
    const dir = natsDir(dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'nats.conf');
    const config = natsServerConfig({
      serverName: membership.serverName,
      listenAddress: options.bindAddress,
      advertisedAddress: options.advertisedAddress,
      clientPort: options.natsPort,
      clusterPort: options.natsClusterPort,
      routes: membership.routes,
      storeDir: join(dir, 'jetstream'),
      secrets,
    });
    // It holds the cluster's passwords: root's alone.
    writeFileAtomicSync(path, config);
    return path;
  };
  const clientHost = options.bindAddress === '0.0.0.0' ? '127.0.0.1' : options.bindAddress;
  const nats = await EmbeddedNats.start({ binary, configPath: writeConfig(), clientHost, clientPort: options.natsPort, logger: logger.child({ component: 'nats' }) });
  const joinEndpoint = new JoinEndpoint({
    token: options.token,
    secrets,
    membership: () => membership,
    onJoined: (joined) => {
      logger.info({ server: joined.serverName, route: joined.clusterAddress }, 'a server joins the NATS cluster');
      membership = withMember(membership, joined.clusterAddress, joined.clientAddress);
      saveMembership(dataDir, membership);
      // For the next start: the running nats-server learns the new member from its route.
      writeConfig();
    },
  });
  const storeAccess = { user: CLIENT_USER, pass: secrets.clientPassword, growReplicas: true as const };
  const local = `${clientHost}:${options.natsPort}`;
  try {
    await serveJoinUntilReady(options, joinEndpoint, [local], storeAccess);
  } catch (err) {
    await nats.stop();
    throw err;
  }
  const others = membership.clientAddresses.filter((address) => address !== self.client);
  return {
    storeUrl: `nats://${[local, ...others].join(',')}`,
    storeAccess,
    joinEndpoint,
    nats,
    stop: () => nats.stop(),
  };
}

/** The membership of a first start: a cluster of one (`--cluster-init`), or the one a member answers (`--join`). */
async function firstMembership(options: EmbeddedClusterOptions, secrets: ClusterSecrets, self: { cluster: string; client: string }): Promise<Membership> {
  const serverName = newServerName(options.nodeName);
  if ('init' in options.mode) return { serverName, routes: [self.cluster], clientAddresses: [self.client] };
  const server = options.mode.join;
  const deadline = Date.now() + JOIN_DEADLINE_MS;
  for (;;) {
    try {
      const answer = await requestJoin({ server, token: options.token, secrets, request: { serverName, clusterAddress: self.cluster, clientAddress: self.client } });
      options.logger.info({ server, routes: answer.routes }, 'joined the NATS cluster');
      return { serverName, ...answer };
    } catch (err) {
      // A member restarting, or between its join-only port and its API: ask again. A refusal is final.
      if (!isBerthError(err, 'ServiceUnavailable') || Date.now() > deadline) throw err;
      options.logger.warn({ server, err: (err as Error).message }, 'cannot join yet; asking again');
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/**
 * Until JetStream answers, the HTTPS port serves the join endpoint and 503 for the rest; closed (and the
 * port free for the API) once it does.
 */
async function serveJoinUntilReady(options: EmbeddedClusterOptions, endpoint: JoinEndpoint, servers: string[], access: { user: string; pass: string }): Promise<void> {
  const waiting = statusFor(errors.unavailable(options.waitingMessage));
  const body = JSON.stringify(waiting);
  const server = createServer(options.tls, (req, res) => {
    if (endpoint.handle(req, res)) return;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'retry-after': '5', connection: 'close' });
    res.end(body);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  // The port taken (another server on this host?): the API's own listen says so once JetStream answers.
  server.on('error', (err) => options.logger.error({ err }, 'the join endpoint cannot listen'));
  let listening = false;
  const ready = waitForJetStream(servers, access, () => {
    options.logger.warn(options.waitingMessage);
    process.stderr.write(`berth server: ${options.waitingMessage}\n`);
    server.listen(options.httpsPort, options.bindAddress);
    listening = true;
  });
  try {
    await ready;
  } finally {
    if (listening) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
  }
  options.logger.info('JetStream has a meta leader: the store opens');
}
