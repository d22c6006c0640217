import { errors } from '@berth/errors';
import { createTestCA } from '@berth/testing';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:https';
import pino from 'pino';
import type { RegistryAuth } from './registry-auth';
import { RegistryServer, type RegistryListener } from './registry-server';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('RegistryServer', () => {
  let ca: string;
  let tls: { cert: string; key: string; ca: string };
  const running: RegistryServer[] = [];

  beforeAll(async () => {
    const testCA = await createTestCA();
    const issued = await testCA.issue({ subject: 'CN=registry', ips: ['127.0.0.1'] });
    ca = testCA.cert;
    tls = { cert: issued.cert, key: issued.key!, ca };
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.stop()));
  });

  async function start(options: { registry?: RegistryListener; issueToken?: RegistryAuth['issueToken']; maxRequestsInflight?: number } = {}) {
    const asked: { params: Record<string, string>; method?: string }[] = [];
    const server = await RegistryServer.start({
      port: 0,
      bindAddress: '127.0.0.1',
      tls,
      auth: {
        issueToken:
          options.issueToken ??
          ((req: IncomingMessage, params: URLSearchParams) => {
            asked.push({ params: Object.fromEntries(params), method: req.method });
            return { token: 't', access_token: 't', expires_in: 300, issued_at: '2026-01-01T00:00:00.000Z' };
          }),
      },
      registry:
        options.registry ??
        (async (_req: IncomingMessage, res: ServerResponse) => {
          res.writeHead(200, { 'Content-Length': 8 });
          res.end('registry');
        }),
      limits: { maxRequestsInflight: options.maxRequestsInflight ?? 10, maxMutatingRequestsInflight: 10 },
      logger: pino({ level: 'silent' }),
    });
    running.push(server);
    return { server, asked };
  }

  function send(server: RegistryServer, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, method, path, ca, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('the token endpoint answers GET with the query and POST with a form; everything else goes to the registry', async () => {
    const { server, asked } = await start();
    const got = await send(server, 'GET', '/v2/token?service=berth&scope=repository:a:pull');
    expect(got.status).toBe(200);
    expect(got.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(got.body)).toEqual({ token: 't', access_token: 't', expires_in: 300, issued_at: '2026-01-01T00:00:00.000Z' });
    const form = 'grant_type=password&username=u&password=p&service=berth&scope=repository%3Aa%3Apush';
    expect(await send(server, 'POST', '/v2/token', { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }, form)).toMatchObject({ status: 200 });
    expect(asked).toEqual([
      { method: 'GET', params: { service: 'berth', scope: 'repository:a:pull' } },
      { method: 'POST', params: { grant_type: 'password', username: 'u', password: 'p', service: 'berth', scope: 'repository:a:push' } },
    ]);
    expect(await send(server, 'GET', '/v2/token/tags/list')).toMatchObject({ status: 200, body: 'registry' });
    expect(await send(server, 'GET', '/v2/')).toMatchObject({ status: 200, body: 'registry' });
  });

  test('bad token requests are the spec error JSON: wrong method, wrong form type, an oversized form, refused credentials with their challenge', async () => {
    const { server } = await start({
      issueToken: () => {
        throw errors.unauthorized('invalid username or password', 'Basic realm="berth"');
      },
    });
    const code = (answer: Answer) => (JSON.parse(answer.body) as { errors: { code: string }[] }).errors[0]!.code;
    const refused = await send(server, 'GET', '/v2/token');
    expect([refused.status, code(refused), refused.headers['www-authenticate']]).toEqual([401, 'UNAUTHORIZED', 'Basic realm="berth"']);
    const put = await send(server, 'PUT', '/v2/token');
    expect([put.status, code(put)]).toEqual([405, 'UNSUPPORTED']);
    const json = await send(server, 'POST', '/v2/token', { 'Content-Type': 'application/json' }, '{}');
    expect([json.status, code(json)]).toEqual([400, 'UNKNOWN']);
    const huge = await send(server, 'POST', '/v2/token', { 'Content-Type': 'application/x-www-form-urlencoded' }, Buffer.alloc(200 * 1024, 'a'));
    expect([huge.status, code(huge)]).toEqual([413, 'SIZE_INVALID']);
  });

  test('requests over the in-flight limit are 429 TOO_MANY_REQUESTS with Retry-After; the count goes down when they end', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const { server } = await start({
      maxRequestsInflight: 1,
      registry: async (req, res) => {
        if (req.url === '/v2/slow') {
          entered();
          await held;
        }
        res.writeHead(200, { 'Content-Length': 2 });
        res.end('ok');
      },
    });
    const slow = send(server, 'GET', '/v2/slow');
    await inside;
    const over = await send(server, 'GET', '/v2/');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('1');
    expect(JSON.parse(over.body)).toMatchObject({ errors: [{ code: 'TOO_MANY_REQUESTS' }] });
    // Writes have a count of their own.
    expect(await send(server, 'DELETE', '/v2/x')).toMatchObject({ status: 200 });
    release();
    expect(await slow).toMatchObject({ status: 200 });
    expect(await send(server, 'GET', '/v2/')).toMatchObject({ status: 200 });
  });

  test('a port in use is an error of the listen, not a crash', async () => {
    const { server } = await start();
    await expect(
      RegistryServer.start({
        port: server.port,
        bindAddress: '127.0.0.1',
        tls,
        auth: { issueToken: () => ({ token: '', access_token: '', expires_in: 0, issued_at: '' }) },
        registry: async () => undefined,
        limits: { maxRequestsInflight: 1, maxMutatingRequestsInflight: 1 },
        logger: pino({ level: 'silent' }),
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
