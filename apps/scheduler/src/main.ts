/**
 * The scheduler on its own, against any berth (or Kubernetes) API server: `berth server` runs the same
 * scheduler in-process; this binary is for running it elsewhere, or a second one under another name.
 */
import { KubeClient, loadKubeConfig } from '@berth/client';
import { stopOnSignals } from '@berth/lifecycle';
import { flagsOrExit } from '@berth/flags';
import { startScheduler } from '@berth/scheduler';
import pino from 'pino';
import { parseSchedulerFlags } from './config';

async function main(): Promise<void> {
  const flags = flagsOrExit('berth scheduler', () => parseSchedulerFlags(process.argv.slice(2)));
  const logger = pino({ level: flags.logLevel, base: { component: 'scheduler' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeConfig({ kubeconfig: flags.kubeconfig }), { userAgent: 'berth-scheduler' });
  } catch (err) {
    process.stderr.write(`berth scheduler: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const scheduler = startScheduler({
    client,
    logger,
    schedulerName: flags.schedulerName,
    workers: flags.workers,
    unschedulableRetryMs: flags.retrySeconds * 1000,
  });
  logger.info({ server: client.server, schedulerName: flags.schedulerName }, 'scheduler started');

  stopOnSignals(logger, async () => {
    await scheduler.stop();
    client.close();
  });
}

void main();
