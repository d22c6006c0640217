// @peculiar/x509 needs the Reflect metadata API loaded before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
type Keys = webcrypto.CryptoKeyPair;

export interface IssueOptions {
  subject: string | x509.JsonName;
  /** The key to certify (a CSR's); a new P-256 key, returned as `key`, when omitted. */
  publicKey?: x509.PublicKeyType;
  /** Valid from a minute ago for this many days; default 30. */
  validDays?: number;
  /** Subject alternative names: IP addresses a server certificate is for. */
  ips?: string[];
}

export interface IssuedCertificate {
  /** PEM. */
  cert: string;
  /** PKCS #8 PEM, when the key was made here. */
  key?: string;
  /** Hex in capitals, as Node's getPeerCertificate() prints it. */
  serialNumber: string;
}

/** A certificate authority of its own for a test's TLS servers and clients. */
export interface TestCA {
  /** PEM. */
  cert: string;
  issue(options: IssueOptions): Promise<IssuedCertificate>;
}

async function newKeys(): Promise<Keys> {
  return (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as Keys;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Positive and distinct, so that tests can tell certificates apart by serial. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

export async function createTestCA(): Promise<TestCA> {
  const caKeys = await newKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=test-ca',
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 3650 * DAY_MS),
    keys: caKeys as never,
    signingAlgorithm: ECDSA,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return {
    cert: caCert.toString('pem'),
    async issue({ subject, publicKey, validDays = 30, ips = [] }) {
      const keys = publicKey ? undefined : await newKeys();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject,
        issuer: caCert.subject,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + validDays * DAY_MS),
        publicKey: publicKey ?? (keys!.publicKey as never),
        signingKey: caKeys.privateKey as never,
        signingAlgorithm: ECDSA,
        extensions: ips.length ? [new x509.SubjectAlternativeNameExtension(ips.map((value) => ({ type: 'ip', value })))] : [],
      });
      return { cert: cert.toString('pem'), key: keys && (await keyPem(keys.privateKey)), serialNumber: cert.serialNumber.toUpperCase() };
    },
  };
}
