import { isBerthError } from '@berth/errors';
import { parseReference } from '@berth/image';
import type { RuntimeClient } from '@berth/runtime-client';
import type { Command } from 'commander';
import { formatError } from '../errors';
import { exitWith, runtimeAction, SOCKET_OPTION } from './action';
import type { CredentialContext } from './credentials';
import { login, logout, pullImage, pushImage, type LoginOptions, type VerbOutput } from './registry';

const output = (): VerbOutput => ({ out: process.stdout, err: process.stderr });

function credentialContext(command: Command): CredentialContext {
  return { kubeconfig: command.optsWithGlobals().kubeconfig as string | undefined };
}

/**
 * A verb that needs no runtimed (login, logout): an error is one line and exit code 1; the registry's
 * refusal is worded as docker words the daemon's (`Error response from registry: ...`).
 */
function localAction<Args extends unknown[]>(verb: (...args: Args) => Promise<void>) {
  return async (...args: Args): Promise<void> => {
    try {
      await verb(...args);
    } catch (err) {
      const fromRegistry = isBerthError(err, 'Unauthorized') || isBerthError(err, 'ServiceUnavailable');
      process.stderr.write(`${fromRegistry ? `Error response from registry: ${(err as Error).message}` : formatError(err)}\n`);
      await exitWith(1);
    }
  };
}

/** Refuses a malformed image name with docker's one line before any runtimed is looked for. */
function nameFirst<Rest extends unknown[]>(action: (name: string, ...rest: Rest) => Promise<void>) {
  return async (name: string, ...rest: Rest): Promise<void> => {
    try {
      parseReference(name);
    } catch (err) {
      process.stderr.write(`${formatError(err)}\n`);
      await exitWith(1);
    }
    await action(name, ...rest);
  };
}

/** `pull`, `push` (also under `image`), `login`, `logout`: docker's registry verbs. */
export function registerRegistryCommands(program: Command, image: Command): void {
  const pullCommand = (parent: Command) =>
    parent
      .command('pull')
      .description("download an image from its registry onto this node (credentials from docker's config.json)")
      .argument('<name>', 'NAME[:TAG|@DIGEST]')
      .option('--platform <platform>', 'os/arch[/variant] of a multi-platform image (default: the node\'s)')
      .option('-q, --quiet', 'print only the image name')
      .option(...SOCKET_OPTION)
      .action(
        nameFirst(
          runtimeAction((client: RuntimeClient, name: string, options: { platform?: string; quiet?: boolean }, command: Command) =>
            pullImage(client, name, options, credentialContext(command), output()),
          ),
        ),
      );
  const pushCommand = (parent: Command) =>
    parent
      .command('push')
      .description('upload an image from this node to the registry its name says')
      .argument('<name>', 'NAME[:TAG]')
      .option('-q, --quiet', 'print only the image name')
      .option(...SOCKET_OPTION)
      .action(
        nameFirst(
          runtimeAction((client: RuntimeClient, name: string, options: { quiet?: boolean }, command: Command) =>
            pushImage(client, name, options, credentialContext(command), output()),
          ),
        ),
      );
  pullCommand(program);
  pushCommand(program);
  pullCommand(image);
  pushCommand(image);

  program
    .command('login')
    .description("log in to a registry (default: Docker Hub); the credential is checked, then kept in docker's config.json")
    .argument('[server]', 'host[:port] of the registry')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (insecure: use --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(
      localAction((server: string | undefined, options: LoginOptions, command: Command) =>
        login(server, options, credentialContext(command), output(), { stdin: process.stdin }),
      ),
    );
  program
    .command('logout')
    .description("remove a registry's credential from docker's config.json (default: Docker Hub)")
    .argument('[server]', 'host[:port] of the registry')
    .action(localAction((server: string | undefined, _options: unknown, command: Command) => logout(server, credentialContext(command), output())));
}
