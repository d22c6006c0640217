import { defaultNodeName } from '@berth/agent';
import type { ClusterConnection } from '@berth/client';
import { connectionFromFile, findKubeconfig } from '@berth/client';
import { errors } from '@berth/errors';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/berth/agent';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface AgentConfig {
  connection: ClusterConnection;
  dataDir: string;
  nodeName: string;
  /** A runtimed named with --runtime-socket; absent: this host's own under the data dir, started if needed. */
  runtimeSocket?: string;
  /** The address the Node and its pods report; the host's first non-loopback IPv4 when absent. */
  nodeIP?: string;
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
  logLevel: string;
}

function connectionOf(flags: Flags): ClusterConnection {
  if (flags.server) {
    if (!flags.token) throw errors.badRequest('--server needs --token');
    if (!/^https?:\/\//.test(flags.server)) throw errors.badRequest(`--server ${flags.server}: must be an http(s) URL`);
    if (flags.server.startsWith('https:') && !flags.certificateAuthority && !flags.insecureSkipTlsVerify) {
      throw errors.badRequest(`--server ${flags.server}: give the cluster's CA with --certificate-authority (berth server writes it to DATA_DIR/pki/ca.crt), or --insecure-skip-tls-verify`);
    }
    return {
      server: flags.server,
      token: flags.token,
      ca: flags.certificateAuthority ? readFileSync(flags.certificateAuthority, 'utf8') : undefined,
      insecureSkipTLSVerify: !!flags.insecureSkipTlsVerify,
    };
  }
  const path = findKubeconfig({ kubeconfig: flags.kubeconfig });
  if (!path) throw errors.badRequest('no API server to join: give --server URL --token TOKEN, or --kubeconfig');
  const connection = connectionFromFile(path);
  return flags.token ? { ...connection, token: flags.token, clientCert: undefined, clientKey: undefined } : connection;
}

/** Parses `berth agent` flags (argv without node and the script); a bad one is a BadRequest BerthError. */
export function parseAgentFlags(argv: string[]): AgentConfig {
  const command = new Command('berth agent')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .allowExcessArguments(false)
    .option('--server <url>', 'the API server to join')
    .option('--token <token>', 'bearer token for the API server')
    .option('--kubeconfig <path>', 'kubeconfig of the API server (instead of --server)')
    .option('--certificate-authority <file>', "the cluster CA's certificate, to verify --server with")
    .option('--insecure-skip-tls-verify', "don't verify the server's certificate")
    .option('--data-dir <dir>', "the node's state (pod volumes); its runtimed listens on DIR/runtimed.sock", DEFAULT_DATA_DIR)
    .option('--node-name <name>', 'the Node to register (default: the host name)', nodeName)
    .option('--runtime-socket <path>', "runtimed's socket (default: DATA_DIR/runtimed.sock)")
    .option('--node-ip <address>', "the node's address (default: the host's first non-loopback IPv4)", ipAddress)
    .option('--log-level <level>', LOG_LEVELS.join(', '), 'info');
  try {
    command.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw errors.badRequest(err.message.replace(/^error: /, ''));
    throw err;
  }
  const flags = command.opts<Flags>();
  if (!LOG_LEVELS.includes(flags.logLevel)) throw errors.badRequest(`--log-level ${flags.logLevel}: must be one of ${LOG_LEVELS.join(', ')}`);
  const dataDir = resolve(flags.dataDir);
  return {
    connection: connectionOf(flags),
    dataDir,
    nodeName: flags.nodeName ?? nodeName(defaultNodeName()),
    runtimeSocket: flags.runtimeSocket === undefined ? undefined : resolve(flags.runtimeSocket),
    nodeIP: flags.nodeIp,
    logLevel: flags.logLevel,
  };
}
