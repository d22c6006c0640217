import { Command, Option } from 'commander';
import type { LoadOptions } from '@berth/compose';
import type { Session } from '../../session';
import { registerComposeConfig } from './config';
import { registerComposeUpCommands } from './register-up';

type Run = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

/** The compose command group's own flags, as docker compose has them before its verb. */
export interface ComposeGlobalOptions {
  file: string[];
  projectName?: string;
  profile: string[];
  envFile: string[];
  projectDirectory?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The loader's options from the compose group's flags (`services`: the verb's SERVICE arguments, which enable their profiles). */
export function composeLoadOptions(command: Command, services: string[] = []): LoadOptions {
  const options = command.optsWithGlobals<ComposeGlobalOptions>();
  return {
    files: options.file,
    projectName: options.projectName,
    profiles: options.profile,
    envFiles: options.envFile,
    workingDir: options.projectDirectory,
    services,
  };
}

/**
 * `berth compose VERB`: every verb registers itself here with one line, and reads the group's flags with
 * composeLoadOptions(command).
 */
export function registerComposeCommands(program: Command, run: Run): void {
  const compose = program
    .command('compose')
    .description('run a Compose project (compose.yaml) on the cluster: one namespace per project')
    .addOption(new Option('-f, --file <path>', 'compose file; repeatable, merged in order (default: compose.yaml, docker-compose.yml ... and its override file)').argParser(collect).default([]))
    .option('-p, --project-name <name>', 'project name (default: COMPOSE_PROJECT_NAME, the file\'s name, else the directory\'s)')
    .addOption(new Option('--profile <name>', 'enable services of this profile; repeatable (default: COMPOSE_PROFILES)').argParser(collect).default([]))
    .addOption(new Option('--env-file <path>', 'read variables from this file instead of .env; repeatable').argParser(collect).default([]))
    .option('--project-directory <dir>', 'the project directory (default: the first file\'s)');

  registerComposeConfig(compose, run);
  registerComposeUpCommands(compose, run);
}
