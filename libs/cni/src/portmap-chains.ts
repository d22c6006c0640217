import { runCommand } from '@berth/host';

/** The chains the portmap plugin shares among every container with port mappings (it removes only each container's own). */
const SHARED_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'];
const HOOKED_FROM = ['PREROUTING', 'OUTPUT', 'POSTROUTING'];

/** An `iptables -S` line's words, with its double-quoted ones (comments) whole. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

async function removeIdleFrom(tool: 'iptables' | 'ip6tables'): Promise<boolean> {
  const dnat = await runCommand(tool, ['-w', '-t', 'nat', '-S', 'CNI-HOSTPORT-DNAT']);
  // Missing, or some container's mappings still hang off it.
  if (dnat.code !== 0 || dnat.stdout.split('\n').some((line) => line.startsWith('-A '))) return false;
  for (const chain of HOOKED_FROM) {
    const listed = await runCommand(tool, ['-w', '-t', 'nat', '-S', chain]);
    for (const line of listed.stdout.split('\n').filter((l) => l.startsWith(`-A ${chain} `) && /-j CNI-HOSTPORT-/.test(l))) {
      await runCommand(tool, ['-w', '-t', 'nat', '-D', ...words(line).slice(1)]);
    }
  }
  for (const chain of SHARED_CHAINS) await runCommand(tool, ['-w', '-t', 'nat', '-F', chain]);
  for (const chain of SHARED_CHAINS) await runCommand(tool, ['-w', '-t', 'nat', '-X', chain]);
  return true;
}

/** A `nat` table that iptables-nft made and nothing uses any more: only empty chains, if any. */
async function removeEmptyNatTable(family: 'ip' | 'ip6'): Promise<void> {
  const listed = await runCommand('nft', ['list', 'table', family, 'nat']);
  if (listed.code !== 0) return;
  const rules = listed.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !/^(table |chain |type |policy |\})/.test(l));
  if (!rules.length) await runCommand('nft', ['delete', 'table', family, 'nat']);
}

/**
 * Removes the portmap plugin's shared chains (CNI-HOSTPORT-DNAT, -SETMARK, -MASQ and the jumps to them)
 * from the current network namespace once no container's port mapping is left in them, for IPv4 and
 * IPv6, and then the `nat` tables iptables made for them if nothing else has rules there: a node reset's
 * last word on port mappings, which portmap's own DEL never says. Answers the tools (`iptables`,
 * `ip6tables`) it removed chains with.
 */
export async function removeIdlePortmapChains(): Promise<string[]> {
  const removed: string[] = [];
  for (const tool of ['iptables', 'ip6tables'] as const) if (await removeIdleFrom(tool)) removed.push(tool);
  // portmap's IPv6 side may have made an empty table without chains.
  if (removed.length) for (const family of ['ip', 'ip6'] as const) await removeEmptyNatTable(family);
  return removed;
}
