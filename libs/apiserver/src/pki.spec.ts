import { caCertHash, parseJoinToken } from '@berth/client';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ensureServingNames, joinTokenPath, loadOrCreateCredentials } from './pki';

describe('loadOrCreateCredentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a join token (0600) that pins the CA and carries the node secret, the same on every start', async () => {
    const created = await loadOrCreateCredentials(dir);
    const written = readFileSync(joinTokenPath(dir), 'utf8').trim();
    expect(statSync(joinTokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(written).toBe(created.joinToken);
    expect(parseJoinToken(written)).toEqual({ caHash: caCertHash(created.caCertPem), user: 'node', secret: created.nodeSecret });
    expect(created.nodeSecret).not.toBe(created.adminToken);

    unlinkSync(joinTokenPath(dir));
    const again = await loadOrCreateCredentials(dir);
    expect(again).toEqual(created);
    expect(readFileSync(joinTokenPath(dir), 'utf8').trim()).toBe(created.joinToken);
  });
});

describe('ensureServingNames', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-signs the serving certificate on its key when it lacks an advertised address, keeping the names it had', async () => {
    const created = await loadOrCreateCredentials(dir);
    const before = new X509Certificate(created.serverCertPem);
    expect(before.checkIP('203.0.113.7')).toBeUndefined();

    const updated = await ensureServingNames(dir, created, ['203.0.113.7', 'not-an-address']);
    const after = new X509Certificate(updated.serverCertPem);
    expect(after.checkIP('203.0.113.7')).toBe('203.0.113.7');
    expect(after.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(after.checkHost('localhost')).toBe('localhost');
    expect(after.subjectAltName).toContain(before.subjectAltName!);
    expect(after.verify(new X509Certificate(created.caCertPem).publicKey)).toBe(true);
    expect(after.publicKey.export({ format: 'der', type: 'spki' })).toEqual(before.publicKey.export({ format: 'der', type: 'spki' }));
    // Written to the data dir: the next start finds it, and needs nothing new.
    const reloaded = await loadOrCreateCredentials(dir);
    expect(reloaded.serverCertPem).toBe(updated.serverCertPem);
    expect(await ensureServingNames(dir, reloaded, ['203.0.113.7'])).toBe(reloaded);
  });
});
