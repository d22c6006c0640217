import type { Secret } from '@berth/api';
import { errors } from '@berth/errors';
import { parseReference } from '@berth/image';
import type { RegistryAuth } from '@berth/runtime-client';

/** One credential of a pull secret, under the registry key it was written for. */
export interface PullCredential {
  /** The key as normalised for matching: `host[:port][/path]` (kubelet's keyring key). */
  key: string;
  auth: RegistryAuth;
}

export const DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CFG = 'kubernetes.io/dockercfg';

/** The API bounds a Secret at 1 MiB; a docker config larger than that is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_ENTRIES = 1000;
const MAX_KEY_LENGTH = 1024;

/** Docker Hub's names for itself; credentials under any of them serve images of any other (and short names). */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
const DOCKER_HUB = 'docker.io';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const stringField = (entry: Record<string, unknown>, name: string): string | undefined => {
  const value = Object.hasOwn(entry, name) ? entry[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/**
 * The credentials of an image pull Secret, in the order they appear: `kubernetes.io/dockerconfigjson`
 * (`.dockerconfigjson`, `{"auths": {KEY: ENTRY}}`) or the legacy `kubernetes.io/dockercfg` (`.dockercfg`,
 * `{KEY: ENTRY}`). An entry's `auth` (base64 `user:password`) wins over `username`/`password`, as in docker;
 * `identitytoken` is kept. A Secret of another type, or one that does not parse, is BadRequest naming it:
 * kubelet skips such a secret with a warning, and so does the caller.
 */
export function pullSecretCredentials(secret: Secret): PullCredential[] {
  const name = `${secret.metadata.namespace ?? ''}/${secret.metadata.name ?? ''}`;
  const bad = (why: string) => errors.badRequest(`image pull secret ${name}: ${why}`);
  const field = secret.type === DOCKER_CONFIG_JSON ? '.dockerconfigjson' : secret.type === DOCKER_CFG ? '.dockercfg' : undefined;
  if (!field) throw bad(`type "${secret.type ?? ''}" is neither ${DOCKER_CONFIG_JSON} nor ${DOCKER_CFG}`);
  const encoded = secret.data && Object.hasOwn(secret.data, field) ? secret.data[field] : undefined;
  if (typeof encoded !== 'string') throw bad(`has no ${field}`);
  if (encoded.length > (MAX_CONFIG_BYTES * 4) / 3 + 4) throw bad(`${field} is larger than 1 MiB`);
  let config: unknown;
  try {
    config = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch (err) {
    throw bad(`${field} is not JSON (${(err as Error).message})`);
  }
  if (!isRecord(config)) throw bad(`${field} is not a JSON object`);
  const auths = field === '.dockerconfigjson' ? (Object.hasOwn(config, 'auths') ? config.auths : undefined) : config;
  if (!isRecord(auths)) throw bad(field === '.dockerconfigjson' ? `${field} has no "auths" object` : `${field} is not an object of registries`);
  const entries = Object.entries(auths);
  if (entries.length > MAX_ENTRIES) throw bad(`${field} names more than ${MAX_ENTRIES} registries`);
  const credentials: PullCredential[] = [];
  for (const [registry, entry] of entries) {
    if (!isRecord(entry) || registry.length > MAX_KEY_LENGTH) continue;
    const key = credentialKey(registry);
    if (key === undefined) continue;
    const auth = entryAuth(entry);
    if (auth) credentials.push({ key, auth });
  }
  return credentials;
}

function entryAuth(entry: Record<string, unknown>): RegistryAuth | undefined {
  const encoded = stringField(entry, 'auth');
  let username = stringField(entry, 'username');
  let password = stringField(entry, 'password');
  if (encoded) {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  const identityToken = stringField(entry, 'identitytoken');
  if (!username && !password && !identityToken) return undefined;
  return { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(identityToken ? { identityToken } : {}) };
}

/**
 * kubelet's keyring key for a docker config key: the scheme dropped, a `/v1/` or `/v2/` API prefix dropped
 * from the path, then `host[:port]` plus what path is left. Docker Hub's aliases all become `docker.io`.
 * undefined for a key that is no URL.
 */
export function credentialKey(registry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(registry) ? registry : `https://${registry}`);
  } catch {
    return undefined;
  }
  if (!url.host) return undefined;
  let path = decodeURIComponentSafe(url.pathname);
  if (path.startsWith('/v1/') || path.startsWith('/v2/')) path = path.slice(3);
  const host = DOCKER_HUB_ALIASES.has(url.hostname) && !url.port ? DOCKER_HUB : url.host;
  return path === '' || path === '/' ? host : `${host}${path}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface HostPattern {
  labels: string[];
  port: string;
  path: string;
}

function splitKey(key: string): HostPattern {
  const slash = key.indexOf('/');
  const hostPort = slash < 0 ? key : key.slice(0, slash);
  const path = slash < 0 ? '' : key.slice(slash);
  // host[:port]; an IPv6 literal keeps its brackets.
  const colon = hostPort.lastIndexOf(':');
  const hasPort = colon > hostPort.lastIndexOf(']');
  return { labels: (hasPort ? hostPort.slice(0, colon) : hostPort).toLowerCase().split('.'), port: hasPort ? hostPort.slice(colon + 1) : '', path };
}

/** One domain label against a glob label: `*` matches any run of characters within the label (filepath.Match's). */
function labelMatches(glob: string, label: string): boolean {
  if (!glob.includes('*')) return glob === label;
  const pattern = new RegExp(`^${glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*')}$`);
  return pattern.test(label);
}

/**
 * kubelet's URLsMatch: the same number of domain labels, each matching (globs as `*.example.com` or
 * `registry.*`, one label each), the same port (none matches none only), and the key's path a prefix
 * of the image's.
 */
export function keyMatches(key: string, image: string): boolean {
  const glob = splitKey(key);
  const target = splitKey(image);
  if (glob.labels.length !== target.labels.length || glob.port !== target.port) return false;
  if (!glob.labels.every((label, i) => labelMatches(label, target.labels[i]!))) return false;
  return target.path.startsWith(glob.path);
}

/**
 * The credentials to try for `image`, best first, as kubelet's keyring orders them: every key that matches
 * the image's `registry/repository`, keys in reverse lexical order (longer and non-wildcard keys before
 * the shorter and wildcard ones they prefix); within a key, the secrets' order. The image is normalised
 * as docker does first (`busybox` is `docker.io/library/busybox`), so Docker Hub credentials serve short names.
 */
export function credentialsFor(image: string, credentials: readonly PullCredential[]): RegistryAuth[] {
  let repository: string;
  try {
    repository = parseReference(image).repository;
  } catch {
    return [];
  }
  const keys = [...new Set(credentials.map((c) => c.key))].filter((key) => keyMatches(key, repository)).sort().reverse();
  const seen = new Set<string>();
  const result: RegistryAuth[] = [];
  for (const key of keys) {
    for (const credential of credentials) {
      if (credential.key !== key) continue;
      const id = JSON.stringify([credential.auth.username, credential.auth.password, credential.auth.identityToken]);
      if (seen.has(id)) continue;
      seen.add(id);
      result.push(credential.auth);
    }
  }
  return result;
}
