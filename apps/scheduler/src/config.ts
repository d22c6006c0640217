import { daemonCommand, integerFlag, LOG_LEVELS, logLevelFlag, parseCommand } from '@berth/flags';
import { type LeaderElectionConfig, leaderElectionConfig, leaderElectionFlags, SCHEDULER_LEASE } from '@berth/leader-election';
import { DEFAULT_SCHEDULER_NAME } from '@berth/scheduler';
import type { Command } from 'commander';

export interface SchedulerConfig {
  /** The kubeconfig to reach the API server with; the usual search when absent. */
  kubeconfig?: string;
  schedulerName: string;
  workers: number;
  retrySeconds: number;
  logLevel: string;
  /** Several schedulers may run; the one holding the Lease (kube-system/kube-scheduler) binds. */
  leaderElection: LeaderElectionConfig;
}

const positiveInteger = integerFlag(1, 1_000_000, 'a positive whole number');

/** `berth scheduler`'s flags: what parseSchedulerFlags reads and --help lists. */
export function schedulerCommand(): Command {
  const command = daemonCommand('berth scheduler', 'assigns pods without a node to nodes, through the API server (berth server runs it in-process)');
  return leaderElectionFlags(command, 'the scheduler', { name: SCHEDULER_LEASE })
    .option('--kubeconfig <path>', "kubeconfig to reach the API server (default: $KUBECONFIG, then berth's and ~/.kube/config)")
    .option('--scheduler-name <name>', 'schedule pods whose spec.schedulerName is this', DEFAULT_SCHEDULER_NAME)
    .option('--workers <n>', 'bindings in flight at once', positiveInteger, 64)
    .option('--retry-seconds <n>', 'retry unschedulable pods at least this often', positiveInteger, 60)
    .option('--log-level <level>', LOG_LEVELS.join(', '), logLevelFlag, 'info');
}

/** Parses `berth scheduler` flags (argv without node and the script); FlagError or HelpRequested. */
export function parseSchedulerFlags(argv: string[]): SchedulerConfig {
  const command = schedulerCommand();
  parseCommand(command, argv);
  const { kubeconfig, schedulerName, workers, retrySeconds, logLevel } = command.opts<SchedulerConfig>();
  return { kubeconfig, schedulerName, workers, retrySeconds, logLevel, leaderElection: leaderElectionConfig(command, SCHEDULER_LEASE) };
}
