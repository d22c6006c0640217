import { caCertHash, parseJoinToken } from '@berth/client';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinTokenPath, loadOrCreateCredentials } from './pki';

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
