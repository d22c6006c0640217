/**
 * `berth server`: the composition root of the control plane. The apiserver owns the store; the
 * controllers and the scheduler run in the same process as ordinary API clients, through
 * the admin kubeconfig, exactly as they would from another host.
 */
import 'reflect-metadata';
import { KubeClient, loadKubeConfig } from '@berth/client';
import { startControllerManager } from '@berth/controllers';
import { stopOnSignals } from '@berth/lifecycle';
import { startScheduler } from '@berth/scheduler';
import pino, { type Logger } from 'pino';
import { ApiServerApp } from './app';
import { ConfigError, parseServerFlags, type ServerConfig } from './config';

/** Something running beside the apiserver that must stop before it. */
interface Component {
  stop(): Promise<void>;
}

function startControlLoops(config: ServerConfig, app: ApiServerApp, logger: Logger): { components: Component[]; client: KubeClient } {
  const client = new KubeClient(loadKubeConfig({ kubeconfig: app.kubeconfigPath }), { userAgent: 'berth-server' });
  const components: Component[] = [];
  const controllerManager = config.disableControllerManager
    ? undefined
    : startControllerManager({
        client,
        logger: logger.child({ component: 'controller-manager' }),
        nodeMonitorGracePeriodMs: config.nodeMonitorGracePeriodMs,
        podEvictionTimeoutMs: config.podEvictionTimeoutMs,
      });
  if (controllerManager) components.push(controllerManager);
  // The scheduler shares the controllers' pod and node watches when both run here.
  if (!config.disableScheduler) components.push(startScheduler({ client, logger, informers: controllerManager?.informers }));
  return { components, client };
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = parseServerFlags(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`berth server: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { component: 'apiserver' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let app: ApiServerApp;
  try {
    app = await ApiServerApp.start(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'berth apiserver failed to start');
    process.stderr.write(`berth server: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const { components, client } = startControlLoops(config, app, logger);
  stopOnSignals(logger, async () => {
    await Promise.all(components.map((c) => c.stop()));
    client.close();
    await app.stop();
  });
}

void main();
