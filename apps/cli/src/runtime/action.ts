import { DEFAULT_LOCAL_NODE_RECORD, DEFAULT_SOCKETS, findRuntimeSocket, RuntimeClient } from '@berth/runtime-client';
import { Command } from 'commander';
import { formatError } from '../errors';

/** Waits for stdout and stderr to flush, then exits (a foreground run's exit code must survive main's own). */
export async function exitWith(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}

export const SOCKET_OPTION = [
  '--runtime-socket <path>',
  `runtimed socket (default: $BERTH_RUNTIME_SOCKET, else the local node's: recorded by its server or agent in ${DEFAULT_LOCAL_NODE_RECORD}, ${DEFAULT_SOCKETS.join(', ')})`,
] as const;

/**
 * A verb on the node runtime: connects to runtimed (the --runtime-socket flag, $BERTH_RUNTIME_SOCKET,
 * or the local node's, see findRuntimeSocket), runs, and ends the process with the verb's exit code; an
 * error is one line on stderr and exit code 1.
 */
export function runtimeAction<Args extends unknown[]>(verb: (client: RuntimeClient, ...args: Args) => Promise<number | void>) {
  return async (...args: Args): Promise<void> => {
    const command = args[args.length - 1] as Command;
    let client: RuntimeClient | undefined;
    let code: number;
    try {
      client = new RuntimeClient(await findRuntimeSocket(command.optsWithGlobals().runtimeSocket as string | undefined));
      code = (await verb(client, ...args)) ?? 0;
    } catch (err) {
      process.stderr.write(`${formatError(err)}\n`);
      code = 1;
    } finally {
      client?.close();
    }
    if (code !== 0) await exitWith(code);
  };
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** KEY=VALUE labels from repeated -l flags. */
export function labelMap(labels: string[]): Record<string, string> {
  return Object.fromEntries(
    labels.map((label) => {
      const eq = label.indexOf('=');
      return eq < 0 ? [label, ''] : [label.slice(0, eq), label.slice(eq + 1)];
    }),
  );
}

/** Runs `each` for every name, printing failures as they come (docker's multi-target verbs); exit 1 if any failed. */
export async function forEachTarget(names: string[], each: (name: string) => Promise<void>): Promise<number> {
  let failed = false;
  for (const name of names) {
    try {
      await each(name);
    } catch (err) {
      process.stderr.write(`${formatError(err)}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
