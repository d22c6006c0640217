import { decodeJson } from '@berth/api';
import { BerthError, errors } from '@berth/errors';
import { ALL_REPOSITORIES, isRepositoryName, type RegistryAccess, type RegistryAction } from '@berth/registry';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { MASTERS_GROUP, nodeNameOf, type Authenticator, type UserInfo } from './authn';

const ACTIONS: readonly RegistryAction[] = ['pull', 'push', 'delete'];
/** The `service` of challenges and tokens (distribution's `auth.token.service`). */
export const REGISTRY_SERVICE = 'berth';
/** Where the token endpoint is, on the registry's own port (as Harbor and GitLab put it). */
export const REGISTRY_TOKEN_PATH = '/v2/token';
/** A token's life: distribution's default expiration (5 minutes); clients ask again when it ends. */
export const REGISTRY_TOKEN_LIFETIME_MS = 5 * 60_000;

/** Bounds on what a client may ask for: more scopes than any real client sends, or a huge token, are refused. */
const MAX_SCOPES = 64;
const MAX_TOKEN_LENGTH = 32 * 1024;

/**
 * The `scope` parameters of a token request (each may hold several, space separated), as the token spec
 * writes them: `repository:NAME:ACTION[,ACTION]` (`repository(plugin):` too; `*` is every action), and
 * `registry:catalog:*`, which is pull on every repository (ALL_REPOSITORIES, what `/v2/_catalog` asks).
 * Other scopes, bad names and unknown actions grant nothing and are left out.
 */
export function parseScopes(values: readonly string[]): RegistryAccess[] {
  const items = values.flatMap((value) => value.split(' ')).filter((item) => item !== '');
  if (items.length > MAX_SCOPES) throw errors.badRequest(`at most ${MAX_SCOPES} scopes may be asked for at once`);
  const byRepository = new Map<string, Set<RegistryAction>>();
  for (const item of items) {
    const first = item.indexOf(':');
    const last = item.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    const type = item.slice(0, first);
    const resource = item.slice(first + 1, last);
    const catalog = type === 'registry' && resource === 'catalog';
    if (!catalog && !(/^repository(\([a-z0-9]+\))?$/.test(type) && isRepositoryName(resource))) continue;
    const repository = catalog ? ALL_REPOSITORIES : resource;
    const actions = byRepository.get(repository) ?? new Set<RegistryAction>();
    const asked = catalog ? ['pull'] : item.slice(last + 1).split(',');
    for (const action of asked) {
      if (action === '*') ACTIONS.forEach((a) => actions.add(a));
      else if ((ACTIONS as readonly string[]).includes(action)) actions.add(action as RegistryAction);
    }
    byRepository.set(repository, actions);
  }
  return [...byRepository].map(([repository, actions]) => ({ repository, actions: ACTIONS.filter((a) => actions.has(a)) }));
}

/** `repository:NAME:a,b` for each access, space separated: a challenge's or token request's scope. */
export function formatScopes(access: readonly RegistryAccess[]): string {
  return access
    .map(({ repository, actions }) => (repository === ALL_REPOSITORIES ? 'registry:catalog:*' : `repository:${repository}:${actions.join(',')}`))
    .join(' ');
}

/**
 * What a user may do on any repository of the cluster registry: the admin (system:masters) everything;
 * nodes pull; nobody (undefined) pulls when anonymous pull is on. The join token only joins: nothing here.
 */
export function registryRights(user: UserInfo | undefined, anonymousPull: boolean): RegistryAction[] {
  if (!user) return anonymousPull ? ['pull'] : [];
  if (user.groups.includes(MASTERS_GROUP)) return [...ACTIONS];
  if (nodeNameOf(user)) return ['pull'];
  return [];
}

/** What a registry token says: who it was issued to ('' for nobody) and what it grants. */
export interface RegistryTokenClaims {
  subject: string;
  access: RegistryAccess[];
  expiresAt: number;
}

/** The token endpoint's answer, in the token spec's and docker's OAuth2 shape. */
export interface IssuedToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
/** Every token has this header: one fixed string, so no `alg` a client chose is ever honoured. */
const TOKEN_HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/**
 * The registry's bearer tokens: JWTs (HS256) naming the subject, the service and the access granted, valid
 * for a few minutes. The key is derived from the admin token, so every server of a cluster (they share the
 * admin credential) verifies the others' tokens, a new admin token voids the old ones, and nothing new is kept.
 */
export class RegistryTokens {
  private readonly key: Buffer;

  constructor(
    adminToken: string,
    private readonly lifetimeMs = REGISTRY_TOKEN_LIFETIME_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac('sha256', adminToken).update('berth registry token key v1').digest();
  }

  /** Whether a bearer credential is in this token format (else it may be a cluster token). */
  static looksLikeToken(credential: string): boolean {
    return credential.startsWith(`${TOKEN_HEADER}.`);
  }

  issue(subject: string, access: RegistryAccess[]): IssuedToken {
    const issuedAt = this.now();
    const seconds = Math.floor(issuedAt / 1000);
    const lifetime = Math.floor(this.lifetimeMs / 1000);
    const claims = {
      iss: REGISTRY_SERVICE,
      sub: subject,
      aud: REGISTRY_SERVICE,
      iat: seconds,
      nbf: seconds - 1,
      exp: seconds + lifetime,
      jti: randomBytes(12).toString('base64url'),
      access: access.map(({ repository, actions }) => ({ type: 'repository', name: repository, actions })),
    };
    const unsigned = `${TOKEN_HEADER}.${base64url(JSON.stringify(claims))}`;
    const token = `${unsigned}.${this.sign(unsigned).toString('base64url')}`;
    return { token, access_token: token, expires_in: lifetime, issued_at: new Date(seconds * 1000).toISOString() };
  }

  /** The claims of a token this registry signed and that is still valid; Unauthorized otherwise. */
  verify(token: string): RegistryTokenClaims {
    const invalid = (why: string) => errors.unauthorized(`the registry token is ${why}`);
    if (token.length > MAX_TOKEN_LENGTH) throw invalid('too long');
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== TOKEN_HEADER) throw invalid('malformed');
    const signature = Buffer.from(parts[2]!, 'base64url');
    const expected = this.sign(`${parts[0]}.${parts[1]}`);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw invalid('not signed by this registry');
    let claims: unknown;
    try {
      claims = decodeJson(Buffer.from(parts[1]!, 'base64url').toString('utf8'), 'the registry token');
    } catch {
      throw invalid('malformed');
    }
    const c = (claims && typeof claims === 'object' ? claims : {}) as Record<string, unknown>;
    const seconds = this.now() / 1000;
    if (c.aud !== REGISTRY_SERVICE || typeof c.sub !== 'string' || typeof c.exp !== 'number' || typeof c.nbf !== 'number' || !Array.isArray(c.access)) {
      throw invalid('malformed');
    }
    if (seconds >= c.exp) throw invalid('expired');
    if (seconds < c.nbf) throw invalid('not valid yet');
    const access: RegistryAccess[] = [];
    for (const entry of c.access as unknown[]) {
      const e = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
      if (e.type !== 'repository' || typeof e.name !== 'string' || !Array.isArray(e.actions)) continue;
      access.push({ repository: e.name, actions: ACTIONS.filter((a) => (e.actions as unknown[]).includes(a)) });
    }
    return { subject: c.sub, access, expiresAt: c.exp * 1000 };
  }

  private sign(unsigned: string): Buffer {
    return createHmac('sha256', this.key).update(unsigned).digest();
  }
}

/** Who a registry request comes from, as its credential says. */
type Caller =
  /** No credential at all. */
  | { kind: 'nobody' }
  /** A cluster credential: a node certificate, the admin token (as a Basic password, or a bearer token). */
  | { kind: 'user'; user: UserInfo }
  /** A token from the token endpoint. */
  | { kind: 'token'; claims: RegistryTokenClaims };

export interface RegistryAuthOptions {
  authenticator: Pick<Authenticator, 'certificateUser' | 'tokenUser'>;
  tokens: RegistryTokens;
  anonymousPull: boolean;
  /** `https://HOST:PORT` of the registry, the realm's origin when a request's Host header cannot be used. */
  origin: string;
}

/** distribution's words for a credential that does not allow a request. */
const denied = () => errors.forbidden('requested access to the resource is denied');

/** A Host header that can go into a challenge's quoted realm as it is: a host name or address, and a port. */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * Authentication and authorization of the cluster registry, as distribution's token auth does it, with the
 * cluster's own credentials: any user name with the admin token as password (HTTP Basic) or as a bearer token,
 * a node's client certificate, or a token from `/v2/token` (issued for those credentials, or to nobody).
 * What each may do is registryRights'. A request without any credential that needs more than anonymous
 * rights (and `/v2/` itself, so that clients learn where to get a token) is 401 with a Bearer challenge
 * naming the token endpoint and the scope it needs; a request whose credential does not allow it is 403.
 *
 * Why Bearer first, and only Bearer: containers/image (podman, skopeo, buildah) probes `/v2/`, keeps the
 * challenges of its 401 and answers the first scheme it knows on every later request; no 401 there and it
 * never sends a credential, so `/v2/` is 401 even with anonymous pull on. A Basic challenge would make
 * anonymous clients fail; the token endpoint serves them (a token with nobody's rights) and logged-in
 * ones alike. Basic credentials sent without being asked (`berth login`, docker's) are accepted everywhere.
 */
export class RegistryAuth {
  constructor(private readonly options: RegistryAuthOptions) {}

  /** The registry handler's hook: resolves when `req` may have `access`, else throws Unauthorized (with its challenge) or Forbidden. */
  async authorize(req: IncomingMessage, access: RegistryAccess[]): Promise<void> {
    const caller = this.caller(req, 'registry');
    if (caller.kind === 'nobody') {
      if (access.length > 0 && this.allows(this.rights(undefined), access)) return;
      throw this.unauthorized(req, access, 'authentication required');
    }
    const rights = caller.kind === 'user' ? this.rights(caller.user) : this.rights(undefined);
    // A cluster credential with no rights here (the join token) is refused even the version check.
    if (caller.kind === 'user' && rights.length === 0) throw denied();
    const granted = caller.kind === 'token' ? caller.claims.access : [];
    if (this.allows(rights, access, granted)) return;
    // A node's certificate alone (no Authorization) that lacks a right: the client may hold a credential that
    // has it (a node's runtimed pushing what `berth compose up` built, with the admin token), which a registry
    // client sends only when challenged, so it is challenged as a token of too narrow a scope is.
    if (caller.kind === 'user' && req.headers.authorization === undefined) throw this.unauthorized(req, access, 'insufficient_scope: the node certificate may only pull');
    throw denied();
  }

  /**
   * The token endpoint (`GET /v2/token?service=&scope=&account=`, with Basic credentials or none; and
   * docker's OAuth2 `POST` with a form of grant_type password or refresh_token): a token granting what
   * was asked for as far as the credential allows. Wrong credentials are 401; none get nobody's rights.
   */
  issueToken(req: IncomingMessage, params: URLSearchParams): IssuedToken {
    let user: UserInfo | undefined;
    const grantType = params.get('grant_type');
    if (grantType !== null) {
      // OAuth2 (docker's POST): the secret is the password, or the refresh token (an identity token).
      const secret = grantType === 'password' ? params.get('password') : grantType === 'refresh_token' ? params.get('refresh_token') : null;
      if (secret === null) throw errors.badRequest(`unsupported grant_type ${JSON.stringify(grantType.slice(0, 64))}: password or refresh_token`);
      user = this.options.authenticator.tokenUser(secret);
      if (!user) throw this.badCredentials();
    } else {
      const caller = this.caller(req, 'token');
      if (caller.kind === 'user') user = caller.user;
    }
    const service = params.get('service');
    if (service !== null && service !== REGISTRY_SERVICE) throw errors.badRequest(`unknown service ${JSON.stringify(service.slice(0, 64))}: this registry is "${REGISTRY_SERVICE}"`);
    const rights = this.rights(user);
    const granted = parseScopes(params.getAll('scope'))
      .map(({ repository, actions }) => ({ repository, actions: actions.filter((a) => rights.includes(a)) }))
      .filter(({ actions }) => actions.length > 0);
    return this.options.tokens.issue(user?.name ?? '', granted);
  }

  private rights(user: UserInfo | undefined): RegistryAction[] {
    return registryRights(user, this.options.anonymousPull);
  }

  /** Whether every access asked for is in the caller's rights (on any repository) or in what its token grants. */
  private allows(rights: RegistryAction[], access: RegistryAccess[], granted: RegistryAccess[] = []): boolean {
    return access.every(({ repository, actions }) =>
      actions.every((action) => rights.includes(action) || granted.some((g) => g.repository === repository && g.actions.includes(action))),
    );
  }

  /**
   * The request's credential. A wrong one is 401 (a stale token is fetched again): at the registry with
   * the Bearer challenge, at the token endpoint with a Basic one (a password is what it takes there).
   */
  private caller(req: IncomingMessage, at: 'registry' | 'token'): Caller {
    const node = this.options.authenticator.certificateUser(req);
    const header = req.headers.authorization;
    if (header === undefined) return node ? { kind: 'user', user: node } : { kind: 'nobody' };
    const bad = () => (at === 'registry' ? this.unauthorized(req, [], 'invalid credentials') : this.badCredentials());
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space < 0 ? header.length : space).toLowerCase();
    const credential = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? undefined : this.options.authenticator.tokenUser(decoded.slice(colon + 1));
      if (!user) throw bad();
      return { kind: 'user', user };
    }
    if (scheme === 'bearer') {
      if (RegistryTokens.looksLikeToken(credential)) {
        // A registry token is for the registry's requests; the token endpoint takes cluster credentials.
        if (at === 'token') throw bad();
        try {
          return { kind: 'token', claims: this.options.tokens.verify(credential) };
        } catch (err) {
          throw this.unauthorized(req, [], (err as Error).message);
        }
      }
      const user = this.options.authenticator.tokenUser(credential);
      if (!user) throw bad();
      return { kind: 'user', user };
    }
    throw bad();
  }

  private unauthorized(req: IncomingMessage, access: RegistryAccess[], message: string): BerthError {
    const scope = access.some((a) => a.actions.length > 0) ? `,scope="${formatScopes(access.filter((a) => a.actions.length > 0))}"` : '';
    const challenge = `Bearer realm="${this.origin(req)}${REGISTRY_TOKEN_PATH}",service="${REGISTRY_SERVICE}"${scope}`;
    return errors.unauthorized(message, challenge);
  }

  private badCredentials(): BerthError {
    return errors.unauthorized('invalid username or password', `Basic realm="${REGISTRY_SERVICE}"`);
  }

  /** The registry's origin as the client named it (so the realm is on the host it trusts), else the configured one. */
  private origin(req: IncomingMessage): string {
    const host = req.headers.host;
    return host !== undefined && SAFE_HOST.test(host) ? `https://${host}` : this.options.origin;
  }
}
