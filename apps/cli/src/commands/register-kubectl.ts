import { Command, Option } from 'commander';
import type { Session } from '../session';
import { apiResources } from './api-resources';
import { configMapObject, createJob, createObject, cronJobObject, deploymentObject, dockerRegistrySecretObject, genericSecretObject, tlsSecretObject } from './create-objects';
import { parseCount } from './workloads';
import { DEFAULT_DOCKER_SERVER } from './create';
import { changeMetadata } from './metadata';
import { setSchedulable, taint } from './nodes';
import { drain } from './drain';
import { setImage } from './set-image';
import { wait } from './wait';
import { patchCommand } from './patch';
import { completions, completionScript } from './completion';
import { edit } from './edit';
import { configView, currentContext, getContexts, useContext } from './config';
import { version } from './version';

type Runner = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

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
    .command('edit')
    .description('edit objects in $KUBE_EDITOR or $EDITOR (vi) and save the changes; a refused edit reopens with the errors')
    .argument('<type-and-names...>', 'TYPE NAME... or TYPE/NAME...')
    .option('-l, --selector <selector>', 'every object matching this label selector')
    .option('--all', 'every object of the type in the namespace')
    .option('-o, --output <format>', 'edit as yaml (default) or json')
    .action((args: string[], options, command: Command) => run((session) => edit(session, args, options), command));

  for (const [verb, schedulable] of [['cordon', false], ['uncordon', true]] as const) {
    program
      .command(verb)
      .description(schedulable ? 'mark nodes schedulable again' : 'mark nodes unschedulable: new pods go elsewhere, running ones stay')
      .argument('[nodes...]', 'NODE... (or -l)')
      .option('-l, --selector <selector>', 'every node matching this label selector')
      .option('--dry-run [strategy]', DRY_RUN_HELP)
      .action((nodes: string[], options, command: Command) => run(async (session) => void (await setSchedulable(session, nodes, schedulable, options)), command));
  }

  program
    .command('drain')
    .description('cordon nodes and evict their pods (through disruption budgets), waiting until they are gone')
    .argument('[nodes...]', 'NODE... (or -l)')
    .option('-l, --selector <selector>', 'every node matching this label selector')
    .option('--ignore-daemonsets', 'leave DaemonSet pods where they are instead of refusing')
    .option('--delete-emptydir-data', 'remove pods with emptyDir volumes too (their data is lost)')
    .option('--force', 'remove pods no controller owns too (they are not recreated)')
    .option('--grace-period <seconds>', "seconds each pod has to stop (default: the pod's own)", parseCount('--grace-period', -1), -1)
    .option('--timeout <duration>', 'give up after this long (0: never)', '0s')
    .option('--pod-selector <selector>', 'only pods matching this label selector')
    .option('--disable-eviction', 'delete pods instead of evicting them (disruption budgets are not asked)')
    .option('--skip-wait-for-delete-timeout <seconds>', 'skip pods deleted longer ago than this', parseCount('--skip-wait-for-delete-timeout'), 0)
    .option('--dry-run [strategy]', DRY_RUN_HELP)
    .action((nodes: string[], options, command: Command) => run((session) => drain(session, nodes, options), command));

  program
    .command('taint')
    .description('add (KEY[=VALUE]:EFFECT) or remove (KEY[:EFFECT]-) taints of nodes')
    .argument('<args...>', 'nodes NODE... TAINT...')
    .option('-l, --selector <selector>', 'every node matching this label selector')
    .option('--all', 'every node')
    .option('--overwrite', 'replace taints with the same key and effect')
    .option('--dry-run [strategy]', DRY_RUN_HELP)
    .action((args: string[], options, command: Command) => run((session) => taint(session, args, options), command));

  const set = program.command('set').description('change one field of objects');
  withSelection(
    set
      .command('image')
      .description("change containers' images (CONTAINER=IMAGE, or *=IMAGE for all) of pods and workloads")
      .argument('<args...>', 'TYPE/NAME... CONTAINER=IMAGE...'),
  ).action((args: string[], options, command: Command) => run((session) => setImage(session, args, options), command));

  program
    .command('wait')
    .description('wait until objects are deleted, meet a condition, or a field has a value')
    .argument('<type-and-names...>', 'TYPE/NAME..., or TYPE with -l or --all')
    .option('--for <condition>', 'delete, create, condition=NAME[=VALUE], or jsonpath={PATH}[=VALUE]')
    .option('--timeout <duration>', 'how long to wait (0: check once)', '30s')
    .option('-l, --selector <selector>', 'every object matching this label selector')
    .option('--all', 'every object of the type in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: in every namespace')
    .action((args: string[], options, command: Command) => run((session) => wait(session, args, options), command));

  const config = program.command('config').description('read the kubeconfig and change its current context');
  config
    .command('view')
    .description('the kubeconfig in use, certificates and tokens hidden unless --raw')
    .option('--minify', 'only the current context, its cluster and its user')
    .option('--raw', 'show certificate data, tokens and passwords')
    .option('--flatten', 'embed the files the kubeconfig names')
    .option('-o, --output <format>', 'yaml (default), json or jsonpath=...')
    .action((options, command: Command) => run(async (session) => configView(session, options), command));
  config
    .command('get-contexts')
    .description('the contexts of the kubeconfig, the current one starred')
    .argument('[names...]')
    .option('-o, --output <format>', 'name: names only')
    .option('--no-headers', 'leave out the header line')
    .action((names: string[], options, command: Command) => run(async (session) => getContexts(session, names, options), command));
  config
    .command('current-context')
    .description("the kubeconfig's current context")
    .action((_options, command: Command) => run(async (session) => currentContext(session), command));
  config
    .command('use-context')
    .description("set the kubeconfig's current context")
    .argument('<name>')
    .action((name: string, _options, command: Command) => run(async (session) => useContext(session, name), command));

  program
    .command('completion')
    .description('a shell script completing berth verbs, flags, resource types and names: source <(berth completion bash)')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string, _options, command: Command) => run(async () => void process.stdout.write(completionScript(shell)), command));
  program
    .command('__complete', { hidden: true })
    .description('the candidates for the last of the words (what the completion scripts ask)')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action((_words: string[], _options, command: Command) =>
      run(async (session) => {
        // The words as typed, options too (commander would take some for its own).
        const words = process.argv.slice(process.argv.indexOf('__complete') + 1);
        // A completion that cannot reach the server offers nothing rather than an error in the prompt.
        for (const candidate of await completions(program, words, () => session).catch(() => [])) session.out(candidate);
      }, command),
    );

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

/** The create flags every generator shares. */
function creating(command: Command): Command {
  return command.option('--dry-run [strategy]', DRY_RUN_HELP).option('-o, --output <format>', OUTPUT_HELP);
}

/** The data flags of `create configmap` and `create secret generic`. */
function withDataSources(command: Command): Command {
  return command
    .addOption(new Option('--from-literal <key=value>', 'a key and its value; repeatable').argParser(collect).default([]))
    .addOption(new Option('--from-file <[key=]path>', 'a file (key: its name) or every regular file of a directory; repeatable').argParser(collect).default([]))
    .addOption(new Option('--from-env-file <path>', 'KEY=VALUE lines; repeatable').argParser(collect).default([]));
}

/** kubectl's generators: create configmap, secret generic|tls, deployment, job, cronjob. */
export function registerCreateCommands(create: Command, secret: Command, run: Runner): void {
  creating(withDataSources(create.command('configmap').alias('cm').description('create a config map from literals, files, directories or env files').argument('<name>')))
    .action((name: string, options, command: Command) => run((session) => createObject(session, configMapObject(name, options), options), command));
  creating(withDataSources(secret.command('generic').description('create a secret from literals, files, directories or env files').argument('<name>')).option('--type <type>', 'the secret type'))
    .action((name: string, options, command: Command) => run((session) => createObject(session, genericSecretObject(name, options), options), command));
  creating(secret.command('tls').description('create a kubernetes.io/tls secret from a PEM certificate and key').argument('<name>').option('--cert <path>', 'PEM certificate').option('--key <path>', 'PEM private key'))
    .action((name: string, options, command: Command) => run((session) => createObject(session, tlsSecretObject(name, options), options), command));
  creating(
    secret
      .command('docker-registry')
      .description('create a kubernetes.io/dockerconfigjson secret for pulling from a registry')
      .argument('<name>')
      .option('--docker-server <server>', 'the registry', DEFAULT_DOCKER_SERVER)
      .option('--docker-username <user>', 'the user name')
      .option('--docker-password <password>', 'the password')
      .option('--docker-email <email>', 'the e-mail address')
      .addOption(new Option('--from-file <[key=]path>', 'a docker config file (key: .dockerconfigjson); repeatable').argParser(collect).default([])),
  ).action((name: string, options, command: Command) => run(async (session) => createObject(session, await dockerRegistrySecretObject(name, options), options), command));
  creating(
    create
      .command('deployment')
      .alias('deploy')
      .description('create a deployment of one or more images')
      .argument('<name>')
      .argument('[command...]', 'the container command (after --)')
      .addOption(new Option('--image <image>', 'an image, one container each; repeatable').argParser(collect).default([]))
      .option('-r, --replicas <count>', 'number of pods', parseCount('--replicas'))
      .option('--port <port>', 'the first container\'s port', parseCount('--port', 1)),
  ).action((name: string, cmd: string[], options, command: Command) => run((session) => createObject(session, deploymentObject(name, options, cmd), options), command));
  creating(
    create
      .command('job')
      .description('create a job of an image, or run a cronjob\'s template now (--from=cronjob/NAME)')
      .argument('<name>')
      .argument('[command...]', 'the container command (after --)')
      .option('--image <image>', 'the image')
      .option('--from <cronjob>', 'cronjob/NAME whose jobTemplate to use'),
  ).action((name: string, cmd: string[], options, command: Command) => run((session) => createJob(session, name, options, cmd), command));
  creating(
    create
      .command('cronjob')
      .alias('cj')
      .description('create a cronjob of an image on a schedule')
      .argument('<name>')
      .argument('[command...]', 'the container command (after --)')
      .option('--image <image>', 'the image')
      .option('--schedule <schedule>', 'a cron schedule, e.g. "*/5 * * * *" or @hourly')
      .addOption(new Option('--restart <policy>', 'the pods\' restart policy').choices(['OnFailure', 'Never']).default('OnFailure')),
  ).action((name: string, cmd: string[], options, command: Command) => run((session) => createObject(session, cronJobObject(name, options, cmd), options), command));
}
