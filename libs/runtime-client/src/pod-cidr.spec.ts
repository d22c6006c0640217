import { isBerthError } from '@berth/errors';
import { parsePodCidr } from './pod-cidr';

describe('parsePodCidr', () => {
  it('answers the block', () => {
    expect(parsePodCidr('10.88.3.0/24').toString()).toBe('10.88.3.0/24');
  });

  it.each(['', '10.88.3.1/24', '10.88.3.0/31', 'fd00::/64'])('refuses %j as Invalid on podCidr', (value) => {
    let thrown: unknown;
    try {
      parsePodCidr(value);
    } catch (err) {
      thrown = err;
    }
    expect(isBerthError(thrown, 'Invalid')).toBe(true);
    expect((thrown as Error).message).toContain('podCidr: Invalid value');
    expect((thrown as Error).message).toContain('must be an IPv4 network address with a prefix length from 8 to 30');
  });
});
