import { checkClusterDNS, checkClusterDomain, defaultNodeName, DEFAULT_CLUSTER_DNS, DEFAULT_CLUSTER_DOMAIN } from '@berth/agent';
import type { ClusterConnection } from '@berth/client';
import { caCertHash, connectionFromFile, findKubeconfig, parseJoinToken } from '@berth/client';
import { errors } from '@berth/errors';
import { type Command, InvalidArgumentError } from 'commander';
import { daemonCommand, durationFlag, flagParser, LOG_LEVELS, logLevelFlag, parseCommand } from '@berth/flags';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/berth/agent';

export interface AgentConfig {
  connection: ClusterConnection;
  /**
   * Set when a join token pins the cluster CA and no CA was given: the CA is to be fetched from the
   * server's /cacerts and checked against this hash before the connection is used (see ./join).
   */
  pinnedCaHash?: string;
  dataDir: string;
  nodeName: string;
  /** A runtimed named with --runtime-socket; absent: this host's own under the data dir, started if needed. */
  runtimeSocket?: string;
  /** The address the Node and its pods report; the host's first non-loopback IPv4 when absent. */
  nodeIP?: string;
  /** --cgroup-parent of the runtimed this agent starts; runtimed's default when absent. */
  cgroupParent?: string;
  /** The first crash back-off delay, doubling to 5 minutes (Kubernetes: 10 s). */
  crashLoopBackoffBaseMs: number;
  /** The DNS server pods on the pod network use (kubelet's --cluster-dns). */
  clusterDNS: string;
  /** The cluster's DNS domain (kubelet's --cluster-domain). */
  clusterDomain: string;
  /** The node's resolv.conf for pods with dnsPolicy Default (kubelet's --resolv-conf); undefined: chosen as k3s does. */
  resolvConf?: string;
  /** Run the service proxy, host-gw routes and DNS server (off: something else on the host does). */
  nodeServices: boolean;
  logLevel: string;
}

/** Node names are DNS subdomains; the host name, lowercased, is the default as in kubelet. */
function nodeName(value: string): string {
  const name = value.toLowerCase();
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name) || name.length > 253) {
    throw new InvalidArgumentError('must be a lowercase DNS subdomain (letters, digits, "-" and ".")');
  }
  return name;
}


function ipAddress(value: string): string {
  if (!isIP(value)) throw new InvalidArgumentError('must be an IPv4 or IPv6 address');
  return value;
}

function cgroupPath(value: string): string {
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(value)) throw new InvalidArgumentError('must be an absolute cgroup path like /berth');
  return value;
}

interface Flags {
  server?: string;
  token?: string;
  kubeconfig?: string;
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
  dataDir: string;
  nodeName?: string;
  runtimeSocket?: string;
  nodeIp?: string;
  cgroupParent?: string;
  crashLoopBackoffBase: number;
  clusterDns: string;
  clusterDomain: string;
  resolvConf?: string;
  disableNodeServices?: boolean;
  logLevel: string;
}

/**
 * The API server and credentials. A join token (K10...) carries the node secret, sent as the bearer
 * token, and the CA's hash: with neither --certificate-authority nor --insecure-skip-tls-verify the CA
 * is fetched at start and checked against it; a given CA must match it too.
 */
function connectionOf(flags: Flags): Pick<AgentConfig, 'connection' | 'pinnedCaHash'> {
  const joinToken = flags.token === undefined ? undefined : parseJoinToken(flags.token);
  const bearer = joinToken?.secret ?? flags.token;
  if (flags.server) {
    if (!flags.token) throw errors.badRequest('--server needs --token');
    if (!/^https?:\/\//.test(flags.server)) throw errors.badRequest(`--server ${flags.server}: must be an http(s) URL`);
    const ca = flags.certificateAuthority ? readFileSync(flags.certificateAuthority, 'utf8') : undefined;
    if (ca && joinToken && caCertHash(ca) !== joinToken.caHash) {
      throw errors.badRequest(`--certificate-authority ${flags.certificateAuthority}: not the CA the token was issued for`);
    }
    if (flags.server.startsWith('https:') && !ca && !flags.insecureSkipTlsVerify && !joinToken) {
      throw errors.badRequest(
        `--server ${flags.server}: give the join token from the server's DATA_DIR/token, or the cluster's CA with --certificate-authority (DATA_DIR/pki/ca.crt), or --insecure-skip-tls-verify`,
      );
    }
    const insecureSkipTLSVerify = !!flags.insecureSkipTlsVerify;
    return {
      connection: { server: flags.server, token: bearer, ca, insecureSkipTLSVerify },
      pinnedCaHash: joinToken && !ca && !insecureSkipTLSVerify && flags.server.startsWith('https:') ? joinToken.caHash : undefined,
    };
  }
  const path = findKubeconfig({ kubeconfig: flags.kubeconfig });
  if (!path) throw errors.badRequest('no API server to join: give --server URL --token TOKEN, or --kubeconfig');
  const connection = connectionFromFile(path);
  return { connection: bearer ? { ...connection, token: bearer, clientCert: undefined, clientKey: undefined } : connection };
}

/** `berth agent`'s flags: what parseAgentFlags reads and --help lists. */
export function agentCommand(): Command {
  return daemonCommand('berth agent', 'joins this host to a cluster as a node, running its pods through its runtimed (started when none serves DATA_DIR/runtimed.sock)')
    .option('--server <url>', 'the API server to join')
    .option('--token <token>', "the join token from the server's DATA_DIR/token (K10...), or a bearer token")
    .option('--kubeconfig <path>', 'kubeconfig of the API server (instead of --server)')
    .option('--certificate-authority <file>', "the cluster CA's certificate, to verify --server with")
    .option('--insecure-skip-tls-verify', "don't verify the server's certificate")
    .option('--data-dir <dir>', "the node's state (pod volumes); its runtimed listens on DIR/runtimed.sock", DEFAULT_DATA_DIR)
    .option('--node-name <name>', 'the Node to register (default: the host name)', nodeName)
    .option('--runtime-socket <path>', "runtimed's socket (default: DATA_DIR/runtimed.sock)")
    .option('--node-ip <address>', "the node's address (default: the host's first non-loopback IPv4)", ipAddress)
    .option('--cgroup-parent <path>', "cgroup parent of this host's containers, for the runtimed the agent starts (default: /berth)", cgroupPath)
    .option('--crash-loop-backoff-base <duration>', 'the first crash back-off delay, doubling to 5m', durationFlag, 10_000)
    .option('--cluster-dns <address>', "the DNS server pods resolve names with (the node's own)", flagParser(checkClusterDNS), DEFAULT_CLUSTER_DNS)
    .option('--cluster-domain <domain>', "the cluster's DNS domain", flagParser(checkClusterDomain), DEFAULT_CLUSTER_DOMAIN)
    .option('--resolv-conf <file>', "resolv.conf for pods with dnsPolicy Default (default: /etc/resolv.conf, or systemd-resolved's upstream list when that names only 127.0.0.53)")
    .option('--disable-node-services', "don't run the node's service proxy (nftables), routes to other nodes' pods and DNS server")
    .option('--log-level <level>', LOG_LEVELS.join(', '), logLevelFlag, 'info');
}

/**
 * Parses `berth agent` flags (argv without node and the script); a bad one is a FlagError or a BadRequest
 * BerthError, --help a HelpRequested.
 */
export function parseAgentFlags(argv: string[]): AgentConfig {
  const command = agentCommand();
  parseCommand(command, argv);
  const flags = command.opts<Flags>();
  const dataDir = resolve(flags.dataDir);
  return {
    ...connectionOf(flags),
    dataDir,
    nodeName: flags.nodeName ?? nodeName(defaultNodeName()),
    runtimeSocket: flags.runtimeSocket === undefined ? undefined : resolve(flags.runtimeSocket),
    nodeIP: flags.nodeIp,
    cgroupParent: flags.cgroupParent,
    crashLoopBackoffBaseMs: flags.crashLoopBackoffBase,
    clusterDNS: flags.clusterDns,
    clusterDomain: flags.clusterDomain,
    resolvConf: flags.resolvConf === undefined ? undefined : resolve(flags.resolvConf),
    nodeServices: !flags.disableNodeServices,
    logLevel: flags.logLevel,
  };
}
