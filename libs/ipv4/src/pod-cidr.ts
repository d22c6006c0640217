import { Ipv4Cidr } from './cidr';

/** What a node's pod CIDR must be, for error messages. */
export const POD_CIDR_RULE = 'must be an IPv4 network address with a prefix length from 8 to 30, such as 10.88.3.0/24';

/**
 * The node's pod CIDR as runtimes and the CNI config take it, or undefined when `value` is not one: an
 * IPv4 network address (no host bits set, which host-local would refuse) with a prefix length from 8 to
 * 30 (room for the gateway and at least one pod).
 */
export function podCidrOf(value: string): Ipv4Cidr | undefined {
  const cidr = Ipv4Cidr.tryParse(value ?? '');
  if (!cidr || cidr.prefixLength < 8 || cidr.prefixLength > 30) return undefined;
  return cidr.offsetOf(value.trim().split('/')[0]!) === 0 ? cidr : undefined;
}
