import { Command, Option } from 'commander';
import type { Session } from '../session';
import { apiResources } from './api-resources';
import { changeMetadata } from './metadata';
import { patchCommand } from './patch';
import { version } from './version';

type Runner = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

function collectList(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')];
}

const OUTPUT_HELP = 'print the result as json, yaml, name, jsonpath=..., custom-columns=...';
const DRY_RUN_HELP = '"client": only print what would be sent; "server": the server checks it and stores nothing';

/** The selection flags of verbs that change objects in place. */
function withSelection(command: Command): Command {
  return command
    .option('-l, --selector <selector>', 'every object matching this label selector')
    .option('--all', 'every object of the type in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: in every namespace')
    .option('--dry-run [strategy]', DRY_RUN_HELP)
    .option('-o, --output <format>', OUTPUT_HELP);
}

/** kubectl's object verbs beyond get/describe/apply/delete: label, annotate, patch, api-resources, version. */
export function registerKubectlCommands(program: Command, run: Runner): void {
  for (const [verb, field] of [['label', 'labels'], ['annotate', 'annotations']] as const) {
    withSelection(
      program
        .command(verb)
        .description(`add, change (--overwrite) or remove (KEY-) ${field} of objects`)
        .argument('<args...>', `TYPE NAME... KEY=VALUE... KEY-... (or TYPE/NAME...)`)
        .option('--overwrite', `replace ${field} that already have a value`)
        .option('--resource-version <version>', 'change only if the object is still at this resourceVersion'),
    ).action((args: string[], options, command: Command) => run((session) => changeMetadata(session, field, args, options), command));
  }

  withSelection(
    program
      .command('patch')
      .description('change fields of objects with a strategic merge (default), JSON merge or JSON patch')
      .argument('<type-and-names...>', 'TYPE NAME... or TYPE/NAME...')
      .option('-p, --patch <patch>', 'the patch, JSON or YAML')
      .option('--patch-file <file>', 'a file holding the patch')
      .addOption(new Option('--type <type>', 'the kind of patch').choices(['strategic', 'merge', 'json']).default('strategic'))
      .option('--subresource <name>', 'patch this subresource (status or scale)'),
  ).action((args: string[], options, command: Command) => run((session) => patchCommand(session, args, options), command));

  program
    .command('api-resources')
    .description("the resource types the server serves (from its discovery)")
    .option('-o, --output <format>', 'wide or name')
    .option('--namespaced <bool>', 'only namespaced (true) or cluster-scoped (false) types')
    .option('--api-group <group>', 'only this API group ("" for the core group)')
    .addOption(new Option('--verbs <verbs>', 'only types that support all these verbs (comma-separated)').argParser(collectList).default([]))
    .option('--sort-by <column>', 'name or kind')
    .option('--no-headers', 'leave out the header line')
    .option('--cached', 'use the cached discovery (default: ask the server again)')
    .action((options, command: Command) => run((session) => apiResources(session, options), command));

  program
    .command('version')
    .description("the CLI's version and the server's")
    .option('--client', 'the client version only')
    .option('-o, --output <format>', 'yaml or json')
    .action((options, command: Command) => run((session) => version(session, options), command));
}
