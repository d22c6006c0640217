import { errors, field } from '@berth/errors';

/** A pod CIDR as UpdateRuntimeConfig takes it: canonical text, first address as a number, and size. */
export interface PodCidr {
  cidr: string;
  network: number;
  size: number;
}

/**
 * Checks a node's pod CIDR the way runtimed accepts it (and the fake runtime, which must answer alike):
 * an IPv4 network address (no host bits set) with a prefix length from 8 to 30.
 */
export function parsePodCidr(value: string): PodCidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value ?? '');
  const octets = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  const size = 2 ** (32 - prefix);
  const network = octets.reduce((acc, o) => acc * 256 + o, 0);
  if (!m || octets.some((o) => o > 255) || prefix < 8 || prefix > 30 || network % size !== 0) {
    throw errors.invalid('runtimeconfig', 'podCidr', [field.invalid('podCidr', value, 'must be an IPv4 network address with a prefix length from 8 to 30, such as 10.88.3.0/24')]);
  }
  return { cidr: `${octets.join('.')}/${prefix}`, network, size };
}
