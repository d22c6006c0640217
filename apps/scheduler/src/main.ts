/**
 * The scheduler on its own, against any berth (or Kubernetes) API server: `berth server` runs the same
 * scheduler in-process; this binary is for running it elsewhere, or a second one under another name.
 */
import { KubeClient, loadKubeConfig } from '@berth/client';
import { stopOnSignals } from '@berth/lifecycle';
import { flagsOrExit } from '@berth/flags';
import { exitOnLostLease, runLeaderElected } from '@berth/leader-election';
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
  const election = flags.leaderElection;
  // Under leader election the scheduler starts only once this process holds the Lease, and the process
  // exits when it cannot renew it (as kube-scheduler): nothing binds without the Lease.
  const scheduler = runLeaderElected({
    client,
    election,
    logger,
    start: () => {
      const started = startScheduler({
        client,
        logger,
        schedulerName: flags.schedulerName,
        workers: flags.workers,
        unschedulableRetryMs: flags.retrySeconds * 1000,
      });
      logger.info({ server: client.server, schedulerName: flags.schedulerName }, 'scheduler started');
      return started;
    },
    onLost: exitOnLostLease('berth scheduler', `${election.resourceNamespace}/${election.resourceName}`),
  });

  stopOnSignals(logger, async () => {
    await scheduler.stop();
    client.close();
  });
}

void main();
