import {
  ALL_CONTROLLERS,
  type ControllerName,
  DEFAULT_CLUSTER_CIDR,
  DEFAULT_NODE_CIDR_MASK_SIZE,
  DEFAULT_NODE_EVICTION_RATE,
  DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS,
  DEFAULT_POD_EVICTION_TIMEOUT_MS,
  DEFAULT_UNHEALTHY_ZONE_THRESHOLD,
} from '@berth/controllers';
import { Ipv4Cidr } from '@berth/ipv4';
import { errors } from '@berth/errors';
import { type Command, InvalidArgumentError } from 'commander';
import { CONTROLLER_MANAGER_LEASE, type LeaderElectionConfig, leaderElectionConfig, leaderElectionFlags } from '@berth/leader-election';
import { daemonCommand, decimalFlag, durationFlag, flagParser, LOG_LEVELS, logLevelFlag, parseCommand, prefixLengthFlag } from '@berth/flags';

export interface ControllerManagerConfig {
  /** The kubeconfig to reach the apiserver with; the usual search ($KUBECONFIG, berth's, ~/.kube/config) when absent. */
  kubeconfig?: string;
  nodeMonitorGracePeriodMs: number;
  podEvictionTimeoutMs: number;
  unhealthyZoneThreshold: number;
  nodeEvictionRate: number;
  /** How often each HorizontalPodAutoscaler is evaluated. */
  hpaSyncPeriodMs: number;
  controllers: ControllerName[];
  logLevel: string;
  /** `host:port` to serve /metrics and /healthz on; none when absent. */
  metricsAddress?: { host: string; port: number };
  /** Where node pod CIDRs are cut from, nodeCidrMaskSize bits long (node IPAM). */
  clusterCidr: string;
  nodeCidrMaskSize: number;
  /** Several controller-managers may run; the one holding the Lease (kube-system/kube-controller-manager) acts. */
  leaderElection: LeaderElectionConfig;
}

const ipv4Cidr = flagParser((value) => Ipv4Cidr.parse(value).toString());

function hostPort(value: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new InvalidArgumentError('must be host:port, e.g. 127.0.0.1:10257');
  return { host: match[1] || '0.0.0.0', port };
}

function controllerList(value: string): ControllerName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !ALL_CONTROLLERS.includes(n as ControllerName));
  if (unknown.length) throw new InvalidArgumentError(`unknown controllers ${unknown.join(', ')} (known: ${ALL_CONTROLLERS.join(', ')})`);
  return names as ControllerName[];
}

/** `berth controller-manager`'s flags: what parseControllerManagerFlags reads and --help lists. */
export function controllerManagerCommand(): Command {
  const command = daemonCommand('berth controller-manager', 'runs the controllers against an API server (berth server runs them in-process)');
  return leaderElectionFlags(command, 'the controllers', { name: CONTROLLER_MANAGER_LEASE })
    .option('--kubeconfig <path>', 'kubeconfig of the apiserver to manage')
    .option('--node-monitor-grace-period <duration>', 'how long a node may go without renewing its Lease before it is NotReady', durationFlag, DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS)
    .option('--pod-eviction-timeout <duration>', 'how long after a node goes NotReady its pods are deleted', durationFlag, DEFAULT_POD_EVICTION_TIMEOUT_MS)
    .option('--unhealthy-zone-threshold <fraction>', 'share of nodes not Ready (more than 2, or all) at which no pod is evicted', decimalFlag(0, 1, 'a fraction of the nodes'), DEFAULT_UNHEALTHY_ZONE_THRESHOLD)
    .option('--node-eviction-rate <nodes/s>', 'nodes whose pods may start being evicted per second (the first at once)', decimalFlag(0, 1000, 'nodes per second'), DEFAULT_NODE_EVICTION_RATE)
    .option('--horizontal-pod-autoscaler-sync-period <duration>', 'how often each HorizontalPodAutoscaler is evaluated', durationFlag, 15_000)
    .option('--controllers <names>', `comma-separated controllers to run (${ALL_CONTROLLERS.join(', ')})`, controllerList, [...ALL_CONTROLLERS])
    .option('--metrics-bind-address <host:port>', 'serve Prometheus /metrics and /healthz here (port 0: any free port)', hostPort)
    .option('--log-level <level>', LOG_LEVELS.join(', '), logLevelFlag, 'info')
    .option('--cluster-cidr <cidr>', 'IPv4 range node pod CIDRs are cut from', ipv4Cidr, DEFAULT_CLUSTER_CIDR)
    .option('--node-cidr-mask-size <bits>', "prefix length of each node's pod CIDR", prefixLengthFlag, DEFAULT_NODE_CIDR_MASK_SIZE);
}

/** Parses the controller-manager's flags (argv without node and the script); FlagError, BadRequest or HelpRequested. */
export function parseControllerManagerFlags(argv: string[]): ControllerManagerConfig {
  const command = controllerManagerCommand();
  parseCommand(command, argv);
  const opts = command.opts<{
    kubeconfig?: string;
    nodeMonitorGracePeriod: number;
    podEvictionTimeout: number;
    unhealthyZoneThreshold: number;
    nodeEvictionRate: number;
    horizontalPodAutoscalerSyncPeriod: number;
    controllers: ControllerName[];
    logLevel: string;
    metricsBindAddress?: { host: string; port: number };
    clusterCidr: string;
    nodeCidrMaskSize: number;
  }>();
  if (opts.nodeCidrMaskSize < Ipv4Cidr.parse(opts.clusterCidr).prefixLength) {
    throw errors.badRequest(`--node-cidr-mask-size /${opts.nodeCidrMaskSize} is shorter than --cluster-cidr ${opts.clusterCidr}`);
  }
  return {
    kubeconfig: opts.kubeconfig,
    nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriod,
    podEvictionTimeoutMs: opts.podEvictionTimeout,
    unhealthyZoneThreshold: opts.unhealthyZoneThreshold,
    nodeEvictionRate: opts.nodeEvictionRate,
    hpaSyncPeriodMs: opts.horizontalPodAutoscalerSyncPeriod,
    controllers: opts.controllers,
    logLevel: opts.logLevel,
    metricsAddress: opts.metricsBindAddress,
    clusterCidr: opts.clusterCidr,
    nodeCidrMaskSize: opts.nodeCidrMaskSize,
    leaderElection: leaderElectionConfig(command, CONTROLLER_MANAGER_LEASE),
  };
}
