import { ensureNodeCredential } from '@berth/agent';
import { caCertHash, Transport, type ClusterConnection } from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import type { AgentConfig } from './config';

/** How long a joining agent waits for the server to answer before it gives up. */
const JOIN_TIMEOUT_MS = 10_000;

async function get(connection: ClusterConnection, path: string, accept?: string): Promise<string> {
  const transport = new Transport(connection, { requestTimeoutMs: JOIN_TIMEOUT_MS, userAgent: 'berth-agent' });
  try {
    return (await transport.request({ method: 'GET', path, accept })).body;
  } finally {
    transport.close();
  }
}

/**
 * The cluster CA for a join token that pins it: fetched from the unauthenticated `GET /cacerts` without
 * verifying the server (the token's hash is the trust anchor), then used to verify it from then on.
 */
export async function fetchPinnedCA(target: Pick<ClusterConnection, 'server' | 'servers'>, caHash: string): Promise<string> {
  const ca = await get({ server: target.server, servers: target.servers, insecureSkipTLSVerify: true }, '/cacerts', 'application/x-pem-file');
  if (caCertHash(ca) !== caHash) throw errors.badRequest("the server's CA does not match the token");
  return ca;
}

/**
 * One authenticated request before anything starts, so an unreachable server, a certificate that does
 * not verify or a refused token end the agent with one clear line instead of retries in its log.
 */
export async function checkServer(connection: ClusterConnection): Promise<void> {
  try {
    await get(connection, '/api');
  } catch (err) {
    if (isBerthError(err, 'Unauthorized')) {
      throw errors.unauthorized(`the server at ${connection.server} refused the ${connection.token ? 'token' : "node's credential"} (401 Unauthorized)`);
    }
    throw err;
  }
}

/**
 * The connection the agent runs with: the node's own credential (joining first when the data dir holds
 * none, with the CA fetched and checked when the join token pins it), or the --kubeconfig given; then
 * one request proves that the server takes it.
 */
export async function agentConnection(config: Pick<AgentConfig, 'credential' | 'dataDir' | 'nodeName'>, logger: Logger): Promise<ClusterConnection> {
  const { credential } = config;
  let connection: ClusterConnection;
  if (credential.kind === 'kubeconfig') {
    connection = credential.connection;
  } else {
    const { server, pinnedCaHash } = credential;
    const trusted = server && pinnedCaHash ? { ...server, ca: await fetchPinnedCA(server, pinnedCaHash) } : server;
    connection = await ensureNodeCredential({ dataDir: config.dataDir, nodeName: config.nodeName, server: trusted, logger });
  }
  await checkServer(connection);
  return connection;
}
