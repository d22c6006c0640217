import { errors } from '@berth/errors';
import { isIPv4, isIPv6 } from 'node:net';

const ADDRESS_BITS = 32;

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * An IPv4 CIDR block, for the address ranges the control plane hands out (Service ClusterIPs, node pod
 * CIDRs). Addresses are unsigned 32-bit numbers; an offset is an address's distance from the network.
 */
export class Ipv4Cidr {
  private constructor(
    /** The network address as a number. */
    readonly network: number,
    readonly prefixLength: number,
  ) {}

  /** Parses `a.b.c.d/n` (host bits are dropped: `10.0.0.7/24` is `10.0.0.0/24`); what names the value (a flag) goes into the error message. */
  static parse(text: string, what = 'CIDR'): Ipv4Cidr {
    const [address, prefix, ...rest] = text.trim().split('/');
    if (isIPv6(address) && rest.length === 0) throw errors.badRequest(`${what} ${text}: IPv6 ranges are not supported, give an IPv4 CIDR`);
    const length = Number(prefix);
    if (!isIPv4(address) || rest.length || !/^\d+$/.test(prefix ?? '') || length > ADDRESS_BITS) {
      throw errors.badRequest(`${what} ${JSON.stringify(text)} is not a valid IPv4 CIDR (a.b.c.d/n)`);
    }
    const size = 2 ** (ADDRESS_BITS - length);
    const network = ipv4ToNumber(address) - (ipv4ToNumber(address) % size);
    return new Ipv4Cidr(network, length);
  }

  /** The block, or undefined when `text` is not an IPv4 CIDR. */
  static tryParse(text: string): Ipv4Cidr | undefined {
    try {
      return Ipv4Cidr.parse(text);
    } catch {
      return undefined;
    }
  }

  /** How many addresses the block spans, network and broadcast included. */
  get size(): number {
    return 2 ** (ADDRESS_BITS - this.prefixLength);
  }

  toString(): string {
    return `${numberToIpv4(this.network)}/${this.prefixLength}`;
  }

  addressAt(offset: number): string {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) throw new RangeError(`offset ${offset} outside ${this.toString()}`);
    return numberToIpv4(this.network + offset);
  }

  /** The address's offset in the block, or undefined when it is not an IPv4 address inside it. */
  offsetOf(ip: string): number | undefined {
    if (!isIPv4(ip)) return undefined;
    const offset = ipv4ToNumber(ip) - this.network;
    return offset >= 0 && offset < this.size ? offset : undefined;
  }

  /** Offsets a host may use: all but the network and broadcast addresses (a /31 or /32 has no such pair). */
  get usableOffsets(): { first: number; last: number } {
    return this.prefixLength >= 31 ? { first: 0, last: this.size - 1 } : { first: 1, last: this.size - 2 };
  }

  /** How many /maskSize blocks the block divides into. */
  subnetCount(maskSize: number): number {
    this.checkMaskSize(maskSize);
    return 2 ** (maskSize - this.prefixLength);
  }

  /** The index-th /maskSize block of this one. */
  subnetAt(maskSize: number, index: number): Ipv4Cidr {
    const count = this.subnetCount(maskSize);
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`subnet ${index} outside ${count} /${maskSize} blocks of ${this.toString()}`);
    return new Ipv4Cidr(this.network + index * 2 ** (ADDRESS_BITS - maskSize), maskSize);
  }

  /**
   * The indexes of this block's /maskSize blocks that `cidr` overlaps (none when it is outside or not a
   * valid IPv4 CIDR): a node's pod CIDR of another size still takes every block it touches.
   */
  overlappedSubnets(maskSize: number, cidr: string): number[] {
    const other = Ipv4Cidr.tryParse(cidr);
    if (!other) return [];
    const blockSize = 2 ** (ADDRESS_BITS - maskSize);
    const start = Math.max(other.network, this.network);
    const end = Math.min(other.network + other.size, this.network + this.size) - 1;
    if (start > end) return [];
    const first = Math.floor((start - this.network) / blockSize);
    const last = Math.floor((end - this.network) / blockSize);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  }

  private checkMaskSize(maskSize: number): void {
    if (!Number.isInteger(maskSize) || maskSize < this.prefixLength || maskSize > ADDRESS_BITS) {
      throw errors.badRequest(`node CIDR mask size /${maskSize} must be between the cluster CIDR's /${this.prefixLength} and /${ADDRESS_BITS}`);
    }
  }
}
