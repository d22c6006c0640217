import { isBerthError } from '@berth/errors';
import { Ipv4Cidr } from './cidr';

describe('Ipv4Cidr', () => {
  test('parses a block, normalised to its network address', () => {
    const cidr = Ipv4Cidr.parse('10.96.3.7/16');
    expect(cidr.toString()).toBe('10.96.0.0/16');
    expect(cidr.size).toBe(65536);
    expect(cidr.usableOffsets).toEqual({ first: 1, last: 65534 });
    expect(cidr.addressAt(1)).toBe('10.96.0.1');
    expect(cidr.addressAt(65534)).toBe('10.96.255.254');
    expect(Ipv4Cidr.parse('255.255.255.252/30').addressAt(3)).toBe('255.255.255.255');
  });

  test('offsets of addresses inside and outside', () => {
    const cidr = Ipv4Cidr.parse('192.168.4.0/22');
    expect(cidr.offsetOf('192.168.4.0')).toBe(0);
    expect(cidr.offsetOf('192.168.5.1')).toBe(257);
    expect(cidr.offsetOf('192.168.7.255')).toBe(1023);
    expect(cidr.offsetOf('192.168.8.0')).toBeUndefined();
    expect(cidr.offsetOf('192.168.3.255')).toBeUndefined();
    expect(cidr.offsetOf('not-an-ip')).toBeUndefined();
    expect(() => cidr.addressAt(1024)).toThrow(RangeError);
  });

  test('a /31 and a /32 have no network or broadcast address to skip', () => {
    expect(Ipv4Cidr.parse('10.0.0.0/31').usableOffsets).toEqual({ first: 0, last: 1 });
    expect(Ipv4Cidr.parse('10.0.0.9/32').usableOffsets).toEqual({ first: 0, last: 0 });
  });

  test('divides into node subnets and finds a subnet by its text', () => {
    const cluster = Ipv4Cidr.parse('10.88.0.0/16');
    expect(cluster.subnetCount(24)).toBe(256);
    expect(cluster.subnetAt(24, 0).toString()).toBe('10.88.0.0/24');
    expect(cluster.subnetAt(24, 255).toString()).toBe('10.88.255.0/24');
    expect(cluster.overlappedSubnets(24, '10.88.7.0/24')).toEqual([7]);
    expect(cluster.overlappedSubnets(24, '10.88.7.128/25')).toEqual([7]);
    expect(cluster.overlappedSubnets(24, '10.88.4.0/22')).toEqual([4, 5, 6, 7]);
    expect(cluster.overlappedSubnets(24, '10.0.0.0/8')).toHaveLength(256);
    expect(cluster.overlappedSubnets(24, '10.89.0.0/24')).toEqual([]);
    expect(cluster.overlappedSubnets(24, 'garbage')).toEqual([]);
    expect(Ipv4Cidr.parse('10.0.0.0/20').subnetAt(26, 3).toString()).toBe('10.0.0.192/26');
    expect(() => cluster.subnetAt(24, 256)).toThrow(RangeError);
    expect(() => cluster.subnetCount(8)).toThrow(/mask size/);
  });

  test('refuses IPv6 with a clear error, and malformed blocks', () => {
    for (const [text, message] of [
      ['fd00::/108', /IPv6 ranges are not supported/],
      ['10.0.0.0', /not a valid IPv4 CIDR/],
      ['10.0.0.0/33', /not a valid IPv4 CIDR/],
      ['10.0.0/8', /not a valid IPv4 CIDR/],
      ['10.0.0.0/8/1', /not a valid IPv4 CIDR/],
    ] as const) {
      let thrown: unknown;
      try {
        Ipv4Cidr.parse(text, 'service CIDR');
      } catch (err) {
        thrown = err;
      }
      expect(isBerthError(thrown, 'BadRequest')).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });
});
