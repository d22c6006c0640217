import { errors } from '@berth/errors';
import type { RegistryAuth } from '@berth/runtime-client';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The key docker keeps Docker Hub's credential under (`docker login` with no server). */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** Host names that all mean Docker Hub in an image name or a login. */
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** A config.json larger than this is refused rather than read (docker's own are a few kB). */
export const MAX_DOCKER_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * A credential for one registry as docker keeps it: runtimed's RegistryAuth with the user and password
 * always there (empty when the entry has none), so it goes to pullImage/pushImage as it is.
 */
export type RegistryCredential = Required<Pick<RegistryAuth, 'username' | 'password'>> & Pick<RegistryAuth, 'identityToken'>;

/** Where docker's config.json lives: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json');
}

/**
 * docker's ConvertToHostname: a config key as written by old and new clients (`https://host/v1/`,
 * `http://host`, `host:5000`) reduced to the host[:port] it is for.
 */
export function keyHostname(key: string): string {
  const bare = key.replace(/^https?:\/\//i, '');
  return bare.split('/')[0]!;
}

/** The key `docker login SERVER` writes: Docker Hub's URL for Hub's names (and for none), else host[:port]. */
export function registryKey(server?: string): string {
  if (!server) return DOCKER_HUB_KEY;
  const host = keyHostname(server);
  return DOCKER_HUB_HOSTS.has(host.toLowerCase()) ? DOCKER_HUB_KEY : host;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(source: string, why: string) {
  return errors.badRequest(`${source}: ${why}`);
}

/** One `auths` entry, decoded: `auth` (base64 user:pass) wins over `username`/`password` as in docker. */
function decodeEntry(entry: unknown, where: string): RegistryCredential {
  if (!isObject(entry)) throw errors.badRequest(`${where} is not an object`);
  const text = (name: string): string => {
    const value = entry[name];
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw errors.badRequest(`${where}.${name} is not a string`);
    return value;
  };
  let username = text('username');
  let password = text('password');
  const auth = text('auth');
  if (auth) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw errors.badRequest(`${where}.auth is not base64 of user:password`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const identityToken = text('identitytoken');
  return { username, password, ...(identityToken ? { identityToken } : {}) };
}

function encodeEntry(credential: RegistryCredential): Record<string, string> {
  return {
    auth: Buffer.from(`${credential.username}:${credential.password}`).toString('base64'),
    ...(credential.identityToken ? { identitytoken: credential.identityToken } : {}),
  };
}

/** A docker config file's bytes, refused when it is not a regular file or too large; undefined when missing and `optional`. */
async function readBounded(path: string, optional: boolean): Promise<Buffer | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw invalid(path, 'not a regular file');
    if (info.size > MAX_DOCKER_CONFIG_BYTES) throw invalid(path, `larger than ${MAX_DOCKER_CONFIG_BYTES} bytes`);
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && optional) return undefined;
    if (code) throw errors.badRequest(`error reading ${path}: ${(err as Error).message}`);
    throw err;
  }
}

/** A docker config.json's text as given to `--from-file`: it must exist and parse as one. */
export async function readDockerConfigText(path: string): Promise<string> {
  const text = (await readBounded(path, false))!;
  DockerConfig.parse(text, path);
  return text.toString('utf8');
}

function parseJsonObject(text: string | Buffer, source: string): Record<string, unknown> {
  if (text.length > MAX_DOCKER_CONFIG_BYTES) throw invalid(source, `larger than ${MAX_DOCKER_CONFIG_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString());
  } catch (err) {
    throw invalid(source, `not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(parsed)) throw invalid(source, 'not a JSON object');
  return parsed;
}

/**
 * docker's config.json: the `auths` credentials decoded and checked on load, every other key kept as it
 * was so that a save writes back what docker (or anything else) put there. Keys of `auths` live in a Map,
 * so no name a file can hold (`__proto__`) reaches an object's prototype.
 */
export class DockerConfig {
  private constructor(
    private readonly others: Array<[string, unknown]>,
    private readonly auths: Map<string, RegistryCredential>,
    /** Entries as they were in the file, written back untouched unless set or removed. */
    private readonly rawAuths: Map<string, unknown>,
  ) {}

  static empty(): DockerConfig {
    return new DockerConfig([], new Map(), new Map());
  }

  /** A config.json (or a Secret's `.dockerconfigjson`); `source` names it in errors. */
  static parse(text: string | Buffer, source = 'config.json'): DockerConfig {
    const parsed = parseJsonObject(text, source);
    const auths = parsed.auths ?? {};
    if (!isObject(auths)) throw invalid(source, '"auths" is not an object');
    return DockerConfig.fromAuths(
      Object.entries(parsed).filter(([key]) => key !== 'auths'),
      auths,
      source,
    );
  }

  /** The legacy `.dockercfg` format (a Secret of type kubernetes.io/dockercfg): the auths map itself. */
  static parseDockercfg(text: string | Buffer, source = '.dockercfg'): DockerConfig {
    return DockerConfig.fromAuths([], parseJsonObject(text, source), source);
  }

  private static fromAuths(others: Array<[string, unknown]>, auths: Record<string, unknown>, source: string): DockerConfig {
    const decoded = new Map<string, RegistryCredential>();
    const raw = new Map<string, unknown>();
    for (const [key, entry] of Object.entries(auths)) {
      decoded.set(key, decodeEntry(entry, `${source}: auths[${JSON.stringify(key)}]`));
      raw.set(key, entry);
    }
    return new DockerConfig(others, decoded, raw);
  }

  /** Reads the file; a missing one is an empty config. */
  static async load(path: string): Promise<DockerConfig> {
    const text = await readBounded(path, true);
    return text === undefined ? DockerConfig.empty() : DockerConfig.parse(text, path);
  }

  /** The keys of `auths`, as written. */
  keys(): string[] {
    return [...this.auths.keys()];
  }

  /**
   * The credential docker's CLI would use for a registry (host[:port] as in an image name, `docker.io`
   * for Docker Hub): the entry under exactly that key, else the first whose key names the same host
   * (`https://host/v1/`, `http://host`).
   */
  credentialFor(registryHost: string): RegistryCredential | undefined {
    const key = registryKey(registryHost);
    const exact = this.auths.get(key);
    if (exact) return exact;
    const host = keyHostname(key);
    for (const [candidate, credential] of this.auths) if (keyHostname(candidate) === host) return credential;
    return undefined;
  }

  /**
   * The credentials the kubelet would try for an image (its keyring's rules): keys whose host matches
   * the repository's host part by part (`*.` wildcards allowed), with the same port, and whose path is a
   * prefix of the repository's path; the most specific key first. Docker Hub's keys match `docker.io/...`.
   */
  credentialsForImage(repository: string): RegistryCredential[] {
    const target = splitRegistryUrl(repository);
    if (!target) return [];
    const matches: Array<[string, RegistryCredential]> = [];
    for (const [key, credential] of this.auths) {
      const glob = splitRegistryUrl(keyringKey(key));
      if (glob && urlMatches(glob, target)) matches.push([keyringKey(key), credential]);
    }
    return matches.sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0)).map(([, credential]) => credential);
  }

  /** Stores a credential under `key` (see registryKey), replacing what was there. */
  set(key: string, credential: RegistryCredential): void {
    this.auths.set(key, credential);
    this.rawAuths.set(key, encodeEntry(credential));
  }

  /** Removes every key naming `key`'s host (docker logout removes `host`, `https://host`, `http://host`); returns them. */
  remove(key: string): string[] {
    const host = keyHostname(key);
    const removed = [...this.auths.keys()].filter((candidate) => candidate === key || keyHostname(candidate) === host);
    for (const candidate of removed) {
      this.auths.delete(candidate);
      this.rawAuths.delete(candidate);
    }
    return removed;
  }

  /** The file's content: every other key as it was, `auths` updated. */
  toJSON(): Record<string, unknown> {
    return Object.fromEntries([...this.others, ['auths', Object.fromEntries(this.rawAuths)]]);
  }

  /**
   * Writes the file as docker does: through a temporary file renamed over it (a crash leaves the old
   * file or the new one), mode 0600, in a directory made 0700 when missing; a symlinked config.json is
   * written where it points.
   */
  async save(path: string): Promise<void> {
    const target = await realpath(path).catch(() => path);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(this.toJSON(), null, '\t')}\n`);
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(temporary, { force: true });
      throw err;
    }
    await file.close();
    try {
      await chmod(temporary, 0o600);
      await rename(temporary, target);
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
  }
}

/**
 * The kubelet keyring's form of a config key: scheme, a trailing `/v1/` or `/v2/` and a trailing slash
 * dropped; Docker Hub's keys become `docker.io`.
 */
function keyringKey(key: string): string {
  let rest = key.replace(/^https?:\/\//i, '');
  rest = rest.replace(/\/v[12]\/?$/, '').replace(/\/$/, '');
  const slash = rest.indexOf('/');
  const host = slash < 0 ? rest : rest.slice(0, slash);
  return DOCKER_HUB_HOSTS.has(host.toLowerCase()) ? `docker.io${slash < 0 ? '' : rest.slice(slash)}` : rest;
}

interface RegistryUrl {
  hostParts: string[];
  port: string;
  path: string;
}

function splitRegistryUrl(text: string): RegistryUrl | undefined {
  const slash = text.indexOf('/');
  const hostPort = (slash < 0 ? text : text.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : text.slice(slash);
  const match = /^([^:]*)(?::(\d+))?$/.exec(hostPort);
  if (!match || !match[1]) return undefined;
  return { hostParts: match[1].split('.'), port: match[2] ?? '', path };
}

/** Go's filepath.Match for one host label, for the `*` and `?` a keyring key may hold. */
function labelMatches(glob: string, label: string): boolean {
  if (!glob.includes('*') && !glob.includes('?')) return glob === label;
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]*').replace(/\?/g, '[^.]');
  return new RegExp(`^${pattern}$`).test(label);
}

function urlMatches(glob: RegistryUrl, target: RegistryUrl): boolean {
  if (glob.port !== target.port || glob.hostParts.length !== target.hostParts.length) return false;
  if (!target.path.startsWith(glob.path)) return false;
  return glob.hostParts.every((part, i) => labelMatches(part, target.hostParts[i]!));
}

/**
 * The `.dockerconfigjson` of a Secret as `kubectl create secret docker-registry` makes it: one entry
 * under the server with username, password, email (when given) and auth.
 */
export function dockerConfigJson(server: string, credential: RegistryCredential & { email?: string }): string {
  const entry: Record<string, string> = { username: credential.username, password: credential.password };
  if (credential.email) entry.email = credential.email;
  entry.auth = Buffer.from(`${credential.username}:${credential.password}`).toString('base64');
  return JSON.stringify({ auths: Object.fromEntries([[server, entry]]) });
}
