import { isBerthError, type BerthError } from '@berth/errors';
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ADMIN, JOINING_HOST, nodeUser, type UserInfo } from './authn';
import type { RegistryAccess } from '@berth/registry';
import { formatScopes, parseScopes, RegistryAuth, registryRights, RegistryTokens } from './registry-auth';

const ADMIN_TOKEN = 'admin-secret';
const NODE = nodeUser('node-a');

interface FakeRequest {
  headers: Record<string, string>;
  node?: UserInfo;
}

function request(headers: Record<string, string> = {}, node?: UserInfo): IncomingMessage {
  return { headers: { host: 'registry.test:5000', ...headers }, node } as FakeRequest as unknown as IncomingMessage;
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function setup(anonymousPull = true, now = () => 1_700_000_000_000) {
  const tokens = new RegistryTokens(ADMIN_TOKEN, 300_000, now);
  const auth = new RegistryAuth({
    authenticator: {
      certificateUser: (req) => (req as unknown as FakeRequest).node,
      tokenUser: (secret) => (secret === ADMIN_TOKEN ? ADMIN : secret === 'join-secret' ? JOINING_HOST : undefined),
    },
    tokens,
    anonymousPull,
    origin: 'https://10.0.0.1:5000',
  });
  return { auth, tokens };
}

async function outcome(promise: Promise<void>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (!isBerthError(err)) throw err;
    return err.details.challenge ? `${err.reason} ${err.details.challenge}` : err.reason;
  }
}

const pull = (repository: string): RegistryAccess[] => [{ repository, actions: ['pull'] }];
const push = (repository: string): RegistryAccess[] => [{ repository, actions: ['pull', 'push'] }];

describe('scopes', () => {
  test('repository scopes are read as the token spec writes them, merged per repository; the rest grants nothing', () => {
    expect(parseScopes(['repository:app:pull', 'repository:team/app:pull,push repository:app:delete', 'registry:catalog:*', 'repository(plugin):p:*'])).toEqual([
      { repository: 'app', actions: ['pull', 'delete'] },
      { repository: 'team/app', actions: ['pull', 'push'] },
      { repository: '*', actions: ['pull'] },
      { repository: 'p', actions: ['pull', 'push', 'delete'] },
    ]);
    expect(formatScopes([{ repository: '*', actions: ['pull'] }])).toBe('registry:catalog:*');
    expect(parseScopes(['repository:Bad:pull', 'repository:../etc:pull', 'repository:x', 'nonsense', 'repository:a:fly'])).toEqual([{ repository: 'a', actions: [] }]);
    expect(() => parseScopes([Array.from({ length: 65 }, (_, i) => `repository:r${i}:pull`).join(' ')])).toThrow('at most 64 scopes');
    expect(formatScopes(push('team/app'))).toBe('repository:team/app:pull,push');
  });

  test('rights: the admin everything, nodes pull, nobody pulls when anonymous pull is on, the join token nothing', () => {
    expect(registryRights(ADMIN, false)).toEqual(['pull', 'push', 'delete']);
    expect(registryRights(NODE, false)).toEqual(['pull']);
    expect(registryRights(undefined, true)).toEqual(['pull']);
    expect(registryRights(undefined, false)).toEqual([]);
    expect(registryRights(JOINING_HOST, true)).toEqual([]);
  });
});

describe('RegistryTokens', () => {
  test('a token carries its subject and access, and is refused when changed, expired, or signed with another key', () => {
    let now = 1_700_000_000_000;
    const tokens = new RegistryTokens(ADMIN_TOKEN, 300_000, () => now);
    const issued = tokens.issue('system:admin', push('app'));
    expect(issued).toMatchObject({ access_token: issued.token, expires_in: 300, issued_at: '2023-11-14T22:13:20.000Z' });
    expect(RegistryTokens.looksLikeToken(issued.token)).toBe(true);
    expect(tokens.verify(issued.token)).toEqual({ subject: 'system:admin', access: push('app'), expiresAt: now + 300_000 });

    const [header, payload, signature] = issued.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    claims.access[0].name = 'other';
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    expect(() => tokens.verify(forged)).toThrow('not signed by this registry');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expect(() => tokens.verify(none)).toThrow('malformed');
    expect(() => new RegistryTokens('another-admin-token').verify(issued.token)).toThrow('not signed by this registry');
    expect(() => tokens.verify('x'.repeat(40_000))).toThrow('too long');

    now += 300_000;
    expect(() => tokens.verify(issued.token)).toThrow('expired');
  });

  test('a token whose claims are not the expected shape, or hostile JSON, is refused without harm', () => {
    const tokens = new RegistryTokens(ADMIN_TOKEN);
    const sign = (claims: string) => {
      const good = tokens.issue('', []).token.split('.');
      const unsigned = `${good[0]}.${Buffer.from(claims).toString('base64url')}`;
      // Signed with the right key: only the claims are wrong.
      const key = createHmac('sha256', ADMIN_TOKEN).update('berth registry token key v1').digest();
      return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
    };
    expect(() => tokens.verify(sign('{"__proto__":{"polluted":1},"aud":"berth"}'))).toThrow('malformed');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => tokens.verify(sign('not json'))).toThrow('malformed');
    expect(() => tokens.verify(sign('{"aud":"other","sub":"","exp":9999999999,"nbf":0,"access":[]}'))).toThrow('malformed');
    const odd = tokens.verify(sign('{"aud":"berth","sub":"","exp":9999999999,"nbf":0,"access":[null,{"type":"repository","name":"a","actions":["pull","fly",7]},{"type":"registry"}]}'));
    expect(odd.access).toEqual(pull('a'));
  });
});

describe('RegistryAuth.authorize', () => {
  test('without a credential: /v2/ and pushes are 401 with the Bearer challenge of the scope they need; pulls pass when anonymous pull is on', async () => {
    const { auth } = setup();
    expect(await outcome(auth.authorize(request(), []))).toBe('Unauthorized Bearer realm="https://registry.test:5000/v2/token",service="berth"');
    expect(await outcome(auth.authorize(request(), pull('app')))).toBe('ok');
    expect(await outcome(auth.authorize(request(), push('team/app')))).toBe(
      'Unauthorized Bearer realm="https://registry.test:5000/v2/token",service="berth",scope="repository:team/app:pull,push"',
    );
    // A Host header that could break out of the quoted realm is not used.
    expect(await outcome(auth.authorize(request({ host: 'evil",x="' }), []))).toBe('Unauthorized Bearer realm="https://10.0.0.1:5000/v2/token",service="berth"');
  });

  test('anonymous pull off: a pull without a credential is 401, with a node certificate it passes, a push with one alone is challenged (401 with the scope) for a credential that may push', async () => {
    const { auth } = setup(false);
    expect(await outcome(auth.authorize(request(), pull('app')))).toMatch(/^Unauthorized Bearer .*scope="repository:app:pull"$/);
    expect(await outcome(auth.authorize(request({}, NODE), pull('app')))).toBe('ok');
    expect(await outcome(auth.authorize(request({}, NODE), push('app')))).toMatch(/^Unauthorized Bearer .*scope="repository:app:pull,push"$/);
    expect(await outcome(auth.authorize(request(basic('anyone', ADMIN_TOKEN), NODE), push('app')))).toBe('ok');
  });

  test('Basic with any user name and the admin token, or the admin token as bearer, may do everything; other secrets are 401, the join token 403', async () => {
    const { auth } = setup();
    const all: RegistryAccess[] = [{ repository: 'app', actions: ['pull', 'push', 'delete'] }];
    expect(await outcome(auth.authorize(request(basic('anyone', ADMIN_TOKEN)), all))).toBe('ok');
    expect(await outcome(auth.authorize(request(basic('anyone', ADMIN_TOKEN)), []))).toBe('ok');
    expect(await outcome(auth.authorize(request(bearer(ADMIN_TOKEN)), all))).toBe('ok');
    expect(await outcome(auth.authorize(request(basic('admin', 'wrong')), pull('app')))).toMatch(/^Unauthorized Bearer realm=/);
    expect(await outcome(auth.authorize(request(basic('no-colon', '')), []))).toMatch(/^Unauthorized/);
    expect(await outcome(auth.authorize(request({ authorization: 'Basic !!!' }), []))).toMatch(/^Unauthorized/);
    expect(await outcome(auth.authorize(request({ authorization: 'Digest x' }), []))).toMatch(/^Unauthorized/);
    expect(await outcome(auth.authorize(request(bearer('wrong')), []))).toMatch(/^Unauthorized/);
    expect(await outcome(auth.authorize(request(basic('x', 'join-secret')), pull('app')))).toBe('Forbidden');
    expect(await outcome(auth.authorize(request(basic('x', 'join-secret')), []))).toBe('Forbidden');
  });

  test('a registry token allows what it grants (and what nobody may do anyway); beyond that it is 403; an expired one 401', async () => {
    let now = 1_700_000_000_000;
    const { auth, tokens } = setup(true, () => now);
    const admin = tokens.issue('system:admin', push('app')).token;
    expect(await outcome(auth.authorize(request(bearer(admin)), push('app')))).toBe('ok');
    expect(await outcome(auth.authorize(request(bearer(admin)), push('other')))).toBe('Forbidden');
    expect(await outcome(auth.authorize(request(bearer(admin)), pull('other')))).toBe('ok');
    expect(await outcome(auth.authorize(request(bearer(admin)), [{ repository: 'app', actions: ['delete'] }]))).toBe('Forbidden');
    const anonymous = tokens.issue('', []).token;
    expect(await outcome(auth.authorize(request(bearer(anonymous)), []))).toBe('ok');
    expect(await outcome(auth.authorize(request(bearer(anonymous)), push('app')))).toBe('Forbidden');
    now += 301_000;
    expect(await outcome(auth.authorize(request(bearer(admin)), push('app')))).toMatch(/^Unauthorized Bearer realm=/);
  });
});

describe('RegistryAuth.issueToken', () => {
  const claimsOf = (tokens: RegistryTokens, token: string) => {
    const { subject, access } = tokens.verify(token);
    return { subject, access };
  };

  test('grants what was asked as far as the credential allows: the admin all, nobody pull (when on), a node pull', () => {
    const { auth, tokens } = setup();
    const scope = (value: string) => new URLSearchParams({ service: 'berth', scope: value });
    const asAdmin = auth.issueToken(request(basic('me', ADMIN_TOKEN)), scope('repository:app:pull,push,delete'));
    expect(claimsOf(tokens, asAdmin.token)).toEqual({ subject: 'system:admin', access: [{ repository: 'app', actions: ['pull', 'push', 'delete'] }] });
    expect(claimsOf(tokens, auth.issueToken(request(), scope('repository:app:pull,push')).token)).toEqual({ subject: '', access: pull('app') });
    expect(claimsOf(tokens, auth.issueToken(request({}, NODE), scope('repository:app:push,pull')).token)).toEqual({ subject: 'system:node:node-a', access: pull('app') });
    expect(claimsOf(tokens, auth.issueToken(request(), new URLSearchParams()).token)).toEqual({ subject: '', access: [] });
    const { auth: closed, tokens: closedTokens } = setup(false);
    expect(claimsOf(closedTokens, closed.issueToken(request(), scope('repository:app:pull')).token)).toEqual({ subject: '', access: [] });
  });

  test("docker's OAuth2 form: grant_type password or refresh_token (the admin token as identity token)", () => {
    const { auth, tokens } = setup();
    const form = (fields: Record<string, string>) => new URLSearchParams({ service: 'berth', scope: 'repository:app:push', ...fields });
    expect(claimsOf(tokens, auth.issueToken(request(), form({ grant_type: 'password', username: 'u', password: ADMIN_TOKEN })).token).access).toEqual([
      { repository: 'app', actions: ['push'] },
    ]);
    expect(claimsOf(tokens, auth.issueToken(request(), form({ grant_type: 'refresh_token', refresh_token: ADMIN_TOKEN })).token).subject).toBe('system:admin');
    expect(() => auth.issueToken(request(), form({ grant_type: 'password', password: 'wrong' }))).toThrow('invalid username or password');
    expect(() => auth.issueToken(request(), form({ grant_type: 'client_credentials' }))).toThrow('unsupported grant_type');
  });

  test('wrong credentials are 401 with a Basic challenge; a registry token or another service is refused', () => {
    const { auth, tokens } = setup();
    const refused = (req: IncomingMessage, params = new URLSearchParams()) => {
      try {
        auth.issueToken(req, params);
      } catch (err) {
        const e = err as BerthError;
        return `${e.reason} ${e.details.challenge ?? ''}`.trim();
      }
      return 'issued';
    };
    expect(refused(request(basic('me', 'wrong')))).toBe('Unauthorized Basic realm="berth"');
    expect(refused(request(bearer(tokens.issue('system:admin', []).token)))).toBe('Unauthorized Basic realm="berth"');
    expect(refused(request(), new URLSearchParams({ service: 'elsewhere' }))).toBe('BadRequest');
  });
});
