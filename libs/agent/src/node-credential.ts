// @peculiar/x509 needs the Reflect metadata API loaded before it.
import 'reflect-metadata';
import {
  connectionFromFile,
  kubeconfigYaml,
  NODE_CERTIFICATE_PATH,
  NODE_USER_PREFIX,
  NODES_GROUP,
  PEM_MEDIA_TYPE,
  Transport,
  type ClusterConnection,
  type KubeClient,
} from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import { writeFileAtomicSync } from '@berth/host';
import * as x509 from '@peculiar/x509';
import { createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { reconnectDelayMs, type ReconnectPolicy } from './backoff';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
/** How long a joining host waits for the server to sign its certificate. */
const JOIN_TIMEOUT_MS = 10_000;
/** A certificate is renewed once this share of its life is gone (as the kubelet's, which picks 70–90 %). */
const RENEW_AT = 2 / 3;
/**
 * A running agent waits up to this share of the life more, picked at random for each certificate, so that
 * nodes joined together do not all renew at once: for a year's certificate, within 36 days after 2/3.
 */
const RENEW_JITTER = 0.1;
/** How often a running agent looks at its certificate's age: a long timer is no option (Node caps them at 24.8 days). */
const RENEWAL_CHECK_MS = 10 * 60_000;
/** The waits between failed renewals: doubling from 10 s to the check interval. */
const RENEWAL_RETRY: ReconnectPolicy = { initialMs: 10_000, maxMs: RENEWAL_CHECK_MS };

/** Where a node keeps its credential: a kubeconfig with its certificate and key, mode 0600, in a 0700 directory. */
export function nodeCredentialPath(dataDir: string): string {
  return join(dataDir, 'node', 'kubeconfig.yaml');
}

/** How to reach the API server: where, how to verify it, and (to join) the join token's secret as bearer token. */
export type JoinTarget = Pick<ClusterConnection, 'server' | 'servers' | 'ca' | 'insecureSkipTLSVerify' | 'tlsServerName' | 'token'>;

export interface NodeCredentialOptions {
  dataDir: string;
  nodeName: string;
  /**
   * The server to join, and with `token` the right to: needed when no usable credential is stored. With a
   * stored credential only its `server` is used (the address may change; the cluster and the key do not).
   */
  server?: JoinTarget;
  logger?: Logger;
  /** For tests: the clock that decides expiry and renewal. */
  now?: () => Date;
}

interface Validity {
  notBefore: number;
  notAfter: number;
}

interface Stored extends Validity {
  connection: ClusterConnection;
}

function validityOf(cert: X509Certificate): Validity {
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}

/** The subject's common name of a PEM certificate (node's X509Certificate prints the subject one field a line). */
function commonNameOf(cert: X509Certificate): string | undefined {
  return cert.subject.split('\n').find((line) => line.startsWith('CN='))?.slice(3);
}

/** The stored credential if it is this node's and not expired; otherwise what is wrong with it. */
function readStored(path: string, nodeName: string, now: Date): Stored | { problem: string } | undefined {
  if (!existsSync(path)) return undefined;
  let connection: ClusterConnection;
  let cert: X509Certificate;
  try {
    connection = connectionFromFile(path);
    if (!connection.clientCert || !connection.clientKey) return { problem: 'holds no client certificate and key' };
    cert = new X509Certificate(connection.clientCert);
  } catch (err) {
    return { problem: `is unreadable (${(err as Error).message})` };
  }
  const name = commonNameOf(cert);
  if (name !== `${NODE_USER_PREFIX}${nodeName}`) return { problem: `holds the credential of ${name ? `"${name}"` : 'another user'}, not of node "${nodeName}"` };
  const validity = validityOf(cert);
  if (validity.notAfter <= now.getTime()) return { problem: `holds a certificate that expired on ${new Date(validity.notAfter).toISOString()}` };
  return { connection, ...validity };
}

/** A new P-256 key (PKCS#8 PEM) and the request for `system:node:<nodeName>` signed with it. */
async function newKeyAndRequest(nodeName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [`${NODE_USER_PREFIX}${nodeName}`] }, { O: [NODES_GROUP] }],
    keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'],
    signingAlgorithm: ECDSA,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

/**
 * Sends the request to the server (authenticated as `connection` says: the join token, or the node's current
 * certificate) and checks that what comes back is a certificate for this node and this key.
 */
async function requestCertificate(connection: ClusterConnection, nodeName: string, keyPem: string, csrPem: string): Promise<string> {
  const transport = new Transport(connection, { requestTimeoutMs: JOIN_TIMEOUT_MS, userAgent: 'berth-agent' });
  let body: string;
  try {
    body = (await transport.request({ method: 'POST', path: NODE_CERTIFICATE_PATH, body: csrPem, contentType: PEM_MEDIA_TYPE, accept: PEM_MEDIA_TYPE })).body;
  } catch (err) {
    if (isBerthError(err, 'Unauthorized')) throw errors.unauthorized(`the server at ${connection.server} refused the token (401 Unauthorized)`);
    throw err;
  } finally {
    transport.close();
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(body);
  } catch {
    throw errors.internal(`the server at ${connection.server} did not answer the join request with a certificate`);
  }
  const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  const theirs = cert.publicKey.export({ type: 'spki', format: 'der' });
  if (commonNameOf(cert) !== `${NODE_USER_PREFIX}${nodeName}` || !ours.equals(theirs)) {
    throw errors.internal(`the server at ${connection.server} answered the join request with a certificate for someone else`);
  }
  return body;
}

function writeCredential(path: string, connection: ClusterConnection, nodeName: string): void {
  // The directory (and a data dir created here) is the node's alone.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  writeFileAtomicSync(path, kubeconfigYaml(connection, { cluster: 'berth', user: `${NODE_USER_PREFIX}${nodeName}` }));
}

/** A new key and certificate, asked for with the node's current credential and stored before they are handed back. */
async function renewCredential(path: string, connection: ClusterConnection, nodeName: string): Promise<ClusterConnection> {
  const { keyPem, csrPem } = await newKeyAndRequest(nodeName);
  const renewed = { ...connection, clientCert: await requestCertificate(connection, nodeName, keyPem, csrPem), clientKey: keyPem };
  writeCredential(path, renewed, nodeName);
  return renewed;
}

/**
 * The node's own credential, as the kubelet's TLS bootstrap gets it: the stored one when it is this node's and
 * current (renewed with itself once two thirds of its life are gone), else a new one. Joining makes a key here
 * (it never leaves the host), sends its certificate signing request with the join token, and stores key and
 * certificate in a kubeconfig (nodeCredentialPath, 0600); after that the join token is not needed.
 */
export async function ensureNodeCredential(options: NodeCredentialOptions): Promise<ClusterConnection> {
  const { nodeName, server, logger } = options;
  const path = nodeCredentialPath(options.dataDir);
  const now = options.now?.() ?? new Date();
  let stored = readStored(path, nodeName, now);
  // A CA given for the server that is not the one the credential trusts: the cluster was made anew.
  if (stored && !('problem' in stored) && server?.ca !== undefined && stored.connection.ca !== undefined && server.ca !== stored.connection.ca) {
    stored = { problem: "was issued by another cluster (its CA is not the server's)" };
  }
  if (stored && !('problem' in stored)) {
    const connection = server ? { ...stored.connection, server: server.server, ...(server.servers ? { servers: server.servers } : {}) } : stored.connection;
    if (now.getTime() < stored.notBefore + (stored.notAfter - stored.notBefore) * RENEW_AT) return connection;
    try {
      const renewed = await renewCredential(path, connection, nodeName);
      logger?.info({ path }, 'renewed the node certificate');
      return renewed;
    } catch (err) {
      // Still valid for a while: the node runs on it, and its NodeCredentialRenewer tries again.
      logger?.warn({ err, path, expires: new Date(stored.notAfter).toISOString() }, 'could not renew the node certificate');
      return connection;
    }
  }
  if (!server?.token) {
    const why = stored ? `${path} ${stored.problem}` : `no node credential at ${path}`;
    throw errors.badRequest(`${why}: a join token is needed to join (--token-file FILE, $BERTH_TOKEN or --token)`);
  }
  const { keyPem, csrPem } = await newKeyAndRequest(nodeName);
  const { token, ...target } = server;
  const clientCert = await requestCertificate({ ...target, token }, nodeName, keyPem, csrPem);
  const connection: ClusterConnection = { ...target, insecureSkipTLSVerify: !!target.insecureSkipTLSVerify, clientCert, clientKey: keyPem };
  writeCredential(path, connection, nodeName);
  logger?.info({ path, node: nodeName }, 'joined the cluster: stored the node credential');
  return connection;
}

export interface NodeCredentialRenewerOptions {
  dataDir: string;
  nodeName: string;
  /** The credential the agent runs with, as ensureNodeCredential handed it out. */
  connection: ClusterConnection;
  /** Takes each renewed credential once it is stored: the agent's client, and through it the node tunnel. */
  client: Pick<KubeClient, 'updateCredentials'>;
  logger?: Logger;
  /** For tests: the clock that decides when renewal is due. */
  now?: () => Date;
  /** For tests: how often the certificate's age is looked at (default 10 minutes), and the waits after failures. */
  checkEveryMs?: number;
  retry?: ReconnectPolicy;
  /** For tests: where in the jitter window each certificate's renewal falls, in [0, 1); Math.random by default. */
  random?: () => number;
}

/**
 * Renews the node's certificate while the agent runs, as the kubelet rotates its client certificate: a
 * timer looks at the certificate's age every few minutes, and once two thirds of its life (plus this
 * certificate's share of jitter) are gone, asks the server for a new one with the current one, stores it,
 * and only then hands it to the client. Until then the old certificate stays in use; it still has most of
 * a third of its life. A failed renewal is logged and tried again with back-off, never thrown.
 */
export class NodeCredentialRenewer {
  private readonly path: string;
  private connection!: ClusterConnection;
  private validity!: Validity;
  /** When the current certificate is to be renewed (ms since the epoch). */
  private dueAt = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<boolean> | undefined;
  private running = false;
  private stopped = false;

  constructor(private readonly options: NodeCredentialRenewerOptions) {
    this.path = nodeCredentialPath(options.dataDir);
    this.adopt(options.connection);
  }

  /** Starts the periodic checks; the first one comes after one interval (ensureNodeCredential has just looked). */
  start(): void {
    this.running = true;
    this.schedule();
  }

  /**
   * Renews the certificate now if it is due; resolves true when it did. Never rejects: a failure is logged
   * and, once started, tried again after a back-off. A check while one is in flight joins it.
   */
  check(): Promise<boolean> {
    this.inFlight ??= this.renewIfDue().finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
    return this.inFlight;
  }

  /** Cancels the next check and waits for a renewal in flight (bounded by the request's timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }

  private adopt(connection: ClusterConnection): void {
    if (!connection.clientCert) throw errors.badRequest('the node credential holds no client certificate to renew');
    this.connection = connection;
    this.validity = validityOf(new X509Certificate(connection.clientCert));
    const { notBefore, notAfter } = this.validity;
    this.dueAt = notBefore + (notAfter - notBefore) * (RENEW_AT + RENEW_JITTER * (this.options.random ?? Math.random)());
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.running || this.stopped) return;
    const checkEveryMs = this.options.checkEveryMs ?? RENEWAL_CHECK_MS;
    const wait = this.failures === 0 ? checkEveryMs : reconnectDelayMs(this.failures - 1, this.options.retry ?? RENEWAL_RETRY);
    this.timer = setTimeout(() => void this.check(), wait);
  }

  private async renewIfDue(): Promise<boolean> {
    const { nodeName, logger } = this.options;
    const now = (this.options.now?.() ?? new Date()).getTime();
    if (now < this.dueAt) return false;
    const expires = new Date(this.validity.notAfter).toISOString();
    try {
      const renewed = await renewCredential(this.path, this.connection, nodeName);
      this.failures = 0;
      // Stored: a start after a stop uses it. A stopped agent's client is closed, so it is not handed on.
      if (this.stopped) return true;
      this.adopt(renewed);
      this.options.client.updateCredentials(renewed);
      logger?.info({ path: this.path, expires: new Date(this.validity.notAfter).toISOString() }, 'renewed the node certificate');
      return true;
    } catch (err) {
      this.failures++;
      if (now >= this.validity.notAfter) {
        logger?.error({ err, path: this.path, expired: expires }, 'the node certificate has expired and could not be renewed: start the agent with a join token to join again');
      } else {
        logger?.warn({ err, path: this.path, expires, failures: this.failures }, 'could not renew the node certificate; trying again');
      }
      return false;
    }
  }
}
