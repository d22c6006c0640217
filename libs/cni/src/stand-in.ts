import { mustRun } from '@berth/host';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `work` with a throwaway network namespace holding an `ifName` with `addresses`: what a
 * container's namespace looked like to the plugins. Used to DEL after the real namespace is gone,
 * since plugins such as bridge find the rules to remove from the interface's addresses.
 */
export async function withStandInNamespace<T>(ifName: string, addresses: string[], work: (netns: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cni-'));
  const netns = join(dir, 'net');
  try {
    await writeFile(netns, '');
    // unshare bind-mounts the new namespace on the file; the script fills it and exits.
    await mustRun('unshare', [
      `--net=${netns}`,
      '--',
      'sh',
      '-c',
      // A veth pair rather than a dummy: every kernel that runs the bridge plugin has veth.
      'ifname=$1; shift; ip link add "$ifname" type veth peer name stand-in-peer && for address; do ip addr add "$address" dev "$ifname" || exit; done',
      'stand-in',
      ifName,
      ...addresses,
    ]);
    return await work(netns);
  } finally {
    // Unmounting the last reference destroys the namespace and its dummy interface; unshare may have failed before mounting.
    await mustRun('umount', [netns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
