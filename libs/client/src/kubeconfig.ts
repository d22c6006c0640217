import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { BerthError } from '@berth/errors';

/** Where `berth server` writes the admin kubeconfig by default. */
export const DEFAULT_BERTH_KUBECONFIG = '/var/lib/berth/kubeconfig.yaml';
/** Where a client goes when no kubeconfig exists at all, so the failure names a real address. */
export const FALLBACK_SERVER = 'https://127.0.0.1:6443';

/** Everything needed to reach and authenticate to one API server: the current context, resolved. */
export interface ClusterConnection {
  server: string;
  /** PEM CA bundle to verify the server with; the system roots when absent. */
  ca?: string;
  insecureSkipTLSVerify: boolean;
  tlsServerName?: string;
  token?: string;
  clientCert?: string;
  clientKey?: string;
  username?: string;
  password?: string;
  /** The current context's namespace, if it sets one. */
  namespace?: string;
  /** The kubeconfig file this came from; undefined for the fallback. */
  source?: string;
}

export interface KubeConfigSearch {
  /** `--kubeconfig`: used alone, and must exist. */
  kubeconfig?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to os.homedir(). */
  home?: string;
  /** Defaults to DEFAULT_BERTH_KUBECONFIG. */
  berthKubeconfig?: string;
}

/** The candidate files in the order they are tried: `--kubeconfig`, each `$KUBECONFIG` entry, berth's, `~/.kube/config`. */
export function kubeconfigCandidates(search: KubeConfigSearch = {}): string[] {
  if (search.kubeconfig) return [search.kubeconfig];
  const env = search.env ?? process.env;
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  return [...fromEnv, search.berthKubeconfig ?? DEFAULT_BERTH_KUBECONFIG, join(search.home ?? homedir(), '.kube', 'config')];
}

/** The first existing candidate; an explicit `--kubeconfig` that does not exist is an error, as in kubectl. */
export function findKubeconfig(search: KubeConfigSearch = {}): string | undefined {
  if (search.kubeconfig && !existsSync(search.kubeconfig)) {
    throw new BerthError('NotFound', `stat ${search.kubeconfig}: no such file or directory`);
  }
  return kubeconfigCandidates(search).find((path) => existsSync(path));
}

type ClientNode = typeof import('@kubernetes/client-node');
let clientNode: ClientNode | undefined;

/**
 * @kubernetes/client-node is an ES module whose import pulls in its whole generated API (about 0.6 s),
 * so it is required only when a kubeconfig is actually read. createRequire gives Node's own loader,
 * which can require() ES modules (also under jest, whose loader cannot).
 */
function loadClientNode(): ClientNode {
  clientNode ??= createRequire(__filename)('@kubernetes/client-node') as ClientNode;
  return clientNode;
}

function readOptional(path: string | undefined): string | undefined {
  return path ? readFileSync(path, 'utf8') : undefined;
}

function decodeBase64(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

/** Reads one kubeconfig file with client-node's KubeConfig and resolves its current context. */
export function connectionFromFile(path: string): ClusterConnection {
  const config = new (loadClientNode().KubeConfig)();
  try {
    config.loadFromFile(path);
  } catch (err) {
    throw new BerthError('BadRequest', `error loading config file "${path}": ${(err as Error).message.split('\n')[0]}`);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new BerthError('BadRequest', `invalid configuration: no cluster for the current context in "${path}"`);
  }
  const user = config.getCurrentUser();
  const context = config.getContextObject(config.getCurrentContext());
  try {
    return {
      server: cluster.server,
      ca: decodeBase64(cluster.caData) ?? readOptional(cluster.caFile),
      insecureSkipTLSVerify: cluster.skipTLSVerify === true,
      tlsServerName: cluster.tlsServerName,
      token: user?.token,
      clientCert: decodeBase64(user?.certData) ?? readOptional(user?.certFile),
      clientKey: decodeBase64(user?.keyData) ?? readOptional(user?.keyFile),
      username: user?.username,
      password: user?.password,
      namespace: context?.namespace,
      source: path,
    };
  } catch (err) {
    throw new BerthError('BadRequest', `error loading config file "${path}": ${(err as Error).message}`);
  }
}

/** Finds the kubeconfig (see kubeconfigCandidates) and resolves its current context; FALLBACK_SERVER without one. */
export function loadKubeConfig(search: KubeConfigSearch = {}): ClusterConnection {
  const path = findKubeconfig(search);
  if (!path) return { server: FALLBACK_SERVER, insecureSkipTLSVerify: false };
  return connectionFromFile(path);
}

/**
 * A kubeconfig (YAML) holding one connection: the cluster (server, CA or insecure-skip-tls-verify), the
 * user's token or client certificate and key, embedded, and a context joining them. kubectl, client-node
 * and connectionFromFile read it. It holds a credential: write it with mode 0600.
 */
export function kubeconfigYaml(
  connection: Pick<ClusterConnection, 'server' | 'ca' | 'insecureSkipTLSVerify' | 'token' | 'clientCert' | 'clientKey'>,
  names: { cluster: string; user: string },
): string {
  const encode = (pem: string | undefined) => (pem === undefined ? undefined : Buffer.from(pem).toString('base64'));
  const cluster = {
    server: connection.server,
    ...(connection.ca !== undefined ? { 'certificate-authority-data': encode(connection.ca) } : {}),
    ...(connection.insecureSkipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
  };
  const user = {
    ...(connection.token !== undefined ? { token: connection.token } : {}),
    ...(connection.clientCert !== undefined ? { 'client-certificate-data': encode(connection.clientCert) } : {}),
    ...(connection.clientKey !== undefined ? { 'client-key-data': encode(connection.clientKey) } : {}),
  };
  // yaml loads when a kubeconfig is written, not with @berth/client (~50 ms at each `berth` call's start).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { stringify } = require('yaml') as typeof import('yaml');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: names.cluster, cluster }],
    users: [{ name: names.user, user }],
    contexts: [{ name: names.cluster, context: { cluster: names.cluster, user: names.user } }],
    'current-context': names.cluster,
    preferences: {},
  });
}
