import { formatJoinToken } from '@berth/client';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export interface Credentials {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminToken: string;
  /** The secret joining nodes present as their bearer token (carried in the join token). */
  nodeSecret: string;
  /** `K10<sha256 of caCertPem>::node:<nodeSecret>`, written to <dataDir>/token. */
  joinToken: string;
}

/** Writes a file atomically (temp + rename) so a crash never leaves half a key behind. */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
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

interface GeneratedPki extends Omit<Credentials, 'nodeSecret' | 'joinToken'> {
  caKeyPem: string;
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
  const serverCert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: 'CN=berth-apiserver',
    issuer: caCert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(subjectAltNames()),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return {
    caCertPem: caCert.toString('pem'),
    serverCertPem: serverCert.toString('pem'),
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
    writeFileAtomic(path(FILES.caCert), created.caCertPem, 0o644);
    writeFileAtomic(path(FILES.caKey), created.caKeyPem);
    writeFileAtomic(path(FILES.serverCert), created.serverCertPem, 0o644);
    writeFileAtomic(path(FILES.serverKey), created.serverKeyPem);
    writeFileAtomic(path(FILES.token), created.adminToken);
  }
  // Data dirs from before join tokens get their node secret on the next start.
  if (!existsSync(path(FILES.nodeSecret))) writeFileAtomic(path(FILES.nodeSecret), randomBytes(16).toString('hex'));
  const caCertPem = readFileSync(path(FILES.caCert), 'utf8');
  const nodeSecret = readFileSync(path(FILES.nodeSecret), 'utf8').trim();
  const joinToken = formatJoinToken(caCertPem, nodeSecret);
  const tokenFile = joinTokenPath(dataDir);
  if (!existsSync(tokenFile) || readFileSync(tokenFile, 'utf8').trim() !== joinToken) writeFileAtomic(tokenFile, `${joinToken}\n`);
  return {
    caCertPem,
    serverCertPem: readFileSync(path(FILES.serverCert), 'utf8'),
    serverKeyPem: readFileSync(path(FILES.serverKey), 'utf8'),
    adminToken: readFileSync(path(FILES.token), 'utf8').trim(),
    nodeSecret,
    joinToken,
  };
}
