// @peculiar/x509 needs the Reflect metadata API loaded before it.
import 'reflect-metadata';
import { formatJoinToken, NODE_USER_PREFIX, NODES_GROUP } from '@berth/client';
import { writeFileAtomicSync } from '@berth/host';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export interface Credentials {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Signs the nodes' client certificates. */
  caKeyPem: string;
  adminToken: string;
  /** The secret joining hosts present as their bearer token (carried in the join token): it only lets them join. */
  nodeSecret: string;
  /** `K10<sha256 of caCertPem>::node:<nodeSecret>`, written to <dataDir>/token. */
  joinToken: string;
}

/** The names a client may use to reach this host: loopback, the hostname and every interface address. */
function subjectAltNames(): x509.JsonGeneralName[] {
  const names: x509.JsonGeneralName[] = [
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
    { type: 'dns', value: 'localhost' },
  ];
  const host = hostname();
  if (host && host !== 'localhost') names.push({ type: 'dns', value: host });
  for (const addrs of Object.values(networkInterfaces())) {
    for (const addr of addrs ?? []) {
      if (addr.internal || addr.address.startsWith('fe80')) continue;
      names.push({ type: 'ip', value: addr.address });
    }
  }
  return names;
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function serialNumber(): string {
  // Positive (high bit clear) 16-byte serial, as RFC 5280 asks.
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}

type GeneratedPki = Omit<Credentials, 'nodeSecret' | 'joinToken'>;

/** The API server's (and the registry's) serving certificate for `names`, on `publicKey`, signed by the cluster CA; PEM. */
async function signServerCertificate(
  caCert: x509.X509Certificate,
  caKey: webcrypto.CryptoKey,
  publicKey: webcrypto.CryptoKey | x509.PublicKey,
  names: x509.JsonGeneralName[],
): Promise<string> {
  const serverCert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: 'CN=berth-apiserver',
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + TEN_YEARS_MS),
    signingAlgorithm: ECDSA,
    publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return serverCert.toString('pem');
}

const sameName = (a: x509.JsonGeneralName, b: x509.JsonGeneralName) => a.type === b.type && a.value.toLowerCase() === b.value.toLowerCase();

/**
 * Makes the serving certificate name `addresses` (the advertised address: clients of the API and of the
 * registry check it) besides loopback, `localhost` and the host name: a data dir whose certificate was made
 * on another address (the host's address changed, `--bind-address` names a new one) gets a new certificate
 * on the same key, signed by the cluster CA, naming what the old one did and what is missing.
 */
export async function ensureServingNames(dataDir: string, credentials: Credentials, addresses: string[]): Promise<Credentials> {
  const current = new x509.X509Certificate(credentials.serverCertPem);
  const named = current.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  const wanted: x509.JsonGeneralName[] = [
    ...subjectAltNames().filter((name) => name.type === 'dns' || name.value === '127.0.0.1'),
    ...addresses.filter((address) => isIP(address)).map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
  const missing = wanted.filter((name) => !named.some((had) => sameName(had, name)));
  if (missing.length === 0) return credentials;
  const caCert = new x509.X509Certificate(credentials.caCertPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(credentials.caKeyPem), ECDSA, false, ['sign']);
  const serverCertPem = await signServerCertificate(caCert, caKey, current.publicKey, [...named, ...missing]);
  writeFileAtomicSync(join(dataDir, 'pki', FILES.serverCert), serverCertPem, 0o644);
  return { ...credentials, serverCertPem };
}

async function generate(): Promise<GeneratedPki> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + TEN_YEARS_MS);
  const caKeys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=berth-ca',
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serverCert = await signServerCertificate(caCert, caKeys.privateKey, serverKeys.publicKey, subjectAltNames());
  return {
    caCertPem: caCert.toString('pem'),
    serverCertPem: serverCert,
    serverKeyPem: await exportKeyPem(serverKeys.privateKey),
    adminToken: randomBytes(32).toString('hex'),
    caKeyPem: await exportKeyPem(caKeys.privateKey),
  };
}

const FILES = { caCert: 'ca.crt', caKey: 'ca.key', serverCert: 'server.crt', serverKey: 'server.key', token: 'admin.token', nodeSecret: 'node.secret' };

/** Where `berth server` writes the join token for other hosts (`berth agent --token $(cat FILE)`). */
export function joinTokenPath(dataDir: string): string {
  return join(dataDir, 'token');
}

/**
 * Loads the cluster CA, the server certificate, the admin token and the node secret from <dataDir>/pki,
 * creating them on first start, and writes the join token to <dataDir>/token. The admin token file is
 * written last, so its presence means the certificate set is complete.
 */
export async function loadOrCreateCredentials(dataDir: string): Promise<Credentials> {
  const dir = join(dataDir, 'pki');
  const path = (name: string) => join(dir, name);
  if (!existsSync(path(FILES.token))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const created = await generate();
    writeFileAtomicSync(path(FILES.caCert), created.caCertPem, 0o644);
    writeFileAtomicSync(path(FILES.caKey), created.caKeyPem);
    writeFileAtomicSync(path(FILES.serverCert), created.serverCertPem, 0o644);
    writeFileAtomicSync(path(FILES.serverKey), created.serverKeyPem);
    writeFileAtomicSync(path(FILES.token), created.adminToken);
  }
  // Data dirs from before join tokens get their node secret on the next start.
  if (!existsSync(path(FILES.nodeSecret))) writeFileAtomicSync(path(FILES.nodeSecret), randomBytes(16).toString('hex'));
  const caCertPem = readFileSync(path(FILES.caCert), 'utf8');
  const nodeSecret = readFileSync(path(FILES.nodeSecret), 'utf8').trim();
  const joinToken = formatJoinToken(caCertPem, nodeSecret);
  const tokenFile = joinTokenPath(dataDir);
  if (!existsSync(tokenFile) || readFileSync(tokenFile, 'utf8').trim() !== joinToken) writeFileAtomicSync(tokenFile, `${joinToken}\n`);
  return {
    caCertPem,
    serverCertPem: readFileSync(path(FILES.serverCert), 'utf8'),
    serverKeyPem: readFileSync(path(FILES.serverKey), 'utf8'),
    caKeyPem: readFileSync(path(FILES.caKey), 'utf8'),
    adminToken: readFileSync(path(FILES.token), 'utf8').trim(),
    nodeSecret,
    joinToken,
  };
}

/** What every server of one cluster shares (the rest of Credentials each server makes or derives itself). */
export type ClusterIdentity = Pick<Credentials, 'caCertPem' | 'caKeyPem' | 'adminToken' | 'nodeSecret'>;

/**
 * Makes <dataDir>/pki hold `identity` (another server's CA, admin token and node secret): when its own
 * differ, they are replaced, with a serving certificate of this host's names on a new key signed by the
 * shared CA. The admin token is written last, as on first start, so a crash midway is redone on the next.
 */
export async function installClusterIdentity(dataDir: string, identity: ClusterIdentity): Promise<void> {
  const dir = join(dataDir, 'pki');
  const path = (name: string) => join(dir, name);
  const has = (name: string, value: string) => existsSync(path(name)) && readFileSync(path(name), 'utf8').trim() === value.trim();
  if (has(FILES.caCert, identity.caCertPem) && has(FILES.caKey, identity.caKeyPem) && has(FILES.nodeSecret, identity.nodeSecret) && has(FILES.token, identity.adminToken)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCert = new x509.X509Certificate(identity.caCertPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(identity.caKeyPem), ECDSA, false, ['sign']);
  const serverKeys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serverCertPem = await signServerCertificate(caCert, caKey, serverKeys.publicKey, subjectAltNames());
  writeFileAtomicSync(path(FILES.caCert), identity.caCertPem, 0o644);
  writeFileAtomicSync(path(FILES.caKey), identity.caKeyPem);
  writeFileAtomicSync(path(FILES.serverCert), serverCertPem, 0o644);
  writeFileAtomicSync(path(FILES.serverKey), await exportKeyPem(serverKeys.privateKey));
  writeFileAtomicSync(path(FILES.nodeSecret), identity.nodeSecret);
  writeFileAtomicSync(path(FILES.token), identity.adminToken);
}

/** How long a node's client certificate is valid (Kubernetes' --cluster-signing-duration default); nodes renew it. */
export const NODE_CERTIFICATE_VALIDITY_MS = 365 * 24 * 3600 * 1000;

/**
 * A client certificate for `system:node:<nodeName>` (group system:nodes) on `publicKey`, signed by the cluster
 * CA: usable for client authentication only. Nothing else of the request it answers is copied into it.
 */
export async function signNodeCertificate(
  ca: Pick<Credentials, 'caCertPem' | 'caKeyPem'>,
  nodeName: string,
  publicKey: x509.PublicKey,
  now = new Date(),
): Promise<string> {
  const caCert = new x509.X509Certificate(ca.caCertPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.caKeyPem), ECDSA, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [`${NODE_USER_PREFIX}${nodeName}`] }, { O: [NODES_GROUP] }],
    issuer: caCert.subject,
    // A minute back, as the CA's own: clocks of hosts are never quite together.
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + NODE_CERTIFICATE_VALIDITY_MS),
    signingAlgorithm: ECDSA,
    publicKey,
    signingKey: caKey as unknown as x509.X509CertificateCreateWithKeyParams['signingKey'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return cert.toString('pem');
}
