import { networkInterfaces } from 'node:os';

/**
 * The first non-internal IPv4 address of the host, loopback when it has none: what a node reports as its
 * InternalIP and what a server listening on every address advertises to other hosts.
 */
export function primaryIPv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
