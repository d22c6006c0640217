import 'reflect-metadata';
import type { KubeClient } from '@berth/client';
import type { ControllerManager } from '@berth/controllers';
import { flagsOrExit } from '@berth/flags';
import { exitOnLostLease, runLeaderElected } from '@berth/leader-election';
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
  try {
    client = container.get<KubeClient>(TOKENS.Client);
  } catch (err) {
    process.stderr.write(`berth controller-manager: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const election = config.leaderElection;
  // Under leader election the controllers start only once this process holds the Lease, and the process
  // exits when it cannot renew it (as kube-controller-manager): no controller acts without the Lease.
  const manager = runLeaderElected({
    client,
    election,
    logger,
    start: () => container.get<ControllerManager>(TOKENS.Manager),
    onLost: exitOnLostLease('berth controller-manager', `${election.resourceNamespace}/${election.resourceName}`),
  });
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
