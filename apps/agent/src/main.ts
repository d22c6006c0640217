/**
 * `berth agent`: joins this host to a cluster as a node, running its pods through this host's runtimed:
 * the one serving DATA_DIR/runtimed.sock, started as a child process when none does (or the one named
 * with --runtime-socket, which must be serving).
 */
import { startLocalRuntimedAhead, startNode, type RunningNode } from '@berth/agent';
import type { ClusterConnection } from '@berth/client';
import { isBerthError } from '@berth/errors';
import { flagsOrExit } from '@berth/flags';
import { stopOnSignals } from '@berth/lifecycle';
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
  const runtimedMain = join(__dirname, '..', 'runtimed', 'main.js');
  // runtimed starts while the agent joins; a join that fails is still the one line below.
  const ahead = config.runtimeSocket ? undefined : startLocalRuntimedAhead({ dataDir: config.dataDir, runtimedMain, cgroupParent: config.cgroupParent });
  // Whatever becomes of the start, no runtimed started here outlives the agent.
  const stopRuntimed = async () => ahead?.stop();
  const host = config.nodeIP ? { internalIP: config.nodeIP } : {};
  let node: Promise<RunningNode> | undefined;
  // Installed before anything starts; a signal mid-start waits for it, so no runtimed is orphaned.
  const starting = (async () => {
    // A server that cannot be reached or trusted, or that refuses the token, is one line (below).
    const connection: ClusterConnection = await agentConnection(config, logger);
    node = startNode({
      connection,
      // The node's own certificate is renewed while it runs; a --kubeconfig given is its owner's to renew.
      renewCredential: config.credential.kind !== 'kubeconfig',
      nodeName: config.nodeName,
      dataDir: config.dataDir,
      defaultDataDir: config.dataDir === DEFAULT_DATA_DIR,
      runtimeSocket: config.runtimeSocket,
      runtimed: ahead?.runtimed,
      runtimedMain,
      cgroupParent: config.cgroupParent,
      logger,
      host,
      backoff: { initialMs: config.crashLoopBackoffBaseMs },
      leaseDurationMs: config.nodeLeaseDurationMs,
      clusterDNS: config.clusterDNS,
      clusterDomain: config.clusterDomain,
      resolvConf: config.resolvConf,
      nodeServices: config.nodeServices,
      imageGC: { highThresholdPercent: config.imageGCHighThresholdPercent, lowThresholdPercent: config.imageGCLowThresholdPercent },
    });
    return node;
  })();
  stopOnSignals(logger, async () => {
    const running = await starting.catch(() => undefined);
    await running?.stop();
    await stopRuntimed();
  });
  try {
    await starting;
  } catch (err) {
    // startNode stopped what it had started; a join that failed leaves the runtimed started beside it.
    await stopRuntimed().catch((stopErr: unknown) => logger.error({ err: stopErr }, 'stopping runtimed failed'));
    if (!node && !isBerthError(err)) throw err;
    fail((err as Error).message);
  }
}

void main();
