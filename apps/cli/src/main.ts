import { Command, CommanderError, Option } from 'commander';
import { registerRuntimeCommands } from './runtime';
import { DAEMONS, registerDaemonCommands } from './commands/daemons';
import { registerNodeCommands } from './commands/node';
import { registerSwarmCommands } from './swarm/register';
import { registerRegistryCommands } from './commands/registry';
import { registerComposeCommands } from './commands/compose';
import { verbsOwnTheirOptions } from './positional-options';
import { apply } from './commands/apply';
import { diff } from './commands/diff';
import { createNamespace } from './commands/create';
import { deleteCommand } from './commands/delete';
import { describe } from './commands/describe';
import { get } from './commands/get';
import { registerPortForward } from './commands/port-forward';
import { registerCreateCommands, registerKubectlCommands } from './commands/register-kubectl';
import { registerWorkloadCommands } from './commands/register-workloads';
import { formatError } from './errors';
import { GlobalOptions, Session } from './session';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `-L a,b -L c`: every comma-separated value of every use. */
function collectList(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')];
}

const filenameOption = (purpose: string) =>
  new Option('-f, --filename <path>', `file, directory (its .yaml, .yml and .json files) or - for stdin, ${purpose}; repeatable`).argParser(collect).default([]);

/** The berth CLI: kubectl-like verbs over the berth (Kubernetes) API. Errors are one line each, exit code 1. */
export function buildProgram(run: (action: (session: Session) => Promise<void>, command: Command) => Promise<void>): Command {
  const program = new Command('berth')
    .description('berth: a Kubernetes-style declarative container platform. Talks to the cluster in the kubeconfig.')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, /var/lib/berth/kubeconfig.yaml, ~/.kube/config)')
    .option('-n, --namespace <namespace>', 'namespace to work in (default: the kubeconfig context\'s, else "default")')
    .option('--context <name>', 'the kubeconfig context to use (default: its current-context)')
    .option('--cache-dir <dir>', 'where discovery is cached (default: $KUBECACHEDIR, else ~/.kube/cache)')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError(false)
    .exitOverride();

  program
    .command('apply')
    .description('create or update objects from manifests (server-side apply)')
    .addOption(filenameOption('to apply'))
    .option('-l, --selector <selector>', 'only the objects with these labels (and, with --prune, what may be pruned)')
    .option('--prune', 'delete what an earlier apply made (of the selected labels) and these manifests no longer have')
    .option('--all', 'with --prune: prune without a label selector')
    .addOption(new Option('--prune-allowlist <group/version/Kind>', 'with --prune: prune only these kinds (core/v1/ConfigMap); repeatable').argParser(collect).default([]))
    .option('--dry-run [strategy]', '"client": only say what would be done; "server": the server checks it and stores nothing')
    .action((options, command: Command) => run((session) => apply(session, options), command));

  program
    .command('diff')
    .description('show what apply would change (server-side dry run), as diff -u; exit 1 when there are differences')
    .addOption(filenameOption('to compare'))
    .option('-l, --selector <selector>', 'only the objects with these labels')
    .action((options, command: Command) => run((session) => diff(session, options), command));

  program
    .command('get')
    .description('list objects as a table, or print them as YAML, JSON or names')
    .argument('[type-and-names...]', 'TYPE[,TYPE...] [NAME...] or TYPE/NAME...')
    .option('-o, --output <format>', 'json, yaml, wide, name, jsonpath=TEMPLATE, jsonpath-file=FILE, jsonpath-as-json=TEMPLATE, custom-columns=HEADER:PATH,..., custom-columns-file=FILE')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('-w, --watch', 'after listing, print changes as they happen')
    .option('--show-labels', 'add a LABELS column')
    .addOption(new Option('-L, --label-columns <keys>', 'a column for each of these label keys (comma-separated; repeatable)').argParser(collectList).default([]))
    .option('--sort-by <jsonpath>', 'order by this field, e.g. .metadata.creationTimestamp')
    .option('--no-headers', 'leave out the header line of tables and custom columns')
    .action((args: string[], options, command: Command) => run((session) => get(session, args, options), command));

  program
    .command('describe')
    .description('show details of objects, with their events')
    .argument('<type-and-names...>', 'TYPE [NAME...] or TYPE/NAME...')
    .option('-l, --selector <selector>', 'label selector')
    .option('-A, --all-namespaces', 'across all namespaces')
    .action((args: string[], options, command: Command) => run((session) => describe(session, args, options), command));

  program
    .command('delete')
    .description('delete objects by manifest, by name, by label selector, or all of a type')
    .argument('[type-and-names...]', 'TYPE NAME... or TYPE/NAME...')
    .addOption(filenameOption('whose objects to delete'))
    .option('-l, --selector <selector>', 'delete the objects matching this label selector')
    .option('--all', 'delete every object of the type in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: in every namespace')
    .option('--grace-period <seconds>', 'seconds each object has to stop (-1: its own default; 0 only with --force)')
    .option('--now', 'stop at once (--grace-period=1)')
    .option('--force', 'with --grace-period=0: remove from the API at once, not waiting for the node to stop it')
    .option('--cascade [policy]', 'what happens to dependents: background (default), foreground, orphan')
    .option('--wait [bool]', 'wait until the objects are gone (--wait=false: return when the server accepted the deletion)', true)
    .option('--timeout <duration>', 'how long to wait for the objects to be gone (0: no limit)', '0s')
    .option('--ignore-not-found', 'say nothing of objects that are not there')
    .option('--dry-run [strategy]', '"client": only say what would be deleted; "server": the server checks it and deletes nothing')
    .action((args: string[], options, command: Command) => run((session) => deleteCommand(session, args, options), command));

  const create = program.command('create').description('create an object');
  create
    .command('namespace')
    .alias('ns')
    .description('create a namespace')
    .argument('<name>')
    .action((name: string, _options, command: Command) => run((session) => createNamespace(session, name), command));
  const secret = create.command('secret').description('create a secret');
  registerCreateCommands(create, secret, run);

  // run, scale, rollout, ps, stop, rm, logs, exec, top: workloads over the API.
  registerWorkloadCommands(program, run);
  registerKubectlCommands(program, run);
  registerPortForward(program, run);
  registerRegistryCommands(program, run);
  registerComposeCommands(program, run);

  // The docker-style verbs on this node's runtimed (images, runtime run/ps/logs/exec..., volume).
  registerRuntimeCommands(program);
  // berth's daemons, each with its own flags, and resetting this host's node.
  registerDaemonCommands(program);
  registerNodeCommands(program);
  // Docker Swarm's verbs: service, node ls/inspect/update/rm, swarm join-token, stack.
  registerSwarmCommands(program, run);
  verbsOwnTheirOptions(program, ['runtime', '__complete', ...DAEMONS.map((daemon) => daemon.name)]);
  return program;
}

async function main(argv: string[]): Promise<number> {
  let session: Session | undefined;
  const program = buildProgram(async (action, command) => {
    session = new Session(command.optsWithGlobals<GlobalOptions>());
    await action(session);
  });
  try {
    await program.parseAsync(argv);
    return session?.exitCode ?? 0;
  } catch (err) {
    // commander has already printed its own message (usage errors) or the help text.
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`${formatError(err)}\n`);
    return 1;
  } finally {
    session?.close();
  }
}

// A reader that goes away (`berth get ... | head`) just ends the output.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
}
// Whatever escapes still ends as one line, never a stack trace.
process.on('uncaughtException', (err) => {
  process.stderr.write(`${formatError(err)}\n`);
  process.exit(1);
});

main(process.argv).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`${formatError(err)}\n`);
    process.exitCode = 1;
  },
);
