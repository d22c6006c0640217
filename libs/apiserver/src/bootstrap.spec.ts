import 'reflect-metadata';
import { isBerthError } from '@berth/errors';
import { MemoryStore } from '@berth/store';
import * as x509 from '@peculiar/x509';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOTSTRAP_KEY, ensureClusterIdentity, openClusterIdentity, resolveServerToken, sealClusterIdentity, serverTokenPath, WRONG_TOKEN } from './bootstrap';
import { loadOrCreateCredentials, type ClusterIdentity } from './pki';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bootstrap-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const identity: ClusterIdentity = {
  caCertPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  caKeyPem: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
  adminToken: 'a'.repeat(64),
  nodeSecret: 'b'.repeat(32),
};

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

describe('sealed cluster identity', () => {
  it('opens with the token it was sealed with, and holds neither the token nor the secrets in clear', async () => {
    const sealed = await sealClusterIdentity(identity, 'the-token');
    expect(await openClusterIdentity(sealed, 'the-token')).toEqual(identity);
    const raw = Buffer.from(sealed, 'base64');
    expect(raw[0]).toBe(1);
    for (const clear of ['the-token', identity.adminToken, identity.nodeSecret, 'BEGIN']) expect(raw.includes(clear)).toBe(false);
    // A new salt and nonce each time.
    expect(await sealClusterIdentity(identity, 'the-token')).not.toBe(sealed);
  });

  it('refuses a wrong token with the one line', async () => {
    const err = await refusal(openClusterIdentity(await sealClusterIdentity(identity, 'right'), 'wrong'));
    expect(isBerthError(err, 'Unauthorized')).toBe(true);
    expect(err.message).toBe(WRONG_TOKEN);
  });

  it.each([
    ['salt', 1],
    ['nonce', 1 + 16],
    ['tag', 1 + 16 + 12],
    ['ciphertext', 1 + 16 + 12 + 16 + 5],
  ])('refuses data whose %s was changed', async (_part, index) => {
    const raw = Buffer.from(await sealClusterIdentity(identity, 't'), 'base64');
    raw[index] ^= 0x01;
    const err = await refusal(openClusterIdentity(raw.toString('base64'), 't'));
    expect(err.message).toBe(WRONG_TOKEN);
  });

  it('refuses another version, a truncated blob and an oversized one, each in a line', async () => {
    const raw = Buffer.from(await sealClusterIdentity(identity, 't'), 'base64');
    const other = Buffer.from(raw);
    other[0] = 2;
    expect((await refusal(openClusterIdentity(other.toString('base64'), 't'))).message).toMatch(/version 2; this server reads version 1/);
    expect((await refusal(openClusterIdentity(raw.subarray(0, 20).toString('base64'), 't'))).message).toMatch(/too short/);
    expect((await refusal(openClusterIdentity('A'.repeat(70_000), 't'))).message).toMatch(/too large/);
  });
});

describe('resolveServerToken', () => {
  it('takes a given token, else the data dir\'s, else makes one; a token that opened the cluster is kept for the next start', async () => {
    const dir = tempDir();
    expect(resolveServerToken(dir, 'given-token')).toEqual({ token: 'given-token', generated: false });
    const made = resolveServerToken(dir);
    expect(made.generated).toBe(true);
    expect(existsSync(serverTokenPath(dir))).toBe(false);
    await ensureClusterIdentity(new MemoryStore(), dir, made);
    expect(resolveServerToken(dir)).toEqual({ token: made.token, generated: false });
    expect(() => resolveServerToken(dir, 'has space')).toThrow('--token must be');
  });
});

describe('ensureClusterIdentity', () => {
  const pkiOf = (dir: string) => ({
    ca: readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8'),
    admin: readFileSync(join(dir, 'pki', 'admin.token'), 'utf8'),
    node: readFileSync(join(dir, 'pki', 'node.secret'), 'utf8'),
    server: readFileSync(join(dir, 'pki', 'server.crt'), 'utf8'),
  });

  it('two servers starting at once on an empty store end with the winner\'s identity, each with its own serving certificate from that CA', async () => {
    const store = new MemoryStore();
    const [a, b] = [tempDir(), tempDir()];
    await Promise.all([a, b].map((dir) => ensureClusterIdentity(store, dir, { token: 'T', generated: false })));
    const stored = await openClusterIdentity((await store.get(BOOTSTRAP_KEY))!.value, 'T');
    const [pa, pb] = [pkiOf(a), pkiOf(b)];
    for (const p of [pa, pb]) {
      expect(p.ca).toBe(stored.caCertPem);
      expect(p.admin.trim()).toBe(stored.adminToken);
      expect(p.node.trim()).toBe(stored.nodeSecret);
      expect(await new x509.X509Certificate(p.server).verify({ publicKey: new x509.X509Certificate(p.ca).publicKey, signatureOnly: true })).toBe(true);
    }
    expect(pa.server).not.toBe(pb.server);
    // The data dirs' own credentials (join token included) come out the same on both.
    expect((await loadOrCreateCredentials(a)).joinToken).toBe((await loadOrCreateCredentials(b)).joinToken);
    await store.close();
  });

  it('refuses a wrong token with the line, and a token made on this start with a word on --token (not keeping it)', async () => {
    const store = new MemoryStore();
    await ensureClusterIdentity(store, tempDir(), { token: 'T', generated: false });
    const wrong = tempDir();
    expect((await refusal(ensureClusterIdentity(store, wrong, { token: 'U', generated: false }))).message).toBe(WRONG_TOKEN);
    expect(existsSync(join(wrong, 'pki', 'ca.crt'))).toBe(false);
    expect(existsSync(serverTokenPath(wrong))).toBe(false);
    const fresh = tempDir();
    const made = resolveServerToken(fresh);
    expect((await refusal(ensureClusterIdentity(store, fresh, made))).message).toMatch(/^the token does not open this cluster's bootstrap data: this store already holds a cluster; give its token with --token$/);
    expect(existsSync(serverTokenPath(fresh))).toBe(false);
    await store.close();
  });
});
