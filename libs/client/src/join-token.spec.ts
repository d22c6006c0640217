import { createHash } from 'node:crypto';
import { caCertHash, formatJoinToken, parseJoinToken } from './join-token';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('join tokens', () => {
  it('pins the CA by the sha256 of its PEM text and carries the node secret', () => {
    const token = formatJoinToken(PEM, 's3cret');
    const hash = createHash('sha256').update(PEM).digest('hex');
    expect(token).toBe(`K10${hash}::node:s3cret`);
    expect(parseJoinToken(token)).toEqual({ caHash: hash, user: 'node', secret: 's3cret' });
    expect(caCertHash(PEM)).toBe(hash);
    expect(caCertHash(PEM.trimEnd())).not.toBe(hash);
  });

  it('leaves bare tokens alone and refuses malformed join tokens', () => {
    expect(parseJoinToken('0123abcd')).toBeUndefined();
    expect(() => parseJoinToken('K10abc::node:x')).toThrow('not a valid join token');
    expect(() => parseJoinToken(`K10${'a'.repeat(64)}::node:`)).toThrow('not a valid join token');
  });
});
