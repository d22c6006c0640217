import 'reflect-metadata';
import type { KubeClient } from '@berth/client';
import type { ControllerManager } from '@berth/controllers';
import { flagsOrExit } from '@berth/flags';
import { stopOnSignals } from '@berth/lifecycle';
import type { Server } from 'node:http';
import pino from 'pino';
import type { Registry } from 'prom-client';
import { parseControllerManagerFlags } from './config';
import { buildContainer, TOKENS } from './container';
import { serveMetrics } from './metrics-server';

/** The controller-manager on its own, against any apiserver a kubeconfig names (`berth server` runs it in-process). */
async function main(): Promise<void> {
  const config = flagsOrExit('berth controller-manager', () => parseControllerManagerFlags(process.argv.slice(2)));
  const logger = pino({ level: config.logLevel, base: { component: 'controller-manager' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  const container = buildContainer(config, logger);
  let client: KubeClient;
  let manager: ControllerManager;
  try {
    client = container.get<KubeClient>(TOKENS.Client);
    manager = container.get<ControllerManager>(TOKENS.Manager);
  } catch (err) {
    process.stderr.write(`berth controller-manager: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let metricsServer: Server | undefined;
  if (config.metricsAddress) {
    const { host, port } = config.metricsAddress;
    try {
      const served = await serveMetrics(container.get<Registry>(TOKENS.Registry), host, port);
      metricsServer = served.server;
      logger.info({ address: `${host}:${served.port}` }, 'serving /metrics and /healthz');
    } catch (err) {
      process.stderr.write(`berth controller-manager: cannot serve metrics on ${host}:${port}: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  stopOnSignals(logger, async () => {
    await manager.stop();
    client.close();
    metricsServer?.close();
  });
}

void main();
