import type { ResetResult } from '@berth/node-reset';
import type { Command } from 'commander';
import { exitWith } from '../runtime/action';

/** `berth node reset`: this host as a node. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description("this host's node: berth node reset stops it and removes what it put on the host");
  node
    .command('reset')
    .description(
      "stop this host's node and remove what it put on the host, as k3s's killall and uninstall scripts do: " +
        'its agent (or the berth server it belongs to), runtimed, containers and shims; their cgroups, mounts and writable layers; ' +
        'pod sandboxes (CNI attachments, namespaces) and CNI state; and, in the network namespace the node ran in, ' +
        "its nftables table, routes to other nodes' pods, its bridge and DNS interface. Prints what it removed, one line each. " +
        "Keeps images, named volumes and the server's cluster state; leaves sysctls as they are.",
    )
    .option('--data-dir <dir>', "the node's data dir (berth agent's and berth server's --data-dir)", '/var/lib/berth')
    .action(async (options: { dataDir: string }) => {
      if (process.getuid?.() !== 0) {
        process.stderr.write('berth node reset: must run as root: it stops processes and removes mounts, cgroups and interfaces\n');
        return exitWith(1);
      }
      // A reader that goes away (`berth node reset | head -3`) must not stop a reset halfway: the rest of
      // the report is dropped, the work is done.
      process.stdout.removeAllListeners('error');
      process.stdout.on('error', () => undefined);
      let result: ResetResult;
      try {
        // Loaded here, not at the CLI's start: it brings the agent (its x509 and asn1 cost ~170 ms).
        const { resetNode } = await import('@berth/node-reset');
        result = await resetNode({ dataDir: options.dataDir, report: (line) => process.stdout.write(`${line}\n`) });
      } catch (err) {
        process.stderr.write(`berth node reset: ${(err as Error).message}\n`);
        return exitWith(1);
      }
      for (const failure of result.failures) process.stderr.write(`berth node reset: not removed: ${failure}\n`);
      if (!result.removed && !result.failures.length) process.stdout.write(`nothing to remove for the node in ${options.dataDir}\n`);
      if (result.failures.length) await exitWith(1);
    });
}
