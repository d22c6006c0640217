/**
 * `berth agent`: joins this host to a cluster as a node, running its pods through this host's runtimed:
 * the one serving DATA_DIR/runtimed.sock, started as a child process when none does (or the one named
 * with --runtime-socket, which must be serving).
 */
import { ensureLocalRuntimed, NodeCredentialRenewer, startAgent, type LocalRuntimed, type RunningAgent } from '@berth/agent';
import { KubeClient, type ClusterConnection } from '@berth/client';
import { isBerthError } from '@berth/errors';
import { flagsOrExit } from '@berth/flags';
import { stopOnSignals } from '@berth/lifecycle';
import { recordLocalNode, RuntimeClient } from '@berth/runtime-client';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_DATA_DIR, parseAgentFlags, type AgentConfig } from './config';
import { agentConnection } from './join';

function fail(message: string): never {
  process.stderr.write(`berth agent: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const config: AgentConfig = flagsOrExit('berth agent', () => parseAgentFlags(process.argv.slice(2)));
  if (config.runtimeSocket && !existsSync(config.runtimeSocket)) {
    fail(`no runtimed socket at ${config.runtimeSocket}: start one first (berth runtimed --socket ${config.runtimeSocket})`);
  }
  // The node's credential, its pods' volumes (Secrets among them) and its runtime's state: root's alone.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const logger = pino({ level: config.logLevel, base: { component: 'agent' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let connection: ClusterConnection;
  try {
    // Before anything starts: a server that cannot be reached or trusted, or that refuses the token, is one line.
    connection = await agentConnection(config, logger);
  } catch (err) {
    if (isBerthError(err)) fail(err.message);
    throw err;
  }
  const client = new KubeClient(connection, { userAgent: 'berth-agent' });
  // The node's own certificate is renewed while it runs; a --kubeconfig given is its owner's to renew.
  const renewer =
    config.credential.kind === 'kubeconfig'
      ? undefined
      : new NodeCredentialRenewer({ dataDir: config.dataDir, nodeName: config.nodeName, connection, client, logger });
  renewer?.start();
  let runtimed: LocalRuntimed | undefined;
  let runtime: RuntimeClient | undefined;
  let agent: RunningAgent | undefined;
  let forgetLocalNode: () => Promise<void> = async () => undefined;
  const stopAll = async () => {
    await renewer?.stop();
    await agent?.stop();
    client.close();
    runtime?.close();
    await runtimed?.stop();
    await forgetLocalNode();
  };
  const start = async () => {
    runtimed = config.runtimeSocket
      ? { socket: config.runtimeSocket, stop: async () => undefined }
      : await ensureLocalRuntimed({
          dataDir: config.dataDir,
          runtimedMain: join(__dirname, '..', 'runtimed', 'main.js'),
          logger,
          cgroupParent: config.cgroupParent,
        });
    runtime = new RuntimeClient(runtimed.socket);
    const node = { socket: runtimed.socket, dataDir: config.dataDir, defaultDataDir: config.dataDir === DEFAULT_DATA_DIR };
    forgetLocalNode = await recordLocalNode(node).catch((err: Error) => {
      logger.warn({ err: err.message }, "could not record this node's runtimed socket for node-local commands");
      return async () => undefined;
    });
    const host = config.nodeIP ? { internalIP: config.nodeIP } : {};
    agent = await startAgent({
      client,
      runtime,
      nodeName: config.nodeName,
      dataDir: config.dataDir,
      logger,
      host,
      backoff: { initialMs: config.crashLoopBackoffBaseMs },
      clusterDNS: config.clusterDNS,
      clusterDomain: config.clusterDomain,
      resolvConf: config.resolvConf,
      nodeServices: config.nodeServices,
    });
  };
  // Installed before anything starts; a signal mid-start waits for it, so no runtimed is orphaned.
  const starting = start();
  stopOnSignals(logger, async () => {
    await starting.catch(() => undefined);
    await stopAll();
  });
  try {
    await starting;
  } catch (err) {
    await stopAll();
    fail((err as Error).message);
  }
}

void main();
