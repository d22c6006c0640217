import type { RuntimeClient } from '@berth/runtime-client';
import { Command } from 'commander';
import { collect, forEachTarget, labelMap, runtimeAction, SOCKET_OPTION } from './action';
import { table } from './format';

/** docker's `volume create|ls|inspect|rm` on this node's named volumes. */
export function registerVolumeCommands(program: Command): void {
  const volume = program.command('volume').description('manage named volumes on this node').option(...SOCKET_OPTION);
  volume
    .command('create')
    .description('create a volume (a random name when none is given)')
    .argument('[name]')
    .option('-l, --label <key=value>', 'label; repeatable', collect, [])
    .action(
      runtimeAction(async (client, name: string | undefined, options: { label: string[] }) => {
        process.stdout.write(`${(await client.createVolume(name ?? '', labelMap(options.label))).name}\n`);
      }),
    );
  volume
    .command('ls')
    .alias('list')
    .description('list volumes')
    .option('-q, --quiet', 'only names')
    .action(
      runtimeAction(async (client, options: { quiet?: boolean }) => {
        const volumes = await client.listVolumes();
        if (options.quiet) process.stdout.write(volumes.map((v) => `${v.name}\n`).join(''));
        else process.stdout.write(table(['DRIVER', 'VOLUME NAME'], volumes.map((v) => [v.driver, v.name])));
      }),
    );
  volume
    .command('inspect')
    .description('show volumes as JSON')
    .argument('<names...>')
    .action(
      runtimeAction(async (client: RuntimeClient, names: string[]) => {
        const found: unknown[] = [];
        const code = await forEachTarget(names, async (name) => {
          const v = await client.inspectVolume(name);
          found.push({ CreatedAt: v.createdAt, Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint, Name: v.name, Options: null, Scope: 'local' });
        });
        process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
        return code;
      }),
    );
  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes (not while a container uses them)')
    .argument('<names...>')
    .option('-f, --force', 'no error for a volume that does not exist')
    .action(
      runtimeAction((client, names: string[], options: { force?: boolean }) =>
        forEachTarget(names, async (name) => {
          await client.removeVolume(name, !!options.force);
          process.stdout.write(`${name}\n`);
        }),
      ),
    );
}
