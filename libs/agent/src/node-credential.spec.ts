import 'reflect-metadata';
import { connectionFromFile, NODE_CERTIFICATE_PATH } from '@berth/client';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ensureNodeCredential, nodeCredentialPath } from './node-credential';

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;
type Keys = webcrypto.CryptoKeyPair;

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/**
 * A stand-in for the API server's join endpoint: its own CA, a server certificate for 127.0.0.1, and
 * certificates signed for whatever node a request names, valid for `validDays`. It records who asked.
 */
async function signingServer(validDays: () => number): Promise<{ url: string; ca: string; requests: string[]; close(): Promise<void> }> {
  const caKeys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as Keys;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test-ca',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys: caKeys as never,
    signingAlgorithm: ECDSA,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const issue = (subject: string | x509.JsonName, publicKey: x509.PublicKeyType, days: number, extensions: x509.Extension[] = []) =>
    x509.X509CertificateGenerator.create({
      subject,
      issuer: caCert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + days * DAY),
      publicKey,
      signingKey: caKeys.privateKey as never,
      signingAlgorithm: ECDSA,
      extensions,
    });
  const serverKeys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as Keys;
  const serverCert = await issue('CN=server', serverKeys.publicKey as never, 30, [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])]);
  const requests: string[] = [];
  const server: Server = createServer(
    { cert: serverCert.toString('pem'), key: await keyPem(serverKeys.privateKey), ca: caCert.toString('pem'), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const socket = req.socket as TLSSocket;
        const who = socket.authorized ? `cert ${String(socket.getPeerCertificate().subject.CN)}` : (req.headers.authorization ?? 'nobody');
        requests.push(`${req.method} ${req.url} ${who}`);
        if (req.url !== NODE_CERTIFICATE_PATH || who !== 'Bearer join-secret' && !who.startsWith('cert ')) {
          res.writeHead(401, { 'Content-Type': 'application/json' });
          return res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
        }
        const csr = new x509.Pkcs10CertificateRequest(Buffer.concat(chunks).toString());
        const cert = await issue(csr.subject, csr.publicKey, validDays());
        res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
        res.end(cert.toString('pem'));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: caCert.toString('pem'),
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
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
