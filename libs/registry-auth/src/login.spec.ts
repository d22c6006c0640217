import { createTestCA, type TestCA } from '@berth/testing';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseChallenges, verifyRegistryLogin } from './login';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const USER = 'alice';
const PASSWORD = 'wonderland';
const basicHeader = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** A fake registry: `/v2/` behind Basic, or behind a token server at `/token` (same server). */
function registryHandler(mode: 'basic' | 'bearer' | 'open', seen: string[]): Handler {
  return (req, res) => {
    const url = new URL(req.url!, 'http://x');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname === '/v2/') {
      if (mode === 'open') return void res.writeHead(200).end('{}');
      const auth = req.headers.authorization;
      if (mode === 'basic' && auth === basicHeader) return void res.writeHead(200).end('{}');
      if (mode === 'bearer' && auth === 'Bearer good-token') return void res.writeHead(200).end('{}');
      const challenge =
        mode === 'basic' ? 'Basic realm="fake"' : `Bearer realm="https://${req.headers.host}/token",service="fake-registry"`;
      res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' });
      return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    }
    if (url.pathname === '/token') {
      if (req.headers.authorization !== basicHeader) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        return void res.end(JSON.stringify({ details: 'incorrect username or password' }));
      }
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: 'good-token', refresh_token: 'refresh-me' }));
    }
    res.writeHead(404).end();
  };
}

describe('verifyRegistryLogin', () => {
  let ca: TestCA;
  let server: https.Server | undefined;
  let seen: string[];

  beforeAll(async () => {
    ca = await createTestCA();
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function start(mode: 'basic' | 'bearer' | 'open'): Promise<string> {
    seen = [];
    const issued = await ca.issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'] });
    server = https.createServer({ cert: issued.cert, key: issued.key }, registryHandler(mode, seen));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('logs in with HTTP Basic, trusting the CA it is given', async () => {
    const url = await start('basic');
    await expect(verifyRegistryLogin({ url, caPems: [ca.cert] }, { username: USER, password: PASSWORD })).resolves.toEqual({});
    expect(seen).toEqual(['GET /v2/', 'GET /v2/']);
  });

  it('refuses a wrong password with docker\'s Basic wording', async () => {
    const url = await start('basic');
    await expect(verifyRegistryLogin({ url, caPems: [ca.cert] }, { username: USER, password: 'wrong' })).rejects.toMatchObject({
      reason: 'Unauthorized',
      message: `login attempt to ${url}/v2/ failed with status: 401 Unauthorized`,
    });
  });

  it('follows the Bearer challenge to the token server and keeps its refresh token', async () => {
    const url = await start('bearer');
    await expect(verifyRegistryLogin({ url, caPems: [ca.cert] }, { username: USER, password: PASSWORD })).resolves.toEqual({ identityToken: 'refresh-me' });
    expect(seen).toEqual(['GET /v2/', 'GET /token?service=fake-registry&account=alice&client_id=docker&offline_token=true', 'GET /v2/']);
  });

  it('refuses a wrong password in the token flow with the token server\'s words', async () => {
    const url = await start('bearer');
    await expect(verifyRegistryLogin({ url, caPems: [ca.cert] }, { username: USER, password: 'wrong' })).rejects.toMatchObject({
      reason: 'Unauthorized',
      message: `Get "${url}/v2/": unauthorized: incorrect username or password`,
    });
  });

  it('accepts a registry that asks for nothing', async () => {
    const url = await start('open');
    await expect(verifyRegistryLogin({ url, caPems: [ca.cert] }, { username: USER, password: 'any' })).resolves.toEqual({});
  });

  it('does not trust a registry whose CA it was not given, and says so on one line', async () => {
    const url = await start('basic');
    const err = await verifyRegistryLogin({ url }, { username: USER, password: PASSWORD }).catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'ServiceUnavailable' });
    expect((err as Error).message).toMatch(new RegExp(`^Get "${url}/v2/": .*certificate`));
  });

  it('says where it could not connect', async () => {
    const url = await start('open');
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    await expect(verifyRegistryLogin({ url }, { username: USER, password: PASSWORD })).rejects.toThrow(`Get "${url}/v2/": connect ECONNREFUSED`);
  });
});

describe('parseChallenges', () => {
  it('reads several challenges with quoted and bare parameters', () => {
    expect(parseChallenges('Bearer realm="https://auth.example.com/token",service="reg \\"x\\"", scope=repository:a:pull, Basic realm=b')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'reg "x"', scope: 'repository:a:pull' } },
      { scheme: 'basic', params: { realm: 'b' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('"garbage')).toEqual([]);
    expect(parseChallenges('Bearer __proto__="x"')[0]!.params.__proto__).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
