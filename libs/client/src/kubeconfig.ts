import { decodeYaml, ownMember } from '@berth/api';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { BerthError } from '@berth/errors';

/** Where `berth server` writes the admin kubeconfig by default. */
export const DEFAULT_BERTH_KUBECONFIG = '/var/lib/berth/kubeconfig.yaml';
/** Where a client goes when no kubeconfig exists at all, so the failure names a real address. */
export const FALLBACK_SERVER = 'https://127.0.0.1:6443';

/** Everything needed to reach and authenticate to one API server: the current context, resolved. */
export interface ClusterConnection {
  server: string;
  /**
   * Every API server of the cluster (same CA, same credentials), `server` among them: a client that
   * cannot reach the one it uses moves to the next (see Transport). Absent: `server` alone.
   */
  servers?: string[];
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
  /** `--context`: this context instead of the file's current-context; it must exist. */
  context?: string;
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

/** A kubeconfig larger than this is refused: one with many contexts and embedded certificates is ~100 KiB. */
const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;

type Entry = Record<string, unknown>;

function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string member of a kubeconfig entry, if present; anything else there is the file's error. */
function text(entry: Entry | undefined, key: string, where: string): string | undefined {
  const value = ownMember(entry, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Error(`${where}.${key} must be a string`);
  return value;
}

/**
 * One named entry of a kubeconfig list (`clusters`, `users`, `contexts`): the body under `key` of the
 * first entry with that name. Every entry must have a name, as client-node and kubectl require.
 */
function namedEntry(config: Entry, list: 'clusters' | 'users' | 'contexts', key: string, name: string | undefined): Entry | undefined {
  const entries = ownMember(config, list);
  if (entries === undefined || entries === null) return undefined;
  if (!Array.isArray(entries)) throw new Error(`${list} must be a list`);
  let found: Entry | undefined;
  entries.forEach((entry: unknown, i) => {
    if (!isEntry(entry)) throw new Error(`${list}[${i}] must be an object`);
    const entryName = text(entry, 'name', `${list}[${i}]`);
    if (!entryName) throw new Error(`${list}[${i}].name is missing`);
    const body = ownMember(entry, key);
    if (body !== undefined && body !== null && !isEntry(body)) throw new Error(`${list}[${i}].${key} must be an object`);
    if (entryName === name && !found) found = body ?? {};
  });
  return found;
}

function readOptional(path: string | undefined, base: string): string | undefined {
  return path ? readFileSync(isAbsolute(path) ? path : join(base, path), 'utf8') : undefined;
}

function decodeBase64(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

/** A kubeconfig file's document (bounded in size; not checked beyond being YAML), `{}` when it is empty. */
export function readKubeconfigFile(path: string): Record<string, unknown> {
  try {
    if (statSync(path).size > MAX_KUBECONFIG_BYTES) throw new Error(`larger than ${MAX_KUBECONFIG_BYTES} bytes`);
    const decoded = decodeYaml(readFileSync(path, 'utf8'), 'the kubeconfig');
    return isEntry(decoded) ? decoded : {};
  } catch (err) {
    throw new BerthError('BadRequest', `error loading config file "${path}": ${(err as Error).message.split('\n')[0]!}`);
  }
}

/**
 * Reads one kubeconfig file (clientcmd's v1 Config) and resolves its current context: the cluster's
 * server, CA (`certificate-authority-data`, else the `certificate-authority` file), TLS settings, and the
 * user's token (`token`, else `token-file`), client certificate and key, or basic credentials; file paths
 * relative to the kubeconfig's directory, as kubectl resolves them. Read here with @berth/api's bounded
 * YAML decoder rather than @kubernetes/client-node, whose import costs ~0.6 s at every `berth` call.
 */
export function connectionFromFile(path: string, contextOverride?: string): ClusterConnection {
  const fail = (why: string) => new BerthError('BadRequest', `error loading config file "${path}": ${why}`);
  const config = readKubeconfigFile(path);
  const base = dirname(path);
  try {
    const contextName = contextOverride || text(config, 'current-context', 'the kubeconfig');
    const context = namedEntry(config, 'contexts', 'context', contextName);
    if (contextOverride && !context) throw new BerthError('BadRequest', `context was not found for specified context: ${contextOverride}`);
    const clusterName = text(context, 'cluster', `contexts[${contextName}].context`);
    if (context && !clusterName) throw new Error(`contexts[${contextName}].context.cluster is missing`);
    const cluster = namedEntry(config, 'clusters', 'cluster', clusterName);
    const userName = text(context, 'user', `contexts[${contextName}].context`);
    const user = namedEntry(config, 'users', 'user', userName);
    // Every entry is checked above; the current context's cluster is found only when it exists.
    if (!context || !cluster) throw new BerthError('BadRequest', `invalid configuration: no cluster for the current context in "${path}"`);
    const where = `clusters[${clusterName}].cluster`;
    const server = text(cluster, 'server', where);
    if (!server) throw new Error(`${where}.server is missing`);
    const userWhere = `users[${userName}].user`;
    const tokenFile = text(user, 'token-file', userWhere);
    const servers = extraServers(cluster, where);
    return {
      server: server.replace(/\/$/, ''),
      ...(servers.length ? { servers: [server.replace(/\/$/, ''), ...servers] } : {}),
      ca: decodeBase64(text(cluster, 'certificate-authority-data', where)) ?? readOptional(text(cluster, 'certificate-authority', where), base),
      insecureSkipTLSVerify: ownMember(cluster, 'insecure-skip-tls-verify') === true,
      tlsServerName: text(cluster, 'tls-server-name', where),
      token: text(user, 'token', userWhere) || readOptional(tokenFile, base)?.trim(),
      clientCert: decodeBase64(text(user, 'client-certificate-data', userWhere)) ?? readOptional(text(user, 'client-certificate', userWhere), base),
      clientKey: decodeBase64(text(user, 'client-key-data', userWhere)) ?? readOptional(text(user, 'client-key', userWhere), base),
      username: text(user, 'username', userWhere),
      password: text(user, 'password', userWhere),
      namespace: text(context, 'namespace', `contexts[${contextName}].context`) || undefined,
      source: path,
    };
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw fail((err as Error).message);
  }
}

/**
 * The kubeconfig extension (a cluster's `extensions` entry, which kubectl keeps and ignores) that lists the
 * cluster's other API servers for berth's clients: `{name: berth.dev/servers, extension: {servers: [URL...]}}`.
 */
export const SERVERS_EXTENSION = 'berth.dev/servers';
/** The most servers the extension may list. */
const MAX_EXTRA_SERVERS = 16;

function extraServers(cluster: Entry, where: string): string[] {
  const extensions = ownMember(cluster, 'extensions');
  if (extensions === undefined || extensions === null) return [];
  if (!Array.isArray(extensions)) throw new Error(`${where}.extensions must be a list`);
  const entry = extensions.find((e: unknown) => isEntry(e) && ownMember(e, 'name') === SERVERS_EXTENSION) as Entry | undefined;
  const extension = entry ? ownMember(entry, 'extension') : undefined;
  if (extension === undefined || extension === null) return [];
  const servers = isEntry(extension) ? ownMember(extension, 'servers') : undefined;
  const bad = () => new Error(`${where}.extensions[${SERVERS_EXTENSION}].extension.servers must be a list of at most ${MAX_EXTRA_SERVERS} http(s) URLs`);
  if (!Array.isArray(servers) || servers.length > MAX_EXTRA_SERVERS) throw bad();
  for (const server of servers) {
    if (typeof server !== 'string' || !/^https?:\/\/[^\s]+$/.test(server)) throw bad();
  }
  return (servers as string[]).map((s) => s.replace(/\/$/, ''));
}

/** Finds the kubeconfig (see kubeconfigCandidates) and resolves its current context; FALLBACK_SERVER without one. */
export function loadKubeConfig(search: KubeConfigSearch = {}): ClusterConnection {
  const path = findKubeconfig(search);
  if (!path) {
    if (search.context) throw new BerthError('BadRequest', `context was not found for specified context: ${search.context}`);
    return { server: FALLBACK_SERVER, insecureSkipTLSVerify: false };
  }
  return connectionFromFile(path, search.context);
}

/**
 * A kubeconfig (YAML) holding one connection: the cluster (server, CA or insecure-skip-tls-verify), the
 * user's token or client certificate and key, embedded, and a context joining them. kubectl, client-node
 * and connectionFromFile read it. It holds a credential: write it with mode 0600.
 */
export function kubeconfigYaml(
  connection: Pick<ClusterConnection, 'server' | 'servers' | 'ca' | 'insecureSkipTLSVerify' | 'token' | 'clientCert' | 'clientKey'>,
  names: { cluster: string; user: string },
): string {
  const encode = (pem: string | undefined) => (pem === undefined ? undefined : Buffer.from(pem).toString('base64'));
  const others = (connection.servers ?? []).filter((s) => s !== connection.server);
  const cluster = {
    server: connection.server,
    ...(connection.ca !== undefined ? { 'certificate-authority-data': encode(connection.ca) } : {}),
    ...(connection.insecureSkipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
    ...(others.length ? { extensions: [{ name: SERVERS_EXTENSION, extension: { servers: others } }] } : {}),
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
