import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { errors } from '@berth/errors';

/**
 * Where and how a node reaches registries: the k3s `registries.yaml` (mirrors with endpoints and rewrites,
 * per-host auth and TLS) plus the hosts runtimed was told about (the cluster registry and its CA).
 */

/** A credential for one registry (docker's AuthConfig). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token from a token-flow login. */
  identityToken?: string;
}

/** What runtimed's ConfigureRegistries call says about one registry. */
export interface ConfiguredRegistryHost {
  /** host[:port] as in image names. */
  host: string;
  /** PEM CA bundle its certificate is checked against, beside the system's. */
  caPem?: string;
  /** https://ADDR:PORT when it is reached elsewhere than at `host`. */
  endpoint?: string;
  /** Registries it stands in for (the cluster registry for docker.io): looked for there first, same path. */
  mirrorOf?: string[];
  /** The TLS client certificate (PEM) presented to it (a node's, where anonymous pulls are off); with clientKeyPem. */
  clientCertPem?: string;
  /** The key of clientCertPem (PEM): a secret, never logged nor put in an error. */
  clientKeyPem?: string;
}

/** TLS towards one host: the files of registries.yaml already read, so a bad path fails at load. */
export interface HostTls {
  ca?: string[];
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

interface HostConfig {
  auth?: RegistryCredentials;
  tls?: HostTls;
}

interface MirrorConfig {
  endpoints: URL[];
  rewrites: { pattern: RegExp; replacement: string }[];
}

/** One place to try for a repository: the API base (`…/v2/`), and the repository path there. */
export interface RegistryEndpoint {
  /** `https://mirror:5000/v2/`: requests go to `<base><path>/manifests/…`. */
  base: URL;
  /** host[:port] of the endpoint: the key of its auth and TLS settings. */
  host: string;
  /** The registry the image name says (`docker.io`): credentials for it apply to its own endpoint. */
  registry: string;
  /** The repository path on this endpoint (rewrites applied): `library/busybox`. */
  path: string;
  mirror: boolean;
}

/** The parsed registries.yaml; `RegistriesConfig.empty` when there is none. */
export class RegistriesConfig {
  static readonly empty = new RegistriesConfig(new Map(), new Map());

  private constructor(
    private readonly mirrors: ReadonlyMap<string, MirrorConfig>,
    private readonly hosts: ReadonlyMap<string, HostConfig>,
  ) {}

  /** Parses the YAML text of a registries.yaml; `source` names it in errors. */
  static async parse(text: string, source: string): Promise<RegistriesConfig> {
    const fail = (why: string) => errors.badRequest(`${source}: ${why}`);
    if (text.length > MAX_CONFIG_BYTES) throw fail(`larger than ${MAX_CONFIG_BYTES} bytes`);
    let doc: unknown;
    try {
      // yaml loads with the first registries.yaml, not with @berth/image (~50 ms at a `berth` call's start).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      doc = (require('yaml') as typeof import('yaml')).parse(text, { maxAliasCount: 100, uniqueKeys: true });
    } catch (err) {
      throw fail(`not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (doc === null || doc === undefined) return RegistriesConfig.empty;
    const top = record(doc, 'the document', fail);
    for (const key of Object.keys(top)) if (key !== 'mirrors' && key !== 'configs') throw fail(`unknown key "${key}" (expected mirrors, configs)`);
    const mirrors = new Map<string, MirrorConfig>();
    for (const [registry, value] of Object.entries(record(top.mirrors ?? {}, 'mirrors', fail))) {
      const at = `mirrors["${registry}"]`;
      if (registry !== '*') registryHost(registry, at, fail);
      const m = record(value ?? {}, at, fail);
      for (const key of Object.keys(m)) if (key !== 'endpoint' && key !== 'rewrite') throw fail(`${at}: unknown key "${key}" (expected endpoint, rewrite)`);
      const endpoints = list(m.endpoint ?? [], `${at}.endpoint`, fail).map((e, i) => endpointUrl(e, `${at}.endpoint[${i}]`, fail));
      const rewrites = Object.entries(record(m.rewrite ?? {}, `${at}.rewrite`, fail)).map(([pattern, replacement]) => {
        if (typeof replacement !== 'string') throw fail(`${at}.rewrite["${pattern}"] must be a string`);
        try {
          return { pattern: new RegExp(pattern), replacement };
        } catch (err) {
          throw fail(`${at}.rewrite: "${pattern}" is not a regular expression: ${(err as Error).message}`);
        }
      });
      mirrors.set(registry, { endpoints, rewrites });
    }
    const hosts = new Map<string, HostConfig>();
    for (const [host, value] of Object.entries(record(top.configs ?? {}, 'configs', fail))) {
      const at = `configs["${host}"]`;
      if (host !== '*') registryHost(host.replace(/^https?:\/\//, ''), at, fail);
      const c = record(value ?? {}, at, fail);
      for (const key of Object.keys(c)) if (key !== 'auth' && key !== 'tls') throw fail(`${at}: unknown key "${key}" (expected auth, tls)`);
      hosts.set(host.replace(/^https?:\/\//, ''), { auth: c.auth === undefined ? undefined : authConfig(c.auth, `${at}.auth`, fail), tls: c.tls === undefined ? undefined : await tlsConfig(c.tls, `${at}.tls`, fail) });
    }
    return new RegistriesConfig(mirrors, hosts);
  }

  /** Reads `path`; a missing file is no configuration, anything wrong in it a BadRequest naming it. */
  static async load(path: string): Promise<RegistriesConfig> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return RegistriesConfig.empty;
      throw errors.badRequest(`${path}: ${(err as Error).message}`);
    }
    return RegistriesConfig.parse(text, path);
  }

  mirrorsOf(registry: string): MirrorConfig | undefined {
    return this.mirrors.get(registry) ?? this.mirrors.get('*');
  }

  hostConfig(host: string): HostConfig | undefined {
    return this.hosts.get(host) ?? this.hosts.get('*');
  }
}

const MAX_CONFIG_BYTES = 1024 * 1024;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:.]+\](?::[0-9]{1,5})?$/;
type Fail = (why: string) => Error;

function record(value: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${at} must be a mapping`);
  return value as Record<string, unknown>;
}

function list(value: unknown, at: string, fail: Fail): unknown[] {
  if (!Array.isArray(value)) throw fail(`${at} must be a list`);
  return value;
}

function registryHost(value: string, at: string, fail: Fail): string {
  if (!HOST.test(value)) throw fail(`${at}: "${value}" is not a registry host[:port]`);
  return value;
}

function endpointUrl(value: unknown, at: string, fail: Fail): URL {
  if (typeof value !== 'string' || !value) throw fail(`${at} must be a URL`);
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(value) ? value : `https://${value}`);
  } catch {
    throw fail(`${at}: "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw fail(`${at}: "${value}" must be http:// or https://`);
  if (url.username || url.password || url.search || url.hash) throw fail(`${at}: "${value}" may not carry credentials, a query or a fragment`);
  return url;
}

function optionalString(value: unknown, at: string, fail: Fail): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw fail(`${at} must be a string`);
  return value;
}

function authConfig(value: unknown, at: string, fail: Fail): RegistryCredentials {
  const a = record(value, at, fail);
  for (const key of Object.keys(a)) if (!['username', 'password', 'auth', 'identity_token', 'identitytoken'].includes(key)) throw fail(`${at}: unknown key "${key}"`);
  let username = optionalString(a.username, `${at}.username`, fail);
  let password = optionalString(a.password, `${at}.password`, fail);
  const encoded = optionalString(a.auth, `${at}.auth`, fail);
  if (encoded) {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw fail(`${at}.auth must be base64 of "user:password"`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const identityToken = optionalString(a.identity_token ?? a.identitytoken, `${at}.identity_token`, fail);
  return { username, password, identityToken };
}

async function readPem(path: unknown, at: string, fail: Fail): Promise<string | undefined> {
  const file = optionalString(path, at, fail);
  if (!file) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw fail(`${at}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function tlsConfig(value: unknown, at: string, fail: Fail): Promise<HostTls> {
  const t = record(value, at, fail);
  for (const key of Object.keys(t)) if (!['ca_file', 'cert_file', 'key_file', 'insecure_skip_verify'].includes(key)) throw fail(`${at}: unknown key "${key}"`);
  const ca = await readPem(t.ca_file, `${at}.ca_file`, fail);
  const cert = await readPem(t.cert_file, `${at}.cert_file`, fail);
  const key = await readPem(t.key_file, `${at}.key_file`, fail);
  if (!!cert !== !!key) throw fail(`${at}: cert_file and key_file go together`);
  if (t.insecure_skip_verify !== undefined && typeof t.insecure_skip_verify !== 'boolean') throw fail(`${at}.insecure_skip_verify must be true or false`);
  const tls: HostTls = { ca: ca ? [ca] : undefined, cert, key, insecureSkipVerify: t.insecure_skip_verify === true };
  checkTls(tls, at, fail);
  return tls;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function checkTls(tls: HostTls, at: string, fail: Fail): void {
  try {
    for (const bundle of tls.ca ?? []) {
      const certs = bundle.match(PEM_CERTIFICATE) ?? [];
      if (!certs.length) throw new Error('the CA bundle holds no PEM certificate');
      for (const cert of certs) new X509Certificate(cert);
    }
    createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
  } catch (err) {
    throw fail(`${at}: ${(err as Error).message}`);
  }
}

/**
 * A client certificate and its key: parseable and matching. The error says what is wrong with them, never
 * what the key holds (OpenSSL's messages name no key material).
 */
function checkClientCertificate(cert: string, key: string, at: string, fail: Fail): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw fail(`${at}: not a PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw fail(`${at}: clientKeyPem is not a PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw fail(`${at}: clientKeyPem is not the key of the certificate`);
}

/** Checks ConfigureRegistries' hosts: a bad one is a BadRequest naming it. */
export function checkRegistryHosts(hosts: ConfiguredRegistryHost[]): ConfiguredRegistryHost[] {
  if (hosts.length > 64) throw errors.badRequest('at most 64 registry hosts');
  const seen = new Set<string>();
  return hosts.map((h, i) => {
    const at = `hosts[${i}]`;
    const fail = (why: string) => errors.badRequest(`${at}: ${why}`);
    registryHost(h.host, `${at}.host`, fail);
    if (seen.has(h.host)) throw fail(`"${h.host}" is listed twice`);
    seen.add(h.host);
    if ((h.caPem?.length ?? 0) > 256 * 1024) throw fail('caPem is larger than 256 KiB');
    if (h.caPem) checkTls({ ca: [h.caPem] }, `${at}.caPem`, fail);
    const cert = h.clientCertPem || undefined;
    const key = h.clientKeyPem || undefined;
    if (!!cert !== !!key) throw fail('clientCertPem and clientKeyPem go together');
    if ((cert?.length ?? 0) > 64 * 1024 || (key?.length ?? 0) > 64 * 1024) throw fail('clientCertPem and clientKeyPem are at most 64 KiB each');
    if (cert) checkClientCertificate(cert, key!, `${at}.clientCertPem`, fail);
    if (h.endpoint) endpointUrl(h.endpoint, `${at}.endpoint`, fail);
    const mirrorOf = h.mirrorOf ?? [];
    if (mirrorOf.length > 16) throw fail('mirrorOf names at most 16 registries');
    mirrorOf.forEach((registry, j) => registryHost(registry, `${at}.mirrorOf[${j}]`, fail));
    return { host: h.host, caPem: h.caPem || undefined, endpoint: h.endpoint || undefined, mirrorOf: mirrorOf.length ? [...mirrorOf] : undefined, clientCertPem: cert, clientKeyPem: key };
  });
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ENDPOINT = 'https://registry-1.docker.io';

/** The API base of an endpoint URL: its path (default none) followed by /v2/. */
function apiBase(url: URL): URL {
  const base = new URL(url.href);
  let path = base.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/v2')) path += '/v2';
  base.pathname = `${path}/`;
  return base;
}

/**
 * registries.yaml and the configured hosts together: where a repository is tried (mirrors in order, then
 * the registry itself), and which TLS settings and credentials each endpoint host gets.
 */
export class RegistryResolver {
  private readonly hosts: ReadonlyMap<string, ConfiguredRegistryHost>;

  constructor(
    readonly config: RegistriesConfig = RegistriesConfig.empty,
    hosts: ConfiguredRegistryHost[] = [],
  ) {
    this.hosts = new Map(hosts.map((h) => [h.host, h]));
  }

  /**
   * The registry's own endpoint (where pushes go): a configured host's endpoint; else the endpoint of its
   * registries.yaml mirror list at the registry's own host (`http://REGISTRY` makes a plain-HTTP registry,
   * as k3s and containerd take it for pushes too); registry-1.docker.io for docker.io; else https://REGISTRY.
   */
  defaultEndpoint(registry: string, path: string): RegistryEndpoint {
    const configured = this.hosts.get(registry)?.endpoint;
    const listed = this.config.mirrorsOf(registry)?.endpoints.find((url) => url.host === registry && (url.pathname === '/' || url.pathname === ''));
    const url = new URL(configured ?? listed?.href ?? (registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : `https://${registry}`));
    return { base: apiBase(url), host: url.host, registry, path, mirror: false };
  }

  /**
   * Where to pull `registry/path` from, in order: registries.yaml's mirrors (rewrites applied), the configured
   * hosts that stand in for the registry (the cluster registry), then the registry itself.
   */
  pullEndpoints(registry: string, path: string): RegistryEndpoint[] {
    const mirror = this.config.mirrorsOf(registry);
    const endpoints: RegistryEndpoint[] = [];
    for (const url of mirror?.endpoints ?? []) {
      let rewritten = path;
      for (const rule of mirror!.rewrites) {
        if (rule.pattern.test(path)) {
          rewritten = path.replace(rule.pattern, rule.replacement);
          break;
        }
      }
      endpoints.push({ base: apiBase(url), host: url.host, registry, path: rewritten, mirror: true });
    }
    for (const standIn of this.hosts.values()) {
      if (!standIn.mirrorOf?.includes(registry) || standIn.host === registry) continue;
      const url = new URL(standIn.endpoint ?? `https://${standIn.host}`);
      if (!endpoints.some((e) => e.base.href === apiBase(url).href)) endpoints.push({ base: apiBase(url), host: url.host, registry, path, mirror: true });
    }
    const own = this.defaultEndpoint(registry, path);
    if (!endpoints.some((e) => e.base.href === own.base.href && e.path === path)) endpoints.push(own);
    return endpoints;
  }

  /** TLS settings for connections to `host` (an endpoint's host[:port]). */
  tls(host: string): HostTls {
    const configured = this.config.hostConfig(host)?.tls ?? {};
    const matching = [...this.hosts.values()].filter((h) => h.host === host || (h.endpoint && new URL(h.endpoint).host === host));
    const extra = matching.filter((h) => h.caPem).map((h) => h.caPem!);
    let tls = extra.length ? { ...configured, ca: [...(configured.ca ?? []), ...extra] } : configured;
    // registries.yaml's cert_file/key_file win: the file is the administrator's word for that host.
    const client = matching.find((h) => h.clientCertPem && h.clientKeyPem);
    if (client && !configured.cert) tls = { ...tls, cert: client.clientCertPem, key: client.clientKeyPem };
    return tls;
  }

  /** registries.yaml's credential for an endpoint: by its host, or for the registry's own endpoint by the registry's name. */
  credentials(endpoint: Pick<RegistryEndpoint, 'host' | 'registry' | 'mirror'>): RegistryCredentials | undefined {
    return this.config.hostConfig(endpoint.host)?.auth ?? (endpoint.mirror ? undefined : this.config.hostConfig(endpoint.registry)?.auth);
  }
}
