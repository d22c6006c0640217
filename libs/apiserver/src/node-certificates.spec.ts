import 'reflect-metadata';
import { MemoryStore } from '@berth/store';
import * as x509 from '@peculiar/x509';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, JOINING_HOST, nodeUser, type UserInfo } from './authn';
import { MAX_REQUEST_BYTES, NodeCertificates } from './node-certificates';
import { loadOrCreateCredentials, type Credentials } from './pki';

const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

type Name = ConstructorParameters<typeof x509.Name>[0];

async function request(subject: Name, algorithm: object = P256): Promise<{ pem: string; spki: Buffer }> {
  const keys = (await webcrypto.subtle.generateKey(algorithm as webcrypto.EcKeyGenParams, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject as string, keys: keys as never, signingAlgorithm: algorithm as never });
  return { pem: csr.toString('pem'), spki: Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)) };
}

const nodeSubject = (name: string): Name => [{ CN: [`system:node:${name}`] }, { O: ['system:nodes'] }];

describe('NodeCertificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-node-certs-'));
  let credentials: Credentials;
  let store: MemoryStore;
  let signer: NodeCertificates;

  beforeAll(async () => {
    credentials = await loadOrCreateCredentials(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    store = new MemoryStore();
    signer = new NodeCertificates(credentials, store);
  });
  afterEach(() => store.close());

  const sign = async (user: UserInfo, pem: string) => {
    try {
      return await signer.sign(user, Buffer.from(pem));
    } catch (err) {
      return `${(err as { reason: string }).reason}: ${(err as Error).message}`;
    }
  };
  const registerNode = (name: string) => store.create(`/registry/core/nodes/${name}`, JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }));

  it('signs the join token holder a client certificate for system:node:<name> on its own key, by the cluster CA, for a year', async () => {
    const { pem, spki } = await request(nodeSubject('worker-1'));
    const cert = new X509Certificate(await signer.sign(JOINING_HOST, Buffer.from(pem)));
    expect(cert.subject.split('\n').sort()).toEqual(['CN=system:node:worker-1', 'O=system:nodes']);
    expect(cert.checkIssued(new X509Certificate(credentials.caCertPem))).toBe(true);
    expect(cert.verify(new X509Certificate(credentials.caCertPem).publicKey)).toBe(true);
    expect(Buffer.from(cert.publicKey.export({ type: 'spki', format: 'der' })).equals(spki)).toBe(true);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.ca).toBe(false);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
  });

  it("refuses another host's key for a name while that Node exists; the same key, the node itself and the admin may", async () => {
    const first = await request(nodeSubject('a'));
    expect(await sign(JOINING_HOST, first.pem)).toContain('BEGIN CERTIFICATE');
    // Joining before the first host registered its Node: the name is still free (no Node to take over).
    const early = await request(nodeSubject('a'));
    expect(await sign(JOINING_HOST, early.pem)).toContain('BEGIN CERTIFICATE');
    await registerNode('a');
    const second = await request(nodeSubject('a'));
    expect(await sign(JOINING_HOST, second.pem)).toBe(
      'Forbidden: nodes "a" is forbidden: node "a" is registered by another host (with another key); delete the Node (kubectl delete node a) to give its name to a new host',
    );
    expect(await sign(JOINING_HOST, early.pem)).toContain('BEGIN CERTIFICATE');
    // A node renews itself with a new key; the admin may give a name to any key.
    expect(await sign(nodeUser('a'), second.pem)).toContain('BEGIN CERTIFICATE');
    expect(await sign(JOINING_HOST, early.pem)).toMatch(/^Forbidden: nodes "a" is forbidden: node "a" is registered by another host/);
    expect(await sign(ADMIN, early.pem)).toContain('BEGIN CERTIFICATE');
    // The Node deleted, its name goes to the next host that asks.
    await store.delete('/registry/core/nodes/a');
    expect(await sign(JOINING_HOST, first.pem)).toContain('BEGIN CERTIFICATE');
  });

  it('lets a node ask only for its own certificate, and no other user at all', async () => {
    const { pem } = await request(nodeSubject('b'));
    expect(await sign(nodeUser('a'), pem)).toBe('Forbidden: nodes "b" is forbidden: node "a" can only request a certificate for itself');
    expect(await sign({ name: 'someone', groups: ['system:authenticated'] }, pem)).toBe('Forbidden: nodes "b" is forbidden: User "someone" cannot request node certificates');
  });

  it('refuses requests that are not a node certificate request on a P-256 or P-384 key', async () => {
    const subjectError = 'BadRequest: the certificate signing request\'s subject must be exactly "CN=system:node:<node name>, O=system:nodes", with a node name that is a DNS subdomain';
    expect(await sign(JOINING_HOST, (await request([{ CN: ['system:admin'] }, { O: ['system:masters'] }])).pem)).toBe(subjectError);
    expect(await sign(JOINING_HOST, (await request([{ CN: ['system:node:a'] }, { O: ['system:masters'] }])).pem)).toBe(subjectError);
    expect(await sign(JOINING_HOST, (await request([{ CN: ['system:node:a'] }, { O: ['system:nodes', 'system:masters'] }])).pem)).toBe(subjectError);
    expect(await sign(JOINING_HOST, (await request([{ CN: ['system:node:a'] }])).pem)).toBe(subjectError);
    expect(await sign(JOINING_HOST, (await request(nodeSubject('Not_A_Name'))).pem)).toBe(subjectError);
    expect(await sign(JOINING_HOST, (await request(nodeSubject('../a'))).pem)).toBe(subjectError);
    expect(await sign(JOINING_HOST, (await request(nodeSubject('a'), { name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' })).pem)).toBe(
      "BadRequest: the certificate signing request's key must be ECDSA on P-256 or P-384",
    );
    const good = (await request(nodeSubject('a'))).pem;
    expect(await sign(JOINING_HOST, 'hello')).toBe('BadRequest: the body is not a PEM certificate signing request (PKCS #10)');
    expect(await sign(JOINING_HOST, '')).toBe('BadRequest: the body is not a PEM certificate signing request (PKCS #10)');
    expect(await sign(JOINING_HOST, credentials.caCertPem)).toBe('BadRequest: the body is not a PEM certificate signing request (PKCS #10)');
    // One bit of the signed part changed: the signature no longer holds.
    const der = Buffer.from(x509.PemConverter.decodeFirst(good));
    der[40] ^= 1;
    expect(await sign(JOINING_HOST, x509.PemConverter.encode(der, 'CERTIFICATE REQUEST'))).toMatch(/^BadRequest: /);
    expect(await sign(JOINING_HOST, 'x'.repeat(MAX_REQUEST_BYTES + 1))).toMatch(/^RequestEntityTooLarge: /);
    expect(await store.list('/registry/nodekeys/')).toMatchObject({ items: [] });
  });
});
