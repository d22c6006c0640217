import { errors, field } from '@berth/errors';
import { type Ipv4Cidr, podCidrOf, POD_CIDR_RULE } from '@berth/ipv4';

/** Checks a node's pod CIDR as UpdateRuntimeConfig takes it (runtimed and the fake runtime, which must answer alike). */
export function parsePodCidr(value: string): Ipv4Cidr {
  const cidr = podCidrOf(value);
  if (!cidr) throw errors.invalid('runtimeconfig', 'podCidr', [field.invalid('podCidr', value, POD_CIDR_RULE)]);
  return cidr;
}
