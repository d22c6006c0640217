import 'reflect-metadata';
import { connectionFromFile, KubeClient, NODE_CERTIFICATE_PATH, type ClusterConnection } from '@berth/client';
import { createTestCA, waitFor } from '@berth/testing';
import * as x509 from '@peculiar/x509';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import pino from 'pino';
import { ensureNodeCredential, nodeCredentialPath, NodeCredentialRenewer, type NodeCredentialRenewerOptions } from './node-credential';

const DAY = 86_400_000;

/**
 * A stand-in for the API server's join endpoint: its own CA, a server certificate for 127.0.0.1, and
 * certificates signed for whatever node a request names, valid for `validDays`. It records who asked, and
 * the serial of every client certificate presented; `failNext` requests for a certificate get a 503 first.
 * Any other authenticated path answers 200 (the client's requests).
 */
async function signingServer(validDays: () => number) {
  const ca = await createTestCA();
  const tls = await ca.issue({ subject: 'CN=server', ips: ['127.0.0.1'] });
  const requests: string[] = [];
  const presented: string[] = [];
  const state = { failNext: 0 };
  const server: Server = createServer({ cert: tls.cert, key: tls.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const socket = req.socket as TLSSocket;
      const who = socket.authorized ? `cert ${String(socket.getPeerCertificate().subject.CN)}` : (req.headers.authorization ?? 'nobody');
      if (socket.authorized) presented.push(socket.getPeerCertificate().serialNumber);
      requests.push(`${req.method} ${req.url} ${who}`);
      const json = (code: number, body: object) => res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      if (who !== 'Bearer join-secret' && !who.startsWith('cert ')) {
        return json(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      }
      if (req.url !== NODE_CERTIFICATE_PATH) return json(200, { kind: 'APIVersions', versions: ['v1'] });
      if (state.failNext > 0) {
        state.failNext--;
        return json(503, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'try later', reason: 'ServiceUnavailable', code: 503 });
      }
      const csr = new x509.Pkcs10CertificateRequest(Buffer.concat(chunks).toString());
      const issued = await ca.issue({ subject: csr.subject, publicKey: csr.publicKey, validDays: validDays() });
      res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
      res.end(issued.cert);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: ca.cert,
    requests,
    presented,
    state,
    drop: () => server.closeAllConnections(),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('ensureNodeCredential', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof signingServer>>;
  let validDays = 365;

  beforeAll(async () => {
    server = await signingServer(() => validDays);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-node-credential-'));
    server.requests.length = 0;
    server.presented.length = 0;
    server.state.failNext = 0;
    validDays = 365;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const join_ = (nodeName: string, token?: string, now?: () => Date) =>
    ensureNodeCredential({ dataDir: dir, nodeName, server: { server: server.url, ca: server.ca, insecureSkipTLSVerify: false, token }, now });

  it('joins once with the token, keeps key and certificate in a 0600 kubeconfig, and uses it from then on', async () => {
    const joined = await join_('worker-1', 'join-secret');
    expect(server.requests).toEqual([`POST ${NODE_CERTIFICATE_PATH} Bearer join-secret`]);
    expect(joined).toMatchObject({ server: server.url, ca: server.ca });
    expect(joined.token).toBeUndefined();
    expect(new X509Certificate(joined.clientCert!).subject).toContain('CN=system:node:worker-1');
    const path = nodeCredentialPath(dir);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'node')).mode & 0o777).toBe(0o700);
    expect(readFileSync(path, 'utf8')).not.toContain('join-secret');
    expect(connectionFromFile(path)).toMatchObject({ server: server.url, ca: server.ca, clientCert: joined.clientCert, clientKey: joined.clientKey });
    // The next start: no token, no request, and the server's new address is taken.
    const again = await ensureNodeCredential({ dataDir: dir, nodeName: 'worker-1', server: { server: server.url.replace('127.0.0.1', 'localhost'), insecureSkipTLSVerify: false } });
    expect(again).toMatchObject({ server: server.url.replace('127.0.0.1', 'localhost'), clientCert: joined.clientCert, clientKey: joined.clientKey });
    expect(await ensureNodeCredential({ dataDir: dir, nodeName: 'worker-1' })).toMatchObject({ server: server.url, clientCert: joined.clientCert });
    expect(server.requests).toHaveLength(1);
  });

  it('says what is missing without a token, and joins anew when the stored credential is not this node\'s, expired or from another cluster', async () => {
    await expect(ensureNodeCredential({ dataDir: dir, nodeName: 'a' })).rejects.toThrow(
      `no node credential at ${nodeCredentialPath(dir)}: a join token is needed to join (--token-file FILE, $BERTH_TOKEN or --token)`,
    );
    const first = await join_('a', 'join-secret');
    await expect(join_('b')).rejects.toThrow(`${nodeCredentialPath(dir)} holds the credential of "system:node:a", not of node "b"`);
    const b = await join_('b', 'join-secret');
    expect(new X509Certificate(b.clientCert!).subject).toContain('CN=system:node:b');
    const later = () => new Date(Date.now() + 400 * DAY);
    await expect(join_('b', undefined, later)).rejects.toThrow(/holds a certificate that expired on .*: a join token is needed to join/);
    expect((await join_('b', 'join-secret', later)).clientKey).not.toBe(b.clientKey);
    const otherCa = ensureNodeCredential({ dataDir: dir, nodeName: 'b', server: { server: server.url, ca: first.ca!.replace('A', 'B'), insecureSkipTLSVerify: false } });
    await expect(otherCa).rejects.toThrow("was issued by another cluster (its CA is not the server's)");
    writeFileSync(nodeCredentialPath(dir), 'not: [a kubeconfig');
    await expect(join_('b')).rejects.toThrow(/is unreadable/);
    expect(server.requests.every((r) => r.endsWith('Bearer join-secret'))).toBe(true);
  });

  it('renews the certificate with itself once two thirds of its life are gone, with a new key', async () => {
    validDays = 30;
    const joined = await join_('renewing', 'join-secret');
    expect((await join_('renewing', undefined, () => new Date(Date.now() + 15 * DAY))).clientCert).toBe(joined.clientCert);
    const renewed = await join_('renewing', undefined, () => new Date(Date.now() + 25 * DAY));
    expect(renewed.clientCert).not.toBe(joined.clientCert);
    expect(renewed.clientKey).not.toBe(joined.clientKey);
    expect(server.requests).toEqual([`POST ${NODE_CERTIFICATE_PATH} Bearer join-secret`, `POST ${NODE_CERTIFICATE_PATH} cert system:node:renewing`]);
    expect(connectionFromFile(nodeCredentialPath(dir)).clientCert).toBe(renewed.clientCert);
  });

  it('keeps a refused join as one clear error, and stores nothing', async () => {
    await expect(join_('a', 'wrong')).rejects.toThrow(`the server at ${server.url} refused the token (401 Unauthorized)`);
    expect(() => statSync(nodeCredentialPath(dir))).toThrow(/ENOENT/);
  });
});

describe('NodeCredentialRenewer', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof signingServer>>;
  let client: KubeClient;
  let renewer: NodeCredentialRenewer | undefined;
  let joined: ClusterConnection;
  let validDays = 30;
  /** The injected clock, in ms since the epoch. */
  let clock: number;
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const serialOf = (pem: string | undefined) => new X509Certificate(pem!).serialNumber;
  /** The moment `share` of a certificate's life is gone. */
  const lifeGone = (pem: string | undefined, share: number) => {
    const cert = new X509Certificate(pem!);
    const notBefore = Date.parse(cert.validFrom);
    return notBefore + share * (Date.parse(cert.validTo) - notBefore);
  };
  const renewerWith = (options: Partial<NodeCredentialRenewerOptions> = {}) =>
    (renewer = new NodeCredentialRenewer({ dataDir: dir, nodeName: 'runner', connection: joined, client, logger, now: () => new Date(clock), random: () => 0, ...options }));

  beforeAll(async () => {
    server = await signingServer(() => validDays);
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-node-renewal-'));
    validDays = 30;
    joined = await ensureNodeCredential({ dataDir: dir, nodeName: 'runner', server: { server: server.url, ca: server.ca, insecureSkipTLSVerify: false, token: 'join-secret' } });
    client = new KubeClient(joined, { requestTimeoutMs: 10_000 });
    server.requests.length = 0;
    server.presented.length = 0;
    server.state.failNext = 0;
    logs.length = 0;
  });
  afterEach(async () => {
    await renewer?.stop();
    renewer = undefined;
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renews once two thirds of the life and its jitter are gone, not before, stores the new certificate and sends with it from then on', async () => {
    // Half of the 10 % jitter window: due at 0.7167 of the life.
    renewerWith({ random: () => 0.5 });
    await client.request({ method: 'GET', path: '/api' });
    clock = lifeGone(joined.clientCert, 0.7);
    expect(await renewer!.check()).toBe(false);
    expect(server.requests).toEqual(['GET /api cert system:node:runner']);

    clock = lifeGone(joined.clientCert, 0.72);
    validDays = 365;
    expect(await renewer!.check()).toBe(true);
    const stored = connectionFromFile(nodeCredentialPath(dir));
    expect(stored.clientCert).not.toBe(joined.clientCert);
    expect(stored.clientKey).not.toBe(joined.clientKey);
    expect(client.connection).toMatchObject({ server: server.url, clientCert: stored.clientCert, clientKey: stored.clientKey });
    await client.request({ method: 'GET', path: '/api' });
    expect(server.requests.slice(1)).toEqual([`POST ${NODE_CERTIFICATE_PATH} cert system:node:runner`, 'GET /api cert system:node:runner']);
    expect(server.presented).toEqual([serialOf(joined.clientCert), serialOf(joined.clientCert), serialOf(stored.clientCert)]);
    expect(logs.map((l) => l.msg)).toEqual(['renewed the node certificate']);

    // What is due now follows the new certificate, whose year has hardly begun.
    expect(await renewer!.check()).toBe(false);
    expect(server.requests).toHaveLength(3);
  });

  it('retries a failed renewal with back-off and keeps the old certificate until a new one is stored', async () => {
    server.state.failNext = 2;
    clock = lifeGone(joined.clientCert, 0.67);
    // Checks come an hour apart: only the retries' back-off can bring the renewal within this test.
    renewerWith({ checkEveryMs: 3_600_000, retry: { initialMs: 1, maxMs: 4 } }).start();
    expect(await renewer!.check()).toBe(false);
    expect(client.connection.clientCert).toBe(joined.clientCert);
    expect(connectionFromFile(nodeCredentialPath(dir)).clientCert).toBe(joined.clientCert);
    await waitFor(() => client.connection.clientCert !== joined.clientCert, 15_000, 'the renewal to be retried until it succeeds');
    expect(server.requests).toEqual(Array(3).fill(`POST ${NODE_CERTIFICATE_PATH} cert system:node:runner`));
    expect(connectionFromFile(nodeCredentialPath(dir)).clientCert).toBe(client.connection.clientCert);
    expect(logs.map((l) => l.msg)).toEqual([...Array(2).fill('could not renew the node certificate; trying again'), 'renewed the node certificate']);

    // Past the end of its life, a certificate that could not be renewed says what to do.
    server.state.failNext = 1;
    clock = lifeGone(client.connection.clientCert, 1.01);
    expect(await renewer!.check()).toBe(false);
    expect(logs.at(-1)).toMatchObject({ level: 50, msg: 'the node certificate has expired and could not be renewed: start the agent with a join token to join again' });
  });

  it('leaves no timer behind when stopped, and finishes a renewal in flight without handing it to the stopped client', async () => {
    // Only the timer functions are faked, so the count is the renewer's own timers while requests run as ever.
    jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate'] });
    try {
      clock = lifeGone(joined.clientCert, 0.5);
      renewerWith().start();
      expect(jest.getTimerCount()).toBe(1);
      await renewer!.stop();
      expect(jest.getTimerCount()).toBe(0);

      clock = lifeGone(joined.clientCert, 0.9);
      const updates: unknown[] = [];
      renewerWith({ client: { updateCredentials: (c) => void updates.push(c) } }).start();
      const renewing = renewer!.check();
      await renewer!.stop();
      expect(await renewing).toBe(true);
      expect(connectionFromFile(nodeCredentialPath(dir)).clientCert).not.toBe(joined.clientCert);
      expect(updates).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
