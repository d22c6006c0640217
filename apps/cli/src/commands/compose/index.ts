import { Command, Option } from 'commander';
import type { LoadOptions } from '@berth/compose';
import type { Session } from '../../session';
import { SOCKET_OPTION } from '../../runtime/action';
import { parseCount } from '../workloads';
import { registerComposeConfig } from './config';
import type { ComposeProjectScope } from './project';
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
 * composeLoadOptions(command). The verbs on a running project (ps, logs, exec, ...) find it as the
 * namespace of its name, by its compose labels. The group's flags come before the verb, as in docker
 * compose; each verb's module (and @berth/compose with it) loads on use, so `--help` stays light.
 */
export function registerComposeCommands(program: Command, run: Run): void {
  const compose = program
    .command('compose')
    .description('run a Compose project (compose.yaml) on the cluster: one namespace per project')
    .addOption(new Option('-f, --file <path>', 'compose file; repeatable, merged in order (default: compose.yaml, docker-compose.yml ... and its override file)').argParser(collect).default([]))
    .option('-p, --project-name <name>', 'project name (default: COMPOSE_PROJECT_NAME, the file\'s name, else the directory\'s)')
    .addOption(new Option('--profile <name>', 'enable services of this profile; repeatable (default: COMPOSE_PROFILES)').argParser(collect).default([]))
    .addOption(new Option('--env-file <path>', 'read variables from this file instead of .env; repeatable').argParser(collect).default([]))
    .option('--project-directory <dir>', 'the project directory (default: the first file\'s)')
    // The program's flags go before `compose` (its verbs' own come after it): these two also after it,
    // shown once in the help, as the program's.
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file').hideHelp())
    .addOption(new Option('--context <name>', 'the kubeconfig context to use').hideHelp())
    .enablePositionalOptions();

  registerComposeConfig(compose, run);
  registerComposeUpCommands(compose, run);
  registerProjectVerbs(compose, run);
}

/** Runs a verb on the project the group's flags name; the session works in its namespace. */
function onProject(run: Run, command: Command, action: (scope: ComposeProjectScope, session: Session) => Promise<void>): Promise<void> {
  return run(async (session) => {
    const { projectNameFor, ComposeProjectScope } = await import('./project');
    const project = await projectNameFor(command.optsWithGlobals<ComposeGlobalOptions>(), composeLoadOptions(command));
    session.options.namespace = project;
    await action(new ComposeProjectScope(session, project), session);
  }, command);
}

/** The verbs on a project already in the cluster, each from its own module, loaded on use. */
function registerProjectVerbs(compose: Command, run: Run): void {
  compose
    .command('ps')
    .description("list the project's containers (pods): NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS; running ones unless -a")
    .argument('[services...]')
    .option('-a, --all', 'also the stopped ones')
    .option('-q, --quiet', 'only the names')
    .option('--services', 'only the services')
    .option('--format <format>', 'table or json (one object per line)', 'table')
    .addOption(new Option('--status <status>', 'only containers in this state (running, exited, restarting, created, removing); repeatable').argParser(collect).default([]))
    .action((services: string[], options, command: Command) => onProject(run, command, async (scope) => (await import('./ps')).composePs(scope, services, options)));

  compose
    .command('logs')
    .description('the logs of the services\' containers, each line prefixed with its container (web-1  | )')
    .argument('[services...]')
    .option('-f, --follow', 'keep following, also containers that start later')
    .option('-t, --timestamps', 'show timestamps')
    .option('-n, --tail <lines>', 'lines from the end of each log, or "all"', 'all')
    .option('--since <duration>', 'only lines newer than this (e.g. 10s, 5m)')
    .option('--no-color', 'no colours')
    .option('--no-log-prefix', 'no prefix on the lines')
    .action((services: string[], options, command: Command) => onProject(run, command, async (scope) => (await import('./logs')).composeLogs(scope, services, options)));

  compose
    .command('exec')
    .description("run a command in a service's running container (its n-th pod) and exit with its exit code")
    .argument('<service>')
    .argument('<command...>')
    .option('-T, --no-TTY', 'no terminal (default: one when stdin and stdout are terminals)')
    .option('-i, --interactive', 'keep stdin open (the default)', true)
    .option('--index <n>', 'which container of the service, from 1', parseCount('--index', 1), 1)
    .addOption(new Option('-e, --env <KEY=VALUE>', "set a variable over the container's environment (repeatable)").argParser(collect).default([]))
    .option('-w, --workdir <dir>', "the command's working directory (absolute), instead of the container's")
    .option('-u, --user <user>', "run as this user (name|uid[:group|gid] of the image), instead of the container's")
    .passThroughOptions()
    .action((service: string, cmd: string[], options, command: Command) =>
      onProject(run, command, async (scope, session) => {
        session.exitWith(await (await import('./exec')).composeExec(scope, service, cmd, { ...options, noTty: options.TTY === false }));
      }),
    );

  compose
    .command('run')
    .description("run a one-off command in a new pod made from the service's pod template, attached; exit with its exit code")
    .argument('<service>')
    .argument('[command...]')
    .option('--rm', 'remove the pod when it ends')
    .option('-e, --env <KEY=VALUE>', 'an environment variable; repeatable', collect, [])
    .option('-w, --workdir <dir>', 'the working directory')
    .option('--entrypoint <entrypoint>', 'replace the entrypoint (words, or a JSON array)')
    .option('-T, --no-TTY', 'no terminal (default: one when stdin and stdout are terminals)')
    .passThroughOptions()
    .action((service: string, cmd: string[], options, command: Command) =>
      onProject(run, command, async (scope, session) => {
        session.exitWith(await (await import('./exec')).composeRun(scope, service, cmd, { ...options, noTty: options.TTY === false }));
      }),
    );

  compose
    .command('stop')
    .description('stop services: their workloads scaled to 0 (the replicas kept for start), a job suspended; waits until the containers are gone')
    .argument('[services...]')
    .option('-t, --timeout <seconds>', 'seconds the containers have to stop', parseCount('--timeout'))
    .action((services: string[], options, command: Command) => onProject(run, command, async (scope) => (await import('./lifecycle')).composeStop(scope, services, options)));

  compose
    .command('start')
    .description('start stopped services again, with the replicas they had')
    .argument('[services...]')
    .action((services: string[], _options, command: Command) => onProject(run, command, async (scope) => (await import('./lifecycle')).composeStart(scope, services)));

  compose
    .command('restart')
    .description("restart services' containers as a rolling restart (kubectl rollout restart)")
    .argument('[services...]')
    .action((services: string[], _options, command: Command) => onProject(run, command, async (scope) => (await import('./lifecycle')).composeRestart(scope, services)));

  compose
    .command('scale')
    .description('set the number of containers of services')
    .argument('<service=replicas...>')
    .action((args: string[], _options, command: Command) => onProject(run, command, async (scope) => (await import('./lifecycle')).composeScale(scope, args)));

  compose
    .command('down')
    .description("remove the project's objects and wait until its containers are gone; the volumes' PVCs stay unless -v; the namespace goes when nothing is left")
    .option('-v, --volumes', 'also remove the volumes (PVCs)')
    .option('--remove-orphans', "accepted: down removes every object of the project, whatever compose file made it")
    .option('-t, --timeout <seconds>', 'seconds the containers have to stop', parseCount('--timeout'))
    .option('--rmi <type>', 'also remove the services\' images from the cluster registry: "local" (those built without an image name: REGISTRY/PROJECT/SERVICE) or "all"')
    .action((options, command: Command) =>
      onProject(run, command, async (scope) => (await import('./down')).composeDown(scope, options, { kubeconfig: command.optsWithGlobals().kubeconfig as string | undefined })),
    );

  compose
    .command('top')
    .description("the running containers' processes as their nodes' hosts see them: one UID PID PPID C STIME TTY TIME CMD table per container")
    .argument('[services...]')
    .action((services: string[], _options, command: Command) => onProject(run, command, async (scope) => (await import('./top')).composeTop(scope, services)));

  compose
    .command('images')
    .description('the images the containers run: CONTAINER REPOSITORY TAG IMAGE ID SIZE')
    .argument('[services...]')
    .option('-q, --quiet', 'only the image ids')
    .action((services: string[], options, command: Command) => onProject(run, command, async (scope) => (await import('./listing')).composeImages(scope, services, options)));

  compose
    .command('pull')
    .description("pull the images the services run onto this host's node (its runtimed), one line per service")
    .argument('[services...]')
    .option('-q, --quiet', 'no progress lines')
    .option('--ignore-pull-failures', 'pull what can be pulled; a failure does not change the exit code')
    .option(...SOCKET_OPTION)
    .action((services: string[], options, command: Command) =>
      onProject(run, command, async (scope) => (await import('./pull')).composePull(scope, services, options, { kubeconfig: command.optsWithGlobals().kubeconfig as string | undefined })),
    );

  compose
    .command('ls')
    .description('list the compose projects in the cluster: NAME STATUS CONFIG FILES')
    .option('-a, --all', 'also projects with no running container')
    .option('-q, --quiet', 'only the names')
    .option('--format <format>', 'table or json', 'table')
    .action((options, command: Command) => run(async (session) => (await import('./listing')).composeLs(session, options), command));
}
