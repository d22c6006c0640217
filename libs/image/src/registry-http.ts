import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { BerthError, errors } from '@berth/errors';
import type { RegistryCredentials, RegistryEndpoint, RegistryResolver } from './registry-config';

/**
 * HTTP to registries: one keep-alive agent per host with that host's TLS settings, redirects followed for
 * reads (blob stores hand out signed URLs), and the distribution auth dance: a request answered 401 with a
 * `WWW-Authenticate` challenge is sent again with Basic credentials or a bearer token from the challenge's
 * realm (anonymous when there are no credentials). Tokens are cached per realm, service, scopes and user
 * until they expire; what a host asked for is remembered, so later requests carry their token at once.
 */

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: OutgoingHttpHeaders;
  /** A buffer, or a factory giving the same bytes again when the request must be repeated after a challenge. */
  body?: Buffer | (() => Readable);
  /** Token-flow scopes the request needs: `repository:NAME:pull`, `repository:NAME:pull,push`. */
  scopes: string[];
}

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

interface CachedToken {
  token: string;
  expires: number;
}

const REQUEST_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;
const MAX_TOKEN_BODY = 1024 * 1024;
const DEFAULT_TOKEN_SECONDS = 60;

/** Tokens and challenges, kept across pulls and configuration reloads. */
export class RegistryAuthCache {
  readonly tokens = new Map<string, CachedToken>();
  readonly challenges = new Map<string, Challenge>();
  /** Hosts (and users) whose /v2/ was asked how to authenticate. */
  readonly pinged = new Set<string>();
}

/** Parses `Bearer realm="…",service="…",scope="…"` (the form distribution and docker hub send). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = Object.create(null);
  const re = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(match[2]!); m; m = re.exec(match[2]!)) params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: match[1]!.toLowerCase() as Challenge['scheme'], params };
}

/** Reads at most `limit` bytes of a response; more is an error naming `what`. */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.destroy();
    throw errors.badRequest(`${what} is ${declared} bytes, more than the ${limit} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw errors.badRequest(`${what} is more than the ${limit} bytes allowed`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The registry's error JSON (`{"errors":[{"code","message"}]}`) as one line, or the HTTP status. */
async function describeFailure(res: IncomingMessage): Promise<string> {
  let text = '';
  try {
    const body = await readBody(res, MAX_ERROR_BODY, 'error body');
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = Array.isArray(parsed?.errors) ? parsed.errors[0] : undefined;
    if (first) text = [first.code, first.message].filter((x) => typeof x === 'string' && x).join(': ');
  } catch {
    // not JSON: the status says it
  }
  const line = text || `HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  return line.replace(/[\r\n]+/g, ' ').slice(0, 300);
}

/** A response that is not what the caller wanted, as a BerthError of the matching reason. */
export async function responseError(res: IncomingMessage, what: string): Promise<BerthError> {
  const why = await describeFailure(res);
  const message = `${what}: ${why}`;
  switch (res.statusCode) {
    case 400:
      return errors.badRequest(message);
    case 401:
      return errors.unauthorized(message);
    case 403:
      return errors.forbidden(message);
    case 404:
      return new BerthError('NotFound', message);
    case 429:
      return errors.tooManyRequests(message);
    default:
      return (res.statusCode ?? 500) >= 500 ? errors.unavailable(message) : errors.badRequest(message);
  }
}

/** Network failures and the registry's own trouble (5xx, 429) are worth another try; anything else is an answer. */
export function isTransient(err: unknown): boolean {
  if (err instanceof BerthError) return err.reason === 'ServiceUnavailable' || err.reason === 'TooManyRequests' || err.reason === 'Timeout';
  return true;
}

function basic(creds: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
}

function hasPassword(creds: RegistryCredentials | undefined): boolean {
  return !!creds && !!(creds.username || creds.password);
}

export class RegistryTransport {
  private readonly agents = new Map<string, HttpAgent | HttpsAgent>();

  constructor(
    readonly resolver: RegistryResolver,
    private readonly cache: RegistryAuthCache = new RegistryAuthCache(),
  ) {}

  /** Closes idle connections. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agent(url: URL): HttpAgent | HttpsAgent {
    const key = `${url.protocol}//${url.host}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (url.protocol === 'http:') agent = new HttpAgent({ keepAlive: true });
      else {
        const tls = this.resolver.tls(url.host);
        // Extra CAs are trusted beside the system's, as containerd's ca_file does.
        const ca = tls.ca?.length ? [...rootCertificates, ...tls.ca] : undefined;
        agent = new HttpsAgent({ keepAlive: true, ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecureSkipVerify });
      }
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** One HTTP exchange; redirects of GET and HEAD followed (the Authorization header only to the same host). */
  async send(method: string, url: URL, headers: OutgoingHttpHeaders, body?: Buffer | (() => Readable), hops = 0): Promise<IncomingMessage> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
      const req = request(url, { method, headers, agent: this.agent(url) }, resolve);
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(errors.timeout(`${method} ${url.origin}${url.pathname}: no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', (err) => reject(err instanceof BerthError ? err : errors.unavailable(`${method} ${url.origin}${url.pathname}: ${(err as Error).message}`)));
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const stream = body();
        stream.on('error', (err) => req.destroy(err));
        stream.pipe(req);
      }
    });
    const status = res.statusCode ?? 0;
    if ((method === 'GET' || method === 'HEAD') && [301, 302, 303, 307, 308].includes(status) && res.headers.location) {
      res.resume();
      if (hops >= MAX_REDIRECTS) throw errors.badRequest(`${url.origin}${url.pathname}: more than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(res.headers.location, url);
      } catch {
        throw errors.badRequest(`${url.origin}${url.pathname}: a redirect to "${res.headers.location.slice(0, 200)}", which is not a URL`);
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw errors.badRequest(`${url.origin}: redirect to a ${next.protocol} URL`);
      const nextHeaders = { ...headers };
      if (next.host !== url.host) delete nextHeaders.authorization;
      return this.send(method, next, nextHeaders, body, hops + 1);
    }
    return res;
  }

  /**
   * A request to a registry endpoint with its authentication: 401 answers are met once with what their
   * challenge asks for; a second 401 is Unauthorized, saying whether credentials were given.
   */
  async request(endpoint: RegistryEndpoint, creds: RegistryCredentials | undefined, req: RegistryRequest): Promise<IncomingMessage> {
    const hostKey = `${endpoint.base.origin}|${creds?.username ?? ''}`;
    // With a credential, learn first how the registry wants it (docker's ping of /v2/): a registry that
    // lets anonymous pulls through would otherwise never see it, and a wrong one would go unnoticed.
    if ((hasPassword(creds) || creds?.identityToken) && !this.cache.challenges.has(hostKey) && !this.cache.pinged.has(hostKey)) {
      this.cache.pinged.add(hostKey);
      const ping = await this.send('GET', endpoint.base, {});
      ping.resume();
      const challenge = ping.statusCode === 401 ? parseChallenge(ping.headers['www-authenticate'] as string | undefined) : undefined;
      if (challenge) this.cache.challenges.set(hostKey, challenge);
    }
    let authorization = await this.authorization(hostKey, creds, req.scopes, false);
    for (let attempt = 0; ; attempt++) {
      const headers: OutgoingHttpHeaders = { ...req.headers };
      // Credentials go to the endpoint only, never to another host an upload Location names.
      if (authorization && req.url.origin === endpoint.base.origin) headers.authorization = authorization;
      const res = await this.send(req.method, req.url, headers, req.body);
      if (res.statusCode !== 401) return res;
      const challenge = parseChallenge(res.headers['www-authenticate'] as string | undefined);
      if (attempt > 0 || !challenge) {
        const given = hasPassword(creds) || !!creds?.identityToken;
        const err = await responseError(res, `${endpoint.base.host}`);
        throw errors.unauthorized(given ? `${err.message} (authentication failed: incorrect username or password?)` : `${err.message} (authentication required: log in to ${endpoint.registry})`);
      }
      res.resume();
      this.cache.challenges.set(hostKey, challenge);
      authorization = await this.authorization(hostKey, creds, req.scopes, true, challenge.params.scope);
      if (!authorization) {
        throw errors.unauthorized(`${endpoint.base.host}: authentication required: log in to ${endpoint.registry}`);
      }
    }
  }

  private async authorization(hostKey: string, creds: RegistryCredentials | undefined, scopes: string[], fresh: boolean, challengeScope?: string): Promise<string | undefined> {
    const challenge = this.cache.challenges.get(hostKey);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') return hasPassword(creds) ? basic(creds!) : undefined;
    const realm = challenge.params.realm;
    if (!realm) throw errors.badRequest(`${hostKey.split('|')[0]}: a bearer challenge without a realm`);
    const allScopes = [...new Set([...scopes, ...(challengeScope ? challengeScope.split(' ') : [])])].sort();
    // Keyed by the whole credential (hashed): a token one password earned never serves a request with another.
    const who = creds ? createHash('sha256').update(JSON.stringify([creds.username ?? '', creds.password ?? '', creds.identityToken ?? ''])).digest('hex') : '';
    const key = [realm, challenge.params.service ?? '', allScopes.join(' '), who].join('|');
    const cached = this.cache.tokens.get(key);
    if (cached && !fresh && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.fetchToken(realm, challenge.params.service, allScopes, creds);
    this.cache.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  /** The distribution token flow: GET the realm with service and scopes (Basic credentials, or none), or an OAuth2 refresh-token POST. */
  private async fetchToken(realm: string, service: string | undefined, scopes: string[], creds: RegistryCredentials | undefined): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw errors.badRequest(`the registry's token realm "${realm.slice(0, 200)}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw errors.badRequest(`the registry's token realm ${url.origin} is not http(s)`);
    let res: IncomingMessage;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth', ...(service ? { service } : {}) });
      if (scopes.length) form.set('scope', scopes.join(' '));
      const body = Buffer.from(form.toString());
      res = await this.send('POST', url, { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length }, body);
    } else {
      if (service) url.searchParams.set('service', service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      if (hasPassword(creds)) url.searchParams.set('account', creds!.username ?? '');
      res = await this.send('GET', url, hasPassword(creds) ? { authorization: basic(creds!) } : {});
    }
    if (res.statusCode !== 200) {
      const err = await responseError(res, `token from ${url.origin}${url.pathname}`);
      if (res.statusCode === 401 || res.statusCode === 403) throw errors.unauthorized(`${err.message} (authentication failed: incorrect username or password?)`);
      throw err;
    }
    const body = await readBody(res, MAX_TOKEN_BODY, 'token response');
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw errors.badRequest(`the token response from ${url.origin} is not JSON`);
    }
    const token = typeof parsed?.token === 'string' && parsed.token ? parsed.token : typeof parsed?.access_token === 'string' ? parsed.access_token : '';
    if (!token) throw errors.badRequest(`the token response from ${url.origin} has no token`);
    const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_TOKEN_SECONDS;
    const issued = typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : NaN;
    const start = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
    // Renewed a little early, so a token does not run out between the cache and the registry.
    return { token, expires: start + Math.max(1, seconds - 5) * 1000 };
  }
}
