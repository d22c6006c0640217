import { ensureServingNames, loadOrCreateCredentials } from '@berth/apiserver';
import { isBerthError } from '@berth/errors';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOIN_PATH, JoinEndpoint, openJoinAnswer, requestJoin, signJoinRequest, type JoinRequest } from './join';
import { deriveClusterSecrets, type ClusterSecrets } from './nats-config';
import type { Membership } from './membership';

const TOKEN = 'join-spec-token';
const JOINER: JoinRequest = { serverName: 'host-b-1a2b3c4d', clusterAddress: '10.0.0.2:6222', clientAddress: '10.0.0.2:4222' };
let secrets: ClusterSecrets;
let wrongSecrets: ClusterSecrets;

beforeAll(async () => {
  [secrets, wrongSecrets] = await Promise.all([deriveClusterSecrets(TOKEN), deriveClusterSecrets('another-token')]);
});

function endpoint(joined: JoinRequest[] = [], now?: () => number): JoinEndpoint {
  let membership: Membership = { serverName: 'host-a-00000000', routes: ['10.0.0.1:6222'], clientAddresses: ['10.0.0.1:4222'] };
  return new JoinEndpoint({
    token: TOKEN,
    secrets,
    membership: () => membership,
    onJoined: (request) => {
      joined.push(request);
      membership = { ...membership, routes: [...membership.routes, request.clusterAddress], clientAddresses: [...membership.clientAddresses, request.clientAddress] };
    },
    now,
  });
}

async function reason(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (isBerthError(err)) return `${err.reason}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a refusal');
}

test('a request that proves the token gets the members, sealed, for its nonce only; the joiner is remembered', async () => {
  const joined: JoinRequest[] = [];
  const signed = signJoinRequest(secrets.joinKey, JOINER);
  const sealed = await endpoint(joined).answerBody(JSON.stringify(signed));
  expect(sealed).not.toContain('10.0.0.1');
  expect(await openJoinAnswer(sealed, TOKEN, signed.nonce)).toEqual({ routes: ['10.0.0.1:6222', '10.0.0.2:6222'], clientAddresses: ['10.0.0.1:4222', '10.0.0.2:4222'] });
  expect(joined).toEqual([JOINER]);
  // An answer kept by a man in the middle neither opens without the token nor passes for another request's.
  expect(await reason(openJoinAnswer(sealed, 'another-token', signed.nonce))).toMatch(/^Unauthorized: the token does not match/);
  expect(await reason(openJoinAnswer(sealed, TOKEN, '0'.repeat(32)))).toBe('Unauthorized: the join answer is not for this request (a replay)');
});

test('a wrong token, a changed field, a replay and a stale time are refused with 401 and nothing is remembered', async () => {
  const joined: JoinRequest[] = [];
  const members = endpoint(joined);
  expect(await reason(members.answerBody(JSON.stringify(signJoinRequest(wrongSecrets.joinKey, JOINER))))).toBe("Unauthorized: the token does not match the cluster's");
  const changed = { ...signJoinRequest(secrets.joinKey, JOINER), clusterAddress: '10.6.6.6:6222' };
  expect(await reason(members.answerBody(JSON.stringify(changed)))).toBe("Unauthorized: the token does not match the cluster's");
  const stale = signJoinRequest(secrets.joinKey, JOINER, Date.now() - 10 * 60_000);
  expect(await reason(members.answerBody(JSON.stringify(stale)))).toMatch(/^Unauthorized: the join request is from .* more than 5 minutes off/);
  expect(joined).toEqual([]);
  const once = JSON.stringify(signJoinRequest(secrets.joinKey, JOINER));
  await members.answerBody(once);
  expect(await reason(members.answerBody(once))).toBe('Unauthorized: this join request was answered before (a replay)');
  expect(joined).toHaveLength(1);
});

test('garbage is a 400 naming what is wrong', async () => {
  const members = endpoint();
  const valid = signJoinRequest(secrets.joinKey, JOINER);
  const cases: Array<[string, RegExp]> = [
    ['not json', /is not a JSON object/],
    ['[1,2]', /is not a JSON object/],
    ['null', /is not a JSON object/],
    [JSON.stringify({ ...valid, time: 'now' }), /time must be/],
    [JSON.stringify({ ...valid, nonce: 'x' }), /nonce must be/],
    [JSON.stringify({ ...valid, proof: 'A'.repeat(64) }), /proof must be/],
    [JSON.stringify({ ...valid, serverName: 'a"; routes: [evil]' }), /NATS server name/],
    [JSON.stringify({ ...valid, clusterAddress: 'evil:6222"\n' }), /clusterAddress must be HOST:PORT/],
    [JSON.stringify({ ...valid, clientAddress: '10.0.0.2:99999' }), /clientAddress must be HOST:PORT/],
    ['{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}', /time must be/],
  ];
  for (const [body, expected] of cases) expect(await reason(members.answerBody(body))).toMatch(new RegExp(`^BadRequest: .*${expected.source}`));
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('over HTTPS', () => {
  let dir: string;
  let url: string;
  let close: () => Promise<void>;
  const joined: JoinRequest[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-join-spec-'));
    const credentials = await ensureServingNames(dir, await loadOrCreateCredentials(dir), ['127.0.0.1']);
    const members = endpoint(joined);
    const server = createHttpsServer({ cert: credentials.serverCertPem, key: credentials.serverKeyPem }, (req, res) => {
      if (!members.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });

  afterAll(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('requestJoin gets the members; a wrong token is one Unauthorized line', async () => {
    expect(await requestJoin({ server: url, token: TOKEN, secrets, request: JOINER })).toEqual({
      routes: ['10.0.0.1:6222', '10.0.0.2:6222'],
      clientAddresses: ['10.0.0.1:4222', '10.0.0.2:4222'],
    });
    expect(await reason(requestJoin({ server: url, token: 'another-token', secrets: wrongSecrets, request: JOINER }))).toBe(`Unauthorized: the token does not match the cluster's at ${url}`);
    expect(await reason(requestJoin({ server: 'https://127.0.0.1:1', token: TOKEN, secrets, request: JOINER }))).toMatch(/^ServiceUnavailable: cannot reach/);
  });

  test('an oversized body is 413, another method 405, and the server keeps answering', async () => {
    const post = async (body: string, method = 'POST') => {
      const res = await fetchInsecure(`${url}${JOIN_PATH}`, method, body);
      return res.status;
    };
    expect(await post('x'.repeat(100_000))).toBe(413);
    expect(await post('', 'GET')).toBe(405);
    expect(await post('{')).toBe(400);
    expect(await requestJoin({ server: url, token: TOKEN, secrets, request: JOINER })).toMatchObject({ routes: expect.any(Array) });
  });
});

/** A request that does not check the certificate (as a joiner cannot), for status codes only. */
async function fetchInsecure(url: string, method: string, body: string): Promise<{ status: number }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { method, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : body);
  });
}
