/**
 * `berth agent`: joins this host to a cluster as a node, running its pods through the runtimed listening
 * on DATA_DIR/runtimed.sock (started separately for now).
 */
import { startAgent } from '@berth/agent';
import { KubeClient } from '@berth/client';
import { isBerthError } from '@berth/errors';
import { stopOnSignals } from '@berth/lifecycle';
import { RuntimeClient } from '@berth/runtime-client';
import { existsSync } from 'node:fs';
import pino from 'pino';
import { parseAgentFlags, type AgentConfig } from './config';

function fail(message: string): never {
  process.stderr.write(`berth agent: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: AgentConfig;
  try {
    config = parseAgentFlags(process.argv.slice(2));
  } catch (err) {
    if (isBerthError(err)) fail(err.message);
    throw err;
  }
  if (!existsSync(config.runtimeSocket)) {
    fail(`no runtimed socket at ${config.runtimeSocket}: start one first (berth runtimed --socket ${config.runtimeSocket})`);
  }
  const logger = pino({ level: config.logLevel, base: { component: 'agent' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  const client = new KubeClient(config.connection, { userAgent: 'berth-agent' });
  const runtime = new RuntimeClient(config.runtimeSocket);
  let agent;
  try {
    const host = config.nodeIP ? { internalIP: config.nodeIP } : {};
    agent = await startAgent({ client, runtime, nodeName: config.nodeName, dataDir: config.dataDir, logger, host });
  } catch (err) {
    client.close();
    runtime.close();
    fail((err as Error).message);
  }
  stopOnSignals(logger, async () => {
    await agent.stop();
    client.close();
    runtime.close();
  });
}

void main();
