import { podCidrOf } from './pod-cidr';

describe('podCidrOf', () => {
  it('takes an IPv4 network address from /8 to /30', () => {
    expect(podCidrOf('10.88.3.0/24')).toMatchObject({ network: 10 * 256 ** 3 + 88 * 256 ** 2 + 3 * 256, prefixLength: 24, size: 256 });
    expect(podCidrOf('10.0.0.0/8')?.toString()).toBe('10.0.0.0/8');
    expect(podCidrOf('10.88.3.4/30')?.toString()).toBe('10.88.3.4/30');
  });

  it.each(['', '10.88.3.1/24', '10.88.3.0/31', '10.0.0.0/7', '300.1.1.0/24', 'fd00::/64', '10.88.3.0', '010.088.0.0/16'])('refuses %j', (value) => {
    expect(podCidrOf(value)).toBeUndefined();
  });
});
