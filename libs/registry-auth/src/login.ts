import { errors } from '@berth/errors';
import * as http from 'node:http';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { RegistryCredential } from './docker-config';

/** How to reach a registry: its base URL and what its TLS needs. */
export interface RegistryEndpoint {
  /** `https://host[:port]` (or `http://` for a plain-HTTP registry). */
  url: string;
  /** PEM CA certificates trusted beside the system's (the cluster CA for the cluster registry). */
  caPems?: string[];
  /** PEM client certificate and key (registries.yaml `cert_file`/`key_file`). */
  certPem?: string;
  keyPem?: string;
  insecureSkipVerify?: boolean;
}

export interface LoginOptions {
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

/** A token or error body larger than this is not read further. */
const MAX_BODY_BYTES = 1024 * 1024;

interface Reply {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** NODE_EXTRA_CA_CERTS, which Node trusts by default but leaves out of `rootCertificates`: kept when CAs are added. */
function extraCertificates(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    return [];
  }
}

function request(url: URL, endpoint: RegistryEndpoint, headers: Record<string, string>, timeoutMs: number): Promise<Reply> {
  const what = `Get "${url.href}"`;
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const tlsOptions: https.RequestOptions = secure
      ? {
          ...(endpoint.caPems?.length ? { ca: [...rootCertificates, ...extraCertificates(), ...endpoint.caPems] } : {}),
          ...(endpoint.certPem && endpoint.keyPem ? { cert: endpoint.certPem, key: endpoint.keyPem } : {}),
          rejectUnauthorized: !endpoint.insecureSkipVerify,
        }
      : {};
    const req = (secure ? https : http).request(url, { method: 'GET', headers: { 'User-Agent': 'berth', ...headers }, timeout: timeoutMs, ...tlsOptions }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.destroy();
          reject(errors.badRequest(`${what}: the response is larger than ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => reject(errors.unavailable(`${what}: ${err.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs / 1000}s`)));
    req.on('error', (err) => reject(errors.unavailable(`${what}: ${err.message}`)));
    req.end();
  });
}

/** One challenge of a `WWW-Authenticate` header: `Bearer realm="...",service="..."`. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `WWW-Authenticate` (RFC 7235): one or more challenges, each a scheme and comma-separated
 * `name=value` or `name="quoted"` parameters. Parameter names are lower-cased; what does not parse ends
 * the list rather than throwing.
 */
export function parseChallenges(header: string | string[] | undefined): AuthChallenge[] {
  const text = Array.isArray(header) ? header.join(', ') : header ?? '';
  const found: AuthChallenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < text.length && chars.test(text[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: Object.create(null) as Record<string, string> };
    found.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const start = i;
      const name = token();
      skip(/\s/);
      if (!name || text[i] !== '=') {
        i = start; // the next challenge's scheme
        break;
      }
      i++;
      skip(/\s/);
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) i++;
          value += text[i++];
        }
        i++;
      } else {
        // A bare value: a token by the RFC, but registries send scopes (`repository:a:pull`) bare too.
        const from = i;
        while (i < text.length && !/[\s,]/.test(text[i]!)) i++;
        value = text.slice(from, i);
      }
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return found;
}

function basic(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}

/**
 * The distribution error a registry or token server sent, as docker words it: `unauthorized: MESSAGE`
 * from `{"errors":[{code,message}]}` or `{"details":...}`, else `unauthorized: authentication required`.
 */
function unauthorizedText(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString()) as { errors?: Array<{ code?: unknown; message?: unknown }>; details?: unknown };
    const first = Array.isArray(parsed?.errors) ? parsed.errors[0] : undefined;
    if (first && typeof first.code === 'string') {
      return `${first.code.toLowerCase()}: ${typeof first.message === 'string' ? first.message : ''}`.trim();
    }
    if (typeof parsed?.details === 'string') return `unauthorized: ${parsed.details}`;
  } catch {
    // not JSON: the generic wording
  }
  return 'unauthorized: authentication required';
}

function tokenFrom(body: Buffer, realm: string): { token: string; refreshToken?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString());
  } catch {
    throw errors.badRequest(`unable to decode token response from ${realm}`);
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const token = typeof record.token === 'string' ? record.token : typeof record.access_token === 'string' ? record.access_token : '';
  if (!token) throw errors.badRequest(`the token server ${realm} sent no token`);
  return { token, ...(typeof record.refresh_token === 'string' && record.refresh_token ? { refreshToken: record.refresh_token } : {}) };
}

/**
 * Checks a credential against a registry as `docker login` does: GET /v2/, and when the registry
 * challenges, answer with HTTP Basic, or for `Bearer` ask the token server named by the challenge's
 * realm (Basic credentials, `account`, `service`, `offline_token=true`, `client_id=docker`) and
 * present that token. Resolves with the identity (refresh) token when the token server gave one.
 * A refused credential is an Unauthorized error worded as docker's (`login attempt to URL failed with
 * status: 401 Unauthorized` for Basic, `Get "URL": unauthorized: ...` for the token flow); an
 * unreachable registry is Unavailable.
 */
export async function verifyRegistryLogin(endpoint: RegistryEndpoint, credential: RegistryCredential, options: LoginOptions = {}): Promise<{ identityToken?: string }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let base: URL;
  try {
    base = new URL('/v2/', endpoint.url);
  } catch {
    throw errors.badRequest(`invalid registry address "${endpoint.url}"`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw errors.badRequest(`invalid registry address "${endpoint.url}": not http(s)`);
  const ping = await request(base, endpoint, {}, timeoutMs);
  if (ping.status >= 200 && ping.status < 300) return {};
  if (ping.status !== 401) throw errors.unavailable(`login attempt to ${base.href} failed with status: ${ping.status} ${ping.statusText}`);
  const challenges = parseChallenges(ping.headers['www-authenticate']);
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  if (bearer) return tokenLogin(base, endpoint, bearer, credential, timeoutMs);
  if (!challenges.some((c) => c.scheme === 'basic')) {
    throw errors.unavailable(`login attempt to ${base.href} failed: the registry asks for no scheme berth speaks (${challenges.map((c) => c.scheme).join(', ') || 'none'})`);
  }
  const reply = await request(base, endpoint, { Authorization: basic(credential) }, timeoutMs);
  if (reply.status >= 200 && reply.status < 300) return {};
  if (reply.status === 401) throw errors.unauthorized(`login attempt to ${base.href} failed with status: 401 Unauthorized`);
  throw errors.unavailable(`login attempt to ${base.href} failed with status: ${reply.status} ${reply.statusText}`);
}

async function tokenLogin(base: URL, endpoint: RegistryEndpoint, challenge: AuthChallenge, credential: RegistryCredential, timeoutMs: number): Promise<{ identityToken?: string }> {
  const realm = challenge.params.realm;
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(realm ?? '');
  } catch {
    throw errors.unavailable(`Get "${base.href}": the registry's token realm "${realm ?? ''}" is not a URL`);
  }
  if (tokenUrl.protocol !== 'https:' && tokenUrl.protocol !== 'http:') throw errors.unavailable(`Get "${base.href}": the token realm ${realm} is not http(s)`);
  if (challenge.params.service) tokenUrl.searchParams.set('service', challenge.params.service);
  tokenUrl.searchParams.set('account', credential.username);
  tokenUrl.searchParams.set('client_id', 'docker');
  tokenUrl.searchParams.set('offline_token', 'true');
  // The token server may live elsewhere; it gets the registry's TLS trust, as docker's transport does.
  const tokenReply = await request(tokenUrl, endpoint, { Authorization: basic(credential) }, timeoutMs);
  if (tokenReply.status === 401 || tokenReply.status === 403) throw errors.unauthorized(`Get "${base.href}": ${unauthorizedText(tokenReply.body)}`);
  if (tokenReply.status < 200 || tokenReply.status >= 300) {
    throw errors.unavailable(`Get "${base.href}": token auth attempt for registry ${tokenUrl.origin}${tokenUrl.pathname} failed with status: ${tokenReply.status} ${tokenReply.statusText}`);
  }
  const { token, refreshToken } = tokenFrom(tokenReply.body, realm!);
  const reply = await request(base, endpoint, { Authorization: `Bearer ${token}` }, timeoutMs);
  if (reply.status >= 200 && reply.status < 300) return refreshToken ? { identityToken: refreshToken } : {};
  if (reply.status === 401) throw errors.unauthorized(`Get "${base.href}": ${unauthorizedText(reply.body)}`);
  throw errors.unavailable(`login attempt to ${base.href} failed with status: ${reply.status} ${reply.statusText}`);
}
