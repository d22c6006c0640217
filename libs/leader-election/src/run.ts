import { FlagError, positiveDurationFlag, switchFlag } from '@berth/flags';
import { type Command, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { DEFAULT_TIMING, LeaderElector, type LeaderElectionTiming, timingProblem } from './elector';
import { type LeaseClient, LeaseLock } from './lease-lock';

/** Where kube-scheduler and kube-controller-manager keep their Leases. */
export const LEADER_ELECTION_NAMESPACE = 'kube-system';
export const SCHEDULER_LEASE = 'kube-scheduler';
export const CONTROLLER_MANAGER_LEASE = 'kube-controller-manager';

export interface LeaderElectionConfig extends LeaderElectionTiming {
  /** Off: act at once, alone (one scheduler or controller-manager per cluster). */
  leaderElect: boolean;
  resourceName: string;
  resourceNamespace: string;
}

/** A candidate's identity as Kubernetes': `<hostname>_<uuid>`, unique even for two processes on one host. */
export function candidateIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/**
 * Adds Kubernetes' leader election flags to a daemon's command. With `resource` false the Lease's name and
 * namespace are fixed (berth server elects two components, each under its own Lease).
 */
export function leaderElectionFlags(command: Command, what: string, resource?: { name: string }, defaultOn: { value?: boolean; described?: string } = { value: true }): Command {
  command
    .addOption(
      new Option('--leader-elect [bool]', `run ${what} only while holding its Lease, so that one of several acts at a time`)
        .argParser(switchFlag)
        .default(defaultOn.value, defaultOn.described),
    )
    .option('--leader-elect-lease-duration <duration>', 'how long candidates wait after the last renewal they saw before they take the Lease over', positiveDurationFlag, DEFAULT_TIMING.leaseDurationMs)
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader tries to renew before it stops leading', positiveDurationFlag, DEFAULT_TIMING.renewDeadlineMs)
    .option('--leader-elect-retry-period <duration>', 'how long candidates wait between attempts to acquire or renew', positiveDurationFlag, DEFAULT_TIMING.retryPeriodMs);
  if (resource) {
    command
      .option('--leader-elect-resource-name <name>', 'the Lease to hold', resource.name)
      .option('--leader-elect-resource-namespace <namespace>', "the Lease's namespace", LEADER_ELECTION_NAMESPACE);
  }
  return command;
}

/** The leader election flags' values from the parsed command; FlagError for timings that could let two lead at once. */
export function leaderElectionConfig(command: Command, defaultName: string): LeaderElectionConfig {
  const opts = command.opts<{
    leaderElect: boolean;
    leaderElectLeaseDuration: number;
    leaderElectRenewDeadline: number;
    leaderElectRetryPeriod: number;
    leaderElectResourceName?: string;
    leaderElectResourceNamespace?: string;
  }>();
  const config: LeaderElectionConfig = {
    leaderElect: opts.leaderElect,
    leaseDurationMs: opts.leaderElectLeaseDuration,
    renewDeadlineMs: opts.leaderElectRenewDeadline,
    retryPeriodMs: opts.leaderElectRetryPeriod,
    resourceName: opts.leaderElectResourceName ?? defaultName,
    resourceNamespace: opts.leaderElectResourceNamespace ?? LEADER_ELECTION_NAMESPACE,
  };
  const problem = timingProblem(config);
  if (problem) throw new FlagError(`--leader-elect-*: ${problem}`);
  return config;
}

/** Anything that acts and can be stopped: a scheduler, a controller-manager. */
export interface Stoppable {
  stop(): Promise<void>;
}

export interface LeaderElectedOptions<T extends Stoppable> {
  client: LeaseClient;
  election: LeaderElectionConfig;
  logger: Logger;
  /** Starts acting; called once, when the Lease is first held (at once when leader election is off). */
  start: () => T;
  /**
   * The Lease was lost: the process must stop acting before this returns. exitOnLostLease is the usual
   * answer (kube-scheduler's): nothing of the process can act after it.
   */
  onLost: () => void;
  /** `<hostname>_<uuid>` unless given. */
  identity?: string;
}

/** A component run under leader election, stopped with its Lease released. */
export interface LeaderElected<T> extends Stoppable {
  /** The component, once this process leads (always, without leader election). */
  current(): T | undefined;
}

/**
 * Runs `start()` only while this process holds the Lease named by `election`. stop() stops the component
 * first, then releases the Lease, so the next candidate takes over at once and never overlaps it.
 */
export function runLeaderElected<T extends Stoppable>(options: LeaderElectedOptions<T>): LeaderElected<T> {
  const { election } = options;
  let component: T | undefined;
  if (!election.leaderElect) {
    component = options.start();
    return { current: () => component, stop: () => component!.stop() };
  }
  const elector = new LeaderElector({
    ...election,
    lock: new LeaseLock(options.client, election.resourceNamespace, election.resourceName),
    identity: options.identity ?? candidateIdentity(),
    logger: options.logger,
    releaseOnCancel: true,
  });
  let stopping = false;
  elector.run({
    onStartedLeading: () => {
      if (!stopping) component = options.start();
    },
    onLostLeadership: options.onLost,
  });
  return {
    current: () => component,
    stop: async () => {
      stopping = true;
      await component?.stop();
      await elector.stop();
    },
  };
}

/**
 * kube-scheduler's answer to a lost Lease: one line on stderr and exit 1 at once (synchronously, so not
 * one more request leaves); a supervisor restarts the process, which then competes again.
 */
export function exitOnLostLease(processName: string, lease: string): () => void {
  return () => {
    writeSync(2, `${processName}: lost the leader lease ${lease} (not renewed within the renew deadline); exiting so that nothing acts without it\n`);
    process.exit(1);
  };
}
