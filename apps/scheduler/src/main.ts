/**
 * The scheduler on its own, against any berth (or Kubernetes) API server: `berth server` runs the same
 * scheduler in-process; this binary is for running it elsewhere, or a second one under another name.
 */
import { KubeClient, loadKubeConfig } from '@berth/client';
import { stopOnSignals } from '@berth/lifecycle';
import { DEFAULT_SCHEDULER_NAME, startScheduler } from '@berth/scheduler';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';

interface Flags {
  kubeconfig?: string;
  schedulerName: string;
  workers: number;
  retrySeconds: number;
  logLevel: string;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

async function main(): Promise<void> {
  const program = new Command('berth-scheduler')
    .description('assigns pods without a node to nodes, through the API server')
    .option('--kubeconfig <path>', 'kubeconfig to reach the API server ($KUBECONFIG, then berth\'s and ~/.kube/config when omitted)')
    .option('--scheduler-name <name>', 'schedule pods whose spec.schedulerName is this', DEFAULT_SCHEDULER_NAME)
    .addOption(new Option('--workers <n>', 'bindings in flight at once').default(64).argParser(positiveInteger))
    .addOption(new Option('--retry-seconds <n>', 'retry unschedulable pods at least this often').default(60).argParser(positiveInteger))
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error']).default('info'))
    .showHelpAfterError();
  program.parse(process.argv);
  const flags = program.opts<Flags>();

  const logger = pino({ level: flags.logLevel, base: { component: 'scheduler' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeConfig({ kubeconfig: flags.kubeconfig }), { userAgent: 'berth-scheduler' });
  } catch (err) {
    process.stderr.write(`berth-scheduler: ${(err as Error).message}\n`);
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
