import { isBerthError } from '@berth/errors';
import { parsePodCidr } from './pod-cidr';

describe('parsePodCidr', () => {
  it('answers the canonical CIDR, its first address and size', () => {
    expect(parsePodCidr('10.88.3.0/24')).toEqual({ cidr: '10.88.3.0/24', network: (10 * 256 ** 3) + (88 * 256 ** 2) + 3 * 256, size: 256 });
    expect(parsePodCidr('010.088.0.0/16').cidr).toBe('10.88.0.0/16');
  });

  it.each(['', '10.88.3.1/24', '10.88.3.0/31', '10.0.0.0/7', '300.1.1.0/24', 'fd00::/64', '10.88.3.0'])('refuses %j as Invalid on podCidr', (value) => {
    let thrown: unknown;
    try {
      parsePodCidr(value);
    } catch (err) {
      thrown = err;
    }
    expect(isBerthError(thrown, 'Invalid')).toBe(true);
    expect((thrown as Error).message).toContain('must be an IPv4 network address with a prefix length from 8 to 30');
  });
});
