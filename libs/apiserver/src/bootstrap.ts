import { errors, isBerthError, parseJsonObject } from '@berth/errors';
import { writeFileAtomicSync } from '@berth/host';
import type { Store } from '@berth/store';
import { createCipheriv, createDecipheriv, randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installClusterIdentity, loadOrCreateCredentials, type ClusterIdentity } from './pki';

/**
 * The cluster's bootstrap data in a shared store, as k3s keeps its own in its datastore: the CA (with its
 * key), the admin token and the node secret that servers on one store share. The first server writes it
 * (create-if-absent: of two servers starting at once on an empty store, one wins and the other reads the
 * winner's), every later one reads it. It is sealed with a key derived from the server token, which never
 * enters the store:
 *
 *   base64( version (1 byte) | salt (16) | nonce (12) | GCM tag (16) | AES-256-GCM ciphertext )
 *
 * The key is scrypt(token, salt) (N=2^15, r=8, p=1), the version byte is authenticated with the data
 * (additional data), so a changed byte anywhere, a wrong token and a foreign blob are all refused alike.
 */
export const BOOTSTRAP_KEY = '/bootstrap/cluster';

const VERSION = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + SALT_BYTES + NONCE_BYTES + TAG_BYTES;
const SCRYPT: ScryptOptions = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
/** A sealed identity is a few KiB; anything much larger in that key is not one. */
const MAX_SEALED_CHARS = 64 * 1024;
const MAX_PEM_CHARS = 16 * 1024;
const SECRET = /^[\x21-\x7e]{16,256}$/;
const TOKEN = /^[\x21-\x7e]{1,1024}$/;

export const WRONG_TOKEN = "the token does not open this cluster's bootstrap data";

function deriveKey(token: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(token, salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))));
}

/** What a sealed blob is for, authenticated with it: a blob sealed for one purpose never opens as another. */
function additionalData(version: number, purpose: string): Buffer {
  return Buffer.from([version, ...Buffer.from(purpose)]);
}

const BOOTSTRAP_PURPOSE = 'berth-bootstrap';

/**
 * `plain` sealed with a key derived from `token`, in BOOTSTRAP_KEY's format; `purpose` is authenticated
 * with it and must be given again to open it.
 */
export async function sealWithToken(plain: string, token: string, purpose: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(token, salt), nonce);
  cipher.setAAD(additionalData(VERSION, purpose));
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), salt, nonce, cipher.getAuthTag(), ciphertext]).toString('base64');
}

/**
 * Opens what sealWithToken sealed for `purpose`. A wrong token or changed data: Unauthorized with
 * `wrongToken`; data that is not a sealed blob at all (another version, too short or long): BadRequest
 * naming `what`.
 */
export async function openWithToken(sealed: string, token: string, purpose: string, what: string, wrongToken = WRONG_TOKEN): Promise<string> {
  if (sealed.length > MAX_SEALED_CHARS) throw errors.badRequest(`${what} is too large to be one`);
  const bytes = Buffer.from(sealed, 'base64');
  if (bytes.length <= HEADER_BYTES) throw errors.badRequest(`${what} is too short to be one`);
  if (bytes[0] !== VERSION) throw errors.badRequest(`${what} has version ${bytes[0]}; this server reads version ${VERSION}`);
  let offset = 1;
  const take = (n: number) => bytes.subarray(offset, (offset += n));
  const salt = take(SALT_BYTES);
  const nonce = take(NONCE_BYTES);
  const tag = take(TAG_BYTES);
  const ciphertext = bytes.subarray(offset);
  const decipher = createDecipheriv('aes-256-gcm', await deriveKey(token, salt), nonce);
  decipher.setAAD(additionalData(bytes[0], purpose));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw errors.unauthorized(wrongToken);
  }
}

/** The identity sealed with `token` (see BOOTSTRAP_KEY for the format). */
export async function sealClusterIdentity(identity: ClusterIdentity, token: string): Promise<string> {
  const { caCertPem, caKeyPem, adminToken, nodeSecret } = identity;
  return sealWithToken(JSON.stringify({ caCertPem, caKeyPem, adminToken, nodeSecret }), token, BOOTSTRAP_PURPOSE);
}

function pem(value: unknown, label: string): string {
  if (typeof value !== 'string' || value.length > MAX_PEM_CHARS || !value.startsWith(`-----BEGIN ${label}-----`)) {
    throw errors.badRequest(`the cluster's bootstrap data holds no valid ${label}`);
  }
  return value;
}

function secret(value: unknown, what: string): string {
  if (typeof value !== 'string' || !SECRET.test(value)) throw errors.badRequest(`the cluster's bootstrap data holds no valid ${what}`);
  return value;
}

/**
 * Opens what sealClusterIdentity sealed. A wrong token or changed data: Unauthorized with WRONG_TOKEN;
 * data that is not a sealed identity at all (another version, too short or long): BadRequest.
 */
export async function openClusterIdentity(sealed: string, token: string): Promise<ClusterIdentity> {
  const plain = await openWithToken(sealed, token, BOOTSTRAP_PURPOSE, "the cluster's bootstrap data in the store");
  // Authenticated, so written by a holder of the token; still read field by field, nothing else taken.
  const fields = parseJsonObject(plain, "the cluster's bootstrap data");
  return {
    caCertPem: pem(fields.caCertPem, 'CERTIFICATE'),
    caKeyPem: pem(fields.caKeyPem, 'PRIVATE KEY'),
    adminToken: secret(fields.adminToken, 'admin token'),
    nodeSecret: secret(fields.nodeSecret, 'node secret'),
  };
}

/** Where a server keeps the server token (`--token`) it was given or made, for its restarts. */
export function serverTokenPath(dataDir: string): string {
  return join(dataDir, 'server-token');
}

export interface ServerToken {
  token: string;
  /** Made by this start: no --token was given and the data dir had none. */
  generated: boolean;
}

/**
 * The server token: `given`, else the data dir's, else a new one. Nothing is written here:
 * ensureClusterIdentity keeps it in the data dir (0600) once it opened the cluster's data.
 */
export function resolveServerToken(dataDir: string, given?: string): ServerToken {
  const path = serverTokenPath(dataDir);
  if (given !== undefined) {
    if (!TOKEN.test(given)) throw errors.badRequest('--token must be 1 to 1024 printable characters without spaces');
    return { token: given, generated: false };
  }
  if (existsSync(path)) {
    const kept = readFileSync(path, 'utf8').trim();
    if (!TOKEN.test(kept)) throw errors.badRequest(`${path} holds no valid server token`);
    return { token: kept, generated: false };
  }
  return { token: randomBytes(32).toString('hex'), generated: true };
}

function keepServerToken(dataDir: string, token: string): void {
  const path = serverTokenPath(dataDir);
  if (existsSync(path) && readFileSync(path, 'utf8').trim() === token) return;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(path, `${token}\n`);
}

/**
 * Makes <dataDir>/pki hold the cluster identity of the store's servers: writes this server's (made now
 * if the data dir has none) when the store has none yet, else opens the store's with the token and
 * installs it; the token is kept in the data dir only then. A token made by this very start cannot open
 * a cluster that exists: that is refused with a word on --token.
 */
export async function ensureClusterIdentity(store: Pick<Store, 'get' | 'create'>, dataDir: string, serverToken: ServerToken): Promise<void> {
  let stored = await store.get(BOOTSTRAP_KEY);
  if (!stored) {
    const { caCertPem, caKeyPem, adminToken, nodeSecret } = await loadOrCreateCredentials(dataDir);
    try {
      await store.create(BOOTSTRAP_KEY, await sealClusterIdentity({ caCertPem, caKeyPem, adminToken, nodeSecret }, serverToken.token));
      keepServerToken(dataDir, serverToken.token);
      return;
    } catch (err) {
      if (!isBerthError(err, 'AlreadyExists')) throw err;
      // Another server wrote it first: its identity is the cluster's.
      stored = await store.get(BOOTSTRAP_KEY);
      if (!stored) throw errors.unavailable("the cluster's bootstrap data was deleted while this server read it");
    }
  }
  if (serverToken.generated) throw errors.unauthorized(`${WRONG_TOKEN}: this store already holds a cluster; give its token with --token`);
  await installClusterIdentity(dataDir, await openClusterIdentity(stored.value, serverToken.token));
  keepServerToken(dataDir, serverToken.token);
}
