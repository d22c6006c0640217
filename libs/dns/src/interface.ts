import { mustRun } from '@berth/host';

export const DEFAULT_DNS_INTERFACE = 'berth-dns';

const ip = (args: string[]): Promise<string> => mustRun('ip', args);

async function linkExists(name: string): Promise<boolean> {
  return ip(['link', 'show', 'dev', name]).then(
    () => true,
    () => false,
  );
}

/**
 * Makes `name` an up interface holding address/32 in the current network namespace, creating it if
 * missing: a dummy interface, or a port-less bridge on kernels built without the dummy driver (both
 * just hold a local address).
 */
export async function ensureDnsInterface(name: string, address: string): Promise<void> {
  if (!(await linkExists(name))) {
    try {
      await ip(['link', 'add', name, 'type', 'dummy']);
    } catch (err) {
      if (!/Unknown device type|not supported/i.test((err as Error).message)) throw err;
      await ip(['link', 'add', name, 'type', 'bridge']);
    }
  }
  await ip(['link', 'set', name, 'up']);
  const present = await ip(['-4', '-o', 'addr', 'show', 'dev', name]);
  if (!present.includes(` ${address}/`)) await ip(['addr', 'add', `${address}/32`, 'dev', name]);
}

/** Removes the node DNS interface (and so its address) from the current network namespace; gone already is fine. */
export async function removeNodeDnsInterface(name: string = DEFAULT_DNS_INTERFACE): Promise<void> {
  if (await linkExists(name)) await ip(['link', 'del', name]);
}
