import { checkClusterDNS, checkClusterDomain, checkImageGCPolicy, DEFAULT_IMAGE_GC, DEFAULT_NODE_LEASE_DURATION_MS, defaultNodeName, DEFAULT_CLUSTER_DNS, DEFAULT_CLUSTER_DOMAIN, nodeCredentialPath, type JoinTarget } from '@berth/agent';
import type { ClusterConnection } from '@berth/client';
import { caCertHash, connectionFromFile, findKubeconfig, parseJoinToken } from '@berth/client';
import { errors } from '@berth/errors';
import { type Command, InvalidArgumentError } from 'commander';
import { daemonCommand, durationFlag, flagParser, LOG_LEVELS, logLevelFlag, parseCommand, percentFlag, positiveDurationFlag } from '@berth/flags';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/berth/agent';

/**
 * What the agent talks to the API server with: its node's own credential (kept in the data dir, got by
 * joining `server` with its token when there is none yet), or a kubeconfig given with --kubeconfig.
 */
export type AgentCredential =
  | {
      kind: 'node';
      /** The server (--server) and the token to join with; undefined: the one the stored credential names. */
      server?: JoinTarget;
      /**
       * Set when a join token pins the cluster CA and no CA was given: the CA is to be fetched from the
       * server's /cacerts and checked against this hash before it is trusted (see ./join).
       */
      pinnedCaHash?: string;
    }
  | { kind: 'kubeconfig'; connection: ClusterConnection };

export interface AgentConfig {
  credential: AgentCredential;
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
  /** The node Lease's duration; the agent renews it every quarter of it (kubelet's nodeLeaseDurationSeconds). */
  nodeLeaseDurationMs: number;
  /** The DNS server pods on the pod network use (kubelet's --cluster-dns). */
  clusterDNS: string;
  /** The cluster's DNS domain (kubelet's --cluster-domain). */
  clusterDomain: string;
  /** The node's resolv.conf for pods with dnsPolicy Default (kubelet's --resolv-conf); undefined: chosen as k3s does. */
  resolvConf?: string;
  /** Run the service proxy, host-gw routes and DNS server (off: something else on the host does). */
  nodeServices: boolean;
  /** Image GC: disk use (percent) at which unused images are removed, and down to which (kubelet's --image-gc-*-threshold). */
  imageGCHighThresholdPercent: number;
  imageGCLowThresholdPercent: number;
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
  tokenFile?: string;
  kubeconfig?: string;
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
  dataDir: string;
  nodeName?: string;
  runtimeSocket?: string;
  nodeIp?: string;
  cgroupParent?: string;
  crashLoopBackoffBase: number;
  nodeLeaseDuration: number;
  clusterDns: string;
  clusterDomain: string;
  resolvConf?: string;
  disableNodeServices?: boolean;
  imageGcHighThreshold: number;
  imageGcLowThreshold: number;
  logLevel: string;
}

/** The token from --token, --token-file or $BERTH_TOKEN (in that order); --token shows in `ps`, the others don't. */
function tokenOf(flags: Flags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.token !== undefined && flags.tokenFile !== undefined) throw errors.badRequest('give --token or --token-file, not both');
  if (flags.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.tokenFile, 'utf8');
    } catch (err) {
      throw errors.badRequest(`--token-file ${flags.tokenFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const token = text.trim();
    if (!token) throw errors.badRequest(`--token-file ${flags.tokenFile}: the file is empty`);
    return token;
  }
  return flags.token ?? (env.BERTH_TOKEN?.trim() || undefined);
}

/** The most servers --server takes (a cluster has a handful). */
const MAX_SERVERS = 16;

/** --server URL[,URL...]: one cluster's API servers, all http(s), all with the same scheme, each once. */
export function serverList(value: string): string[] {
  const servers = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!servers.length) throw errors.badRequest('--server: give at least one URL');
  if (servers.length > MAX_SERVERS) throw errors.badRequest(`--server: at most ${MAX_SERVERS} servers`);
  for (const server of servers) {
    let url: URL | undefined;
    try {
      url = new URL(server);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || !/^https?:\/\//.test(server)) throw errors.badRequest(`--server ${server}: must be an http(s) URL`);
  }
  if (new Set(servers.map((s) => s.slice(0, 5))).size > 1) throw errors.badRequest(`--server ${value}: every server must use the same scheme (https)`);
  return servers;
}

/**
 * The API server and credentials. A join token (K10...) carries the secret that lets a host join, sent as
 * its bearer token when it asks for its node certificate, and the CA's hash: with neither
 * --certificate-authority nor --insecure-skip-tls-verify the CA is fetched at start and checked against
 * it; a given CA must match it too. A bare token joins the same way (an admin token may). Once the node's
 * credential is stored in the data dir, no token is needed.
 */
function credentialOf(flags: Flags, dataDir: string, env: NodeJS.ProcessEnv): AgentCredential {
  const token = tokenOf(flags, env);
  const joinToken = token === undefined ? undefined : parseJoinToken(token);
  const bearer = joinToken?.secret ?? token;
  if (flags.server) {
    const servers = serverList(flags.server);
    if (!token && !existsSync(nodeCredentialPath(dataDir))) {
      throw errors.badRequest(`--server needs a join token (--token-file FILE, $BERTH_TOKEN or --token) until ${nodeCredentialPath(dataDir)} holds the node's credential`);
    }
    const ca = flags.certificateAuthority ? readFileSync(flags.certificateAuthority, 'utf8') : undefined;
    if (ca && joinToken && caCertHash(ca) !== joinToken.caHash) {
      throw errors.badRequest(`--certificate-authority ${flags.certificateAuthority}: not the CA the token was issued for`);
    }
    if (token && servers[0]!.startsWith('https:') && !ca && !flags.insecureSkipTlsVerify && !joinToken) {
      throw errors.badRequest(
        `--server ${flags.server}: give the join token from the server's DATA_DIR/token, or the cluster's CA with --certificate-authority (DATA_DIR/pki/ca.crt), or --insecure-skip-tls-verify`,
      );
    }
    const insecureSkipTLSVerify = !!flags.insecureSkipTlsVerify;
    return {
      kind: 'node',
      server: { server: servers[0]!, ...(servers.length > 1 ? { servers } : {}), token: bearer, ca, insecureSkipTLSVerify },
      pinnedCaHash: joinToken && !ca && !insecureSkipTLSVerify && servers[0]!.startsWith('https:') ? joinToken.caHash : undefined,
    };
  }
  if (flags.kubeconfig) {
    const connection = connectionFromFile(findKubeconfig({ kubeconfig: flags.kubeconfig })!);
    return { kind: 'kubeconfig', connection: bearer ? { ...connection, token: bearer, clientCert: undefined, clientKey: undefined } : connection };
  }
  if (existsSync(nodeCredentialPath(dataDir))) return { kind: 'node' };
  throw errors.badRequest('no API server to join: give --server URL with a join token (--token-file FILE), or --kubeconfig');
}

/** `berth agent`'s flags: what parseAgentFlags reads and --help lists. */
export function agentCommand(): Command {
  return daemonCommand('berth agent', 'joins this host to a cluster as a node, running its pods through its runtimed (started when none serves DATA_DIR/runtimed.sock)')
    .option('--server <url,...>', "the API server to join; several, comma-separated, are one cluster's servers: the agent moves to the next when the one it uses stops answering")
    .option('--token <token>', "the join token from the server's DATA_DIR/token (K10...), or a bearer token; visible in ps: prefer --token-file or $BERTH_TOKEN")
    .option('--token-file <file>', 'a file holding the join token (needed to join; once joined, the node uses its own credential in DATA_DIR/node)')
    .option('--kubeconfig <path>', 'kubeconfig of the API server (instead of --server)')
    .option('--certificate-authority <file>', "the cluster CA's certificate, to verify --server with")
    .option('--insecure-skip-tls-verify', "don't verify the server's certificate")
    .option('--data-dir <dir>', "the node's state (pod volumes); its runtimed listens on DIR/runtimed.sock", DEFAULT_DATA_DIR)
    .option('--node-name <name>', 'the Node to register (default: the host name)', nodeName)
    .option('--runtime-socket <path>', "runtimed's socket (default: DATA_DIR/runtimed.sock)")
    .option('--node-ip <address>', "the node's address (default: the host's first non-loopback IPv4)", ipAddress)
    .option('--cgroup-parent <path>', "cgroup parent of this host's containers, for the runtimed the agent starts (default: /berth)", cgroupPath)
    .option('--crash-loop-backoff-base <duration>', 'the first crash back-off delay, doubling to 5m', durationFlag, 10_000)
    .option('--node-lease-duration <duration>', "how long the node's Lease is good for; it is renewed every quarter of it", positiveDurationFlag, DEFAULT_NODE_LEASE_DURATION_MS)
    .option('--cluster-dns <address>', "the DNS server pods resolve names with (the node's own)", flagParser(checkClusterDNS), DEFAULT_CLUSTER_DNS)
    .option('--cluster-domain <domain>', "the cluster's DNS domain", flagParser(checkClusterDomain), DEFAULT_CLUSTER_DOMAIN)
    .option('--resolv-conf <file>', "resolv.conf for pods with dnsPolicy Default (default: /etc/resolv.conf, or systemd-resolved's upstream list when that names only 127.0.0.53)")
    .option('--disable-node-services', "don't run the node's service proxy (nftables), routes to other nodes' pods and DNS server")
    .option('--image-gc-high-threshold <percent>', "disk use of the image filesystem (runtimed's root) at which unused images are removed", percentFlag, DEFAULT_IMAGE_GC.highThresholdPercent)
    .option('--image-gc-low-threshold <percent>', 'disk use image garbage collection brings it down to', percentFlag, DEFAULT_IMAGE_GC.lowThresholdPercent)
    .option('--log-level <level>', LOG_LEVELS.join(', '), logLevelFlag, 'info');
}

/**
 * Parses `berth agent` flags (argv without node and the script); a bad one is a FlagError or a BadRequest
 * BerthError, --help a HelpRequested.
 */
export function parseAgentFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const command = agentCommand();
  parseCommand(command, argv);
  const flags = command.opts<Flags>();
  const dataDir = resolve(flags.dataDir);
  checkImageGCPolicy({ highThresholdPercent: flags.imageGcHighThreshold, lowThresholdPercent: flags.imageGcLowThreshold });
  return {
    credential: credentialOf(flags, dataDir, env),
    dataDir,
    nodeName: flags.nodeName ?? nodeName(defaultNodeName()),
    runtimeSocket: flags.runtimeSocket === undefined ? undefined : resolve(flags.runtimeSocket),
    nodeIP: flags.nodeIp,
    cgroupParent: flags.cgroupParent,
    crashLoopBackoffBaseMs: flags.crashLoopBackoffBase,
    nodeLeaseDurationMs: flags.nodeLeaseDuration,
    clusterDNS: flags.clusterDns,
    clusterDomain: flags.clusterDomain,
    resolvConf: flags.resolvConf === undefined ? undefined : resolve(flags.resolvConf),
    nodeServices: !flags.disableNodeServices,
    imageGCHighThresholdPercent: flags.imageGcHighThreshold,
    imageGCLowThresholdPercent: flags.imageGcLowThreshold,
    logLevel: flags.logLevel,
  };
}
