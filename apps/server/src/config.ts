import { checkClusterDNS, checkClusterDomain, checkImageGCPolicy, DEFAULT_CLUSTER_DNS, DEFAULT_CLUSTER_DOMAIN, DEFAULT_IMAGE_GC, DEFAULT_NODE_LEASE_DURATION_MS } from '@berth/agent';
import {
  DEFAULT_EVENT_TTL_MS,
  DEFAULT_LIMITS,
  DEFAULT_NODE_PORT_RANGE,
  DEFAULT_REGISTRY_PORT,
  DEFAULT_REPAIR_INTERVAL_MS,
  DEFAULT_SERVICE_CIDR,
  parseNodePortRange,
  type ApiServerConfig,
  type NodePortRange,
} from '@berth/apiserver';
import { parseMirroredRegistries } from '@berth/client';
import { DEFAULT_NODE_EVICTION_RATE, DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS, DEFAULT_POD_EVICTION_TIMEOUT_MS, DEFAULT_UNHEALTHY_ZONE_THRESHOLD } from '@berth/controllers';
import { daemonCommand, decimalFlag, describedParser, durationFlag, FlagError, flagParser, integerFlag, LOG_LEVELS, logLevelFlag, parseCommand, percentFlag, portFlag, positiveDurationFlag, prefixLengthFlag, switchFlag } from '@berth/flags';
import { DEFAULT_NATS_CLUSTER_PORT, DEFAULT_NATS_PORT } from '@berth/embedded-nats';
import { Ipv4Cidr } from '@berth/ipv4';
import { CONTROLLER_MANAGER_LEASE, type LeaderElectionConfig, leaderElectionConfig, leaderElectionFlags } from '@berth/leader-election';
import { InvalidArgumentError, type Command } from 'commander';
import { join, resolve } from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/berth';

/** `berth server`'s configuration: the API server's, and what the control loops and this host's node read. */
export interface ServerConfig extends ApiServerConfig {
  disableAgent: boolean;
  /** Run no scheduler in this process (one runs elsewhere, or tests drive binding themselves). */
  disableScheduler: boolean;
  /** Run no controllers (ReplicaSet, Deployment, node lifecycle, GC) in this process. */
  disableControllerManager: boolean;
  /**
   * The scheduler and the controllers each run only while this server holds their Lease (kube-system/
   * kube-scheduler, kube-system/kube-controller-manager: the resource name here is the latter's), so that
   * several servers on one store act as one.
   */
  leaderElection: LeaderElectionConfig;
  /** A node whose Lease is not renewed this long becomes NotReady. */
  nodeMonitorGracePeriodMs: number;
  /** How often each HorizontalPodAutoscaler is evaluated. */
  hpaSyncPeriodMs: number;
  /** Pods of a NotReady node are deleted this long after it was tainted. */
  podEvictionTimeoutMs: number;
  /** The share of nodes not Ready at which no pod is evicted (full disruption). */
  unhealthyZoneThreshold: number;
  /** Nodes whose pods may start being evicted per second. */
  nodeEvictionRate: number;
  /** The local agent's first crash back-off delay, doubling to 5 minutes (Kubernetes: 10 s). */
  crashLoopBackoffBaseMs: number;
  /** The local agent's node Lease duration, renewed every quarter of it. */
  nodeLeaseDurationMs: number;
  logLevel: string;
  /** Where the node IPAM controller cuts each Node's podCIDR from, nodeCidrMaskSize bits long. */
  clusterCidr: string;
  nodeCidrMaskSize: number;
  /** The local agent's --cluster-dns: the DNS server its pods use. */
  clusterDNS: string;
  /** The local agent's image GC thresholds (percent of its image filesystem), as `berth agent`'s flags. */
  imageGCHighThresholdPercent: number;
  imageGCLowThresholdPercent: number;
  /** The local agent's --cluster-domain. */
  clusterDomain: string;
  /** The local agent's --resolv-conf; undefined: chosen as k3s does. */
  resolvConf?: string;
  /** `--cluster-init` / `--join`: this server runs a member of an embedded NATS cluster, its store. */
  embeddedNats?: EmbeddedNatsConfig;
}

export interface EmbeddedNatsConfig {
  /** `init`: the cluster's first server; `join`: the `https://HOST:PORT` of a server of the cluster. */
  mode: { init: true } | { join: string };
  natsPort: number;
  natsClusterPort: number;
}

/** The replicas of an embedded cluster's store (reached as servers join): three servers survive losing one. */
export const EMBEDDED_STORE_REPLICAS = 3;

/** A --join URL: https://HOST:PORT, nothing else. */
function joinUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be https://HOST:PORT');
  }
  if (url.protocol !== 'https:' || url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new InvalidArgumentError('must be https://HOST:PORT');
  }
  return url.origin;
}

const ipv4Cidr = flagParser((value) => Ipv4Cidr.parse(value).toString());
const countFlag = integerFlag(1, 1_000_000, 'a count');
const registryPortFlag = integerFlag(0, 65535, 'a port number, or 0 for no registry');

const mirroredRegistries = describedParser(
  flagParser((value) => parseMirroredRegistries(value, '--registry-mirror-of')),
  (registries: string[]) => registries.join(','),
);
const nodePortRange = describedParser(flagParser(parseNodePortRange), (range: NodePortRange) => `${range.min}-${range.max}`);

/** `berth server`'s flags: what parseServerFlags reads and --help lists. */
export function serverCommand(): Command {
  const command = daemonCommand('berth server', 'the control plane (API server, controllers, scheduler) and, unless --disable-agent, this host as its node');
  // One server on sqlite is the only writer its store can have: it elects no leader (and needs not wait out a Lease after a crash).
  return leaderElectionFlags(command, 'the scheduler and the controllers', undefined, { described: 'true with a nats:// store, which several servers can share; false otherwise' })
    .option('--data-dir <dir>', 'where the store, PKI and kubeconfig live', DEFAULT_DATA_DIR)
    .option('--https-port <port>', 'HTTPS port of the API', portFlag, 6443)
    .option('--bind-address <address>', 'address to listen on', '0.0.0.0')
    .option('--store <url>', 'store backend: sqlite://PATH | nats://HOST:PORT[,HOST:PORT...] | memory:// (default: sqlite://DATA_DIR/state.db)')
    .option('--store-replicas <n>', 'replicas of the NATS store\'s KV buckets (at most the NATS cluster\'s size; a bucket that exists keeps its own)', integerFlag(1, 5, 'a replica count'))
    .option('--cluster-init', `start an embedded NATS cluster (nats-server with JetStream, a child of this server, its data in DATA_DIR/nats) as the store; it serves once a second server joined with --join (default --store-replicas ${EMBEDDED_STORE_REPLICAS})`, false)
    .option('--join <url>', 'join the embedded NATS cluster and the control plane of the server at https://HOST:PORT (started with --cluster-init or --join); needs its --token', flagParser(joinUrl))
    .option('--nats-port <port>', 'with --cluster-init or --join: the embedded NATS client port (default 4222)', portFlag)
    .option('--nats-cluster-port <port>', 'with --cluster-init or --join: the embedded NATS cluster (route) port (default 6222)', portFlag)
    .option('--token <token>', "the server token: seals the cluster's identity (CA, admin credential, join secret) in a shared store; servers on one store give the same (default: DATA_DIR/server-token, made on first start)")
    .option('--disable-agent', 'do not run a node agent in this process', false)
    .option('--disable-scheduler', 'do not run the scheduler in this process', false)
    .option('--disable-controller-manager', 'do not run the controllers in this process', false)
    .option('--node-monitor-grace-period <duration>', 'a node silent this long becomes NotReady', durationFlag, DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS)
    .option('--horizontal-pod-autoscaler-sync-period <duration>', 'how often each HorizontalPodAutoscaler is evaluated', durationFlag, 15_000)
    .option('--pod-eviction-timeout <duration>', "delete a NotReady node's pods after this long", durationFlag, DEFAULT_POD_EVICTION_TIMEOUT_MS)
    .option('--unhealthy-zone-threshold <fraction>', 'share of nodes not Ready (more than 2, or all) at which no pod is evicted', decimalFlag(0, 1, 'a fraction of the nodes'), DEFAULT_UNHEALTHY_ZONE_THRESHOLD)
    .option('--node-eviction-rate <nodes/s>', 'nodes whose pods may start being evicted per second (the first at once)', decimalFlag(0, 1000, 'nodes per second'), DEFAULT_NODE_EVICTION_RATE)
    .option('--crash-loop-backoff-base <duration>', "the local agent's first crash back-off delay, doubling to 5m", durationFlag, 10_000)
    .option('--node-lease-duration <duration>', "how long the local agent's node Lease is good for; it is renewed every quarter of it", positiveDurationFlag, DEFAULT_NODE_LEASE_DURATION_MS)
    .option('--log-level <level>', LOG_LEVELS.join(', '), logLevelFlag, 'info')
    .option('--service-cidr <cidr>', 'IPv4 range Service ClusterIPs are allocated from', ipv4Cidr, DEFAULT_SERVICE_CIDR)
    .option('--service-node-port-range <min-max>', 'ports NodePort Services are allocated from', nodePortRange, DEFAULT_NODE_PORT_RANGE)
    .option('--service-allocation-repair-interval <duration>', 'how often leaked ClusterIP and NodePort allocations are found and freed', positiveDurationFlag, DEFAULT_REPAIR_INTERVAL_MS)
    .option('--cluster-cidr <cidr>', 'IPv4 range node pod CIDRs are cut from', ipv4Cidr, '10.88.0.0/16')
    .option('--node-cidr-mask-size <bits>', "prefix length of each node's pod CIDR", prefixLengthFlag, 24)
    .option('--cluster-dns <address>', "the DNS server the local agent's pods resolve names with (the node's own)", flagParser(checkClusterDNS), DEFAULT_CLUSTER_DNS)
    .option('--cluster-domain <domain>', "the cluster's DNS domain", flagParser(checkClusterDomain), DEFAULT_CLUSTER_DOMAIN)
    .option('--resolv-conf <file>', "resolv.conf for the local agent's pods with dnsPolicy Default (default: /etc/resolv.conf, or systemd-resolved's upstream list when that names only 127.0.0.53)")
    .option('--image-gc-high-threshold <percent>', "disk use of the local agent's image filesystem at which unused images are removed", percentFlag, DEFAULT_IMAGE_GC.highThresholdPercent)
    .option('--image-gc-low-threshold <percent>', 'disk use image garbage collection brings it down to', percentFlag, DEFAULT_IMAGE_GC.lowThresholdPercent)
    .option('--event-ttl <duration>', 'delete Events this long after their last write', positiveDurationFlag, DEFAULT_EVENT_TTL_MS)
    .option('--max-requests-inflight <n>', 'read-only requests served at once (watches and streams not counted); more get 429', countFlag, DEFAULT_LIMITS.maxRequestsInflight)
    .option('--max-mutating-requests-inflight <n>', 'writes served at once; more get 429', countFlag, DEFAULT_LIMITS.maxMutatingRequestsInflight)
    .option('--max-watches <n>', 'watches open at once; more get 429', countFlag, DEFAULT_LIMITS.maxWatches)
    .option('--max-watches-per-client <n>', 'watches one client address may have open; more get 429', countFlag, DEFAULT_LIMITS.maxWatchesPerClient)
    .option('--registry-port <port>', 'HTTPS port of the cluster registry (OCI distribution), on the bind address; 0 turns it off', registryPortFlag, DEFAULT_REGISTRY_PORT)
    .option(
      '--registry-mirror-of <registries>',
      'registries (comma-separated) whose images every node looks for in the cluster registry first, under the same path; "" for none',
      mirroredRegistries,
      ['docker.io'],
    )
    .option('--registry-anonymous-pull [bool]', 'let the cluster registry serve pulls without a credential (=false: pulls need a node certificate or a cluster credential)', switchFlag, true);
}

/**
 * Parses `berth server` flags (argv without the node binary, script and the `server` verb).
 * Throws ConfigError with a one-line message for bad flags, HelpRequested for --help.
 */
export function parseServerFlags(argv: string[]): ServerConfig {
  const command = serverCommand();
  parseCommand(command, argv);
  const opts = command.opts<{
    dataDir: string;
    httpsPort: number;
    bindAddress: string;
    store?: string;
    storeReplicas?: number;
    token?: string;
    clusterInit: boolean;
    join?: string;
    natsPort?: number;
    natsClusterPort?: number;
    disableAgent: boolean;
    disableScheduler: boolean;
    disableControllerManager: boolean;
    nodeMonitorGracePeriod: number;
    horizontalPodAutoscalerSyncPeriod: number;
    podEvictionTimeout: number;
    unhealthyZoneThreshold: number;
    nodeEvictionRate: number;
    crashLoopBackoffBase: number;
    nodeLeaseDuration: number;
    logLevel: string;
    serviceCidr: string;
    serviceNodePortRange: NodePortRange;
    serviceAllocationRepairInterval: number;
    clusterCidr: string;
    nodeCidrMaskSize: number;
    clusterDns: string;
    clusterDomain: string;
    resolvConf?: string;
    imageGcHighThreshold: number;
    imageGcLowThreshold: number;
    eventTtl: number;
    maxRequestsInflight: number;
    maxMutatingRequestsInflight: number;
    maxWatches: number;
    maxWatchesPerClient: number;
    registryPort: number;
    registryAnonymousPull: boolean;
    registryMirrorOf: string[];
  }>();
  if (opts.nodeCidrMaskSize < Ipv4Cidr.parse(opts.clusterCidr).prefixLength) {
    throw new ConfigError(`--node-cidr-mask-size /${opts.nodeCidrMaskSize} is shorter than --cluster-cidr ${opts.clusterCidr}`);
  }
  try {
    checkImageGCPolicy({ highThresholdPercent: opts.imageGcHighThreshold, lowThresholdPercent: opts.imageGcLowThreshold });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const embeddedNats = embeddedNatsConfig(opts);
  // An embedded cluster's store URL is known once its NATS runs (its members' addresses): this one stands for it until then.
  const storeUrl = embeddedNats ? `nats://127.0.0.1:${embeddedNats.natsPort}` : (opts.store ?? `sqlite://${join(opts.dataDir, 'state.db')}`);
  return {
    embeddedNats,
    dataDir: opts.dataDir,
    httpsPort: opts.httpsPort,
    bindAddress: opts.bindAddress,
    storeUrl,
    storeReplicas: opts.storeReplicas ?? (embeddedNats ? EMBEDDED_STORE_REPLICAS : undefined),
    token: opts.token,
    disableAgent: opts.disableAgent,
    disableScheduler: opts.disableScheduler,
    disableControllerManager: opts.disableControllerManager,
    leaderElection: serverLeaderElection(command, storeUrl),
    nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriod,
    hpaSyncPeriodMs: opts.horizontalPodAutoscalerSyncPeriod,
    podEvictionTimeoutMs: opts.podEvictionTimeout,
    unhealthyZoneThreshold: opts.unhealthyZoneThreshold,
    nodeEvictionRate: opts.nodeEvictionRate,
    crashLoopBackoffBaseMs: opts.crashLoopBackoffBase,
    nodeLeaseDurationMs: opts.nodeLeaseDuration,
    logLevel: opts.logLevel,
    serviceCidr: opts.serviceCidr,
    serviceNodePortRange: opts.serviceNodePortRange,
    serviceAllocationRepairIntervalMs: opts.serviceAllocationRepairInterval,
    clusterCidr: opts.clusterCidr,
    nodeCidrMaskSize: opts.nodeCidrMaskSize,
    clusterDNS: opts.clusterDns,
    imageGCHighThresholdPercent: opts.imageGcHighThreshold,
    imageGCLowThresholdPercent: opts.imageGcLowThreshold,
    clusterDomain: opts.clusterDomain,
    resolvConf: opts.resolvConf === undefined ? undefined : resolve(opts.resolvConf),
    eventTtlMs: opts.eventTtl,
    limits: {
      ...DEFAULT_LIMITS,
      maxRequestsInflight: opts.maxRequestsInflight,
      maxMutatingRequestsInflight: opts.maxMutatingRequestsInflight,
      maxWatches: opts.maxWatches,
      maxWatchesPerClient: opts.maxWatchesPerClient,
    },
    registryPort: opts.registryPort,
    registryAnonymousPull: opts.registryAnonymousPull,
    registryMirrorOf: opts.registryMirrorOf,
  };
}

/** --cluster-init / --join and the flags that go with them only. */
function embeddedNatsConfig(opts: { clusterInit: boolean; join?: string; natsPort?: number; natsClusterPort?: number; store?: string }): EmbeddedNatsConfig | undefined {
  if (opts.clusterInit && opts.join !== undefined) throw new ConfigError('--cluster-init starts a cluster and --join joins one: give one of them');
  if (!opts.clusterInit && opts.join === undefined) {
    if (opts.natsPort !== undefined || opts.natsClusterPort !== undefined) throw new ConfigError('--nats-port and --nats-cluster-port go with --cluster-init or --join');
    return undefined;
  }
  if (opts.store !== undefined) throw new ConfigError(`${opts.clusterInit ? '--cluster-init' : '--join'} runs its own NATS as the store: leave out --store`);
  const natsPort = opts.natsPort ?? DEFAULT_NATS_PORT;
  const natsClusterPort = opts.natsClusterPort ?? DEFAULT_NATS_CLUSTER_PORT;
  if (natsPort === natsClusterPort) throw new ConfigError(`--nats-port and --nats-cluster-port are both ${natsPort}`);
  return { mode: opts.join === undefined ? { init: true } : { join: opts.join }, natsPort, natsClusterPort };
}

/** A bad flag (one line); the flags library's, so the parser's own errors and these are one kind. */
export const ConfigError = FlagError;

/** The leader election of the server's loops: on by default only when the store can be shared by several servers (NATS). */
function serverLeaderElection(command: Command, storeUrl: string): LeaderElectionConfig {
  const config = leaderElectionConfig(command, CONTROLLER_MANAGER_LEASE);
  return { ...config, leaderElect: command.opts<{ leaderElect?: boolean }>().leaderElect ?? storeUrl.startsWith('nats://') };
}
