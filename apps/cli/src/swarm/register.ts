import { Command, Option } from 'commander';
import type { Session } from '../session';
import { parseCount } from '../commands/workloads';
import { SOCKET_OPTION } from '../runtime/action';
import { joinToken, nodeInspect, nodeLs, nodeRm, nodeUpdate } from './node';
import { serviceCreate, serviceInspect, serviceLogs, serviceLs, servicePs, serviceRm, serviceRollback, serviceScale, serviceUpdate } from './service';
import { stackLs, stackPs, stackRm, stackServicesCommand } from './stack';

type Runner = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const repeatable = (flags: string, description: string) => new Option(flags, `${description}; repeatable`).argParser(collect).default([]);

/**
 * Docker Swarm's verbs over the berth API: `service` (a workload per service), `node` (cordon, drain and
 * labels), `swarm join-token` and `stack` (a compose project's namespace), with docker's flags and columns.
 */
export function registerSwarmCommands(program: Command, run: Runner): void {
  const service = program.command('service').description("Swarm's services: a Deployment (DaemonSet for global, Job for replicated-job) per service, with docker's flags and columns");

  service
    .command('create')
    .description('create a service; prints its ID, then (without -d) waits until its tasks run. The command after the image goes after --')
    .argument('<image>', 'the image to run')
    .argument('[command...]', 'arguments to the image\'s entrypoint (after --)')
    .option('--name <name>', 'service name (default: a random one)')
    .option('--replicas <n>', 'number of tasks', parseCount('--replicas'))
    .option('--mode <mode>', 'replicated (default), global (one task per node), replicated-job or global-job (one task to completion on each node)')
    .addOption(repeatable('-p, --publish <port>', 'publish a port on every node: [PUBLISHED:]TARGET[/udp] or published=P,target=T,protocol=tcp,mode=ingress|host'))
    .addOption(repeatable('-e, --env <KEY=VALUE>', 'environment variable'))
    .addOption(repeatable('--env-file <file>', 'read environment variables from a file'))
    .addOption(repeatable('--mount <mount>', 'type=volume|bind|tmpfs,source=S,target=T[,readonly]'))
    .addOption(repeatable('--constraint <expr>', 'placement: node.hostname==x, node.labels.k==v, node.role==manager ...'))
    .addOption(repeatable('--label <key=value>', 'service label'))
    .addOption(repeatable('--container-label <key=value>', "label on the service's tasks"))
    .option('--limit-cpu <cpus>', 'CPU limit, e.g. 0.5')
    .option('--limit-memory <bytes>', 'memory limit, e.g. 512m')
    .option('--reserve-cpu <cpus>', 'CPUs reserved')
    .option('--reserve-memory <bytes>', 'memory reserved')
    .option('--update-parallelism <n>', 'tasks updated at a time (0: all)', parseCount('--update-parallelism'))
    .option('--update-delay <duration>', 'wait this long after a task is up before the next (minReadySeconds)')
    .option('--update-order <order>', 'stop-first (default) or start-first')
    .option('--update-failure-action <action>', 'pause, or rollback: the cluster rolls back an update that fails (--update-monitor)')
    .option('--update-monitor <duration>', 'how long an update may go without progress before it fails (progressDeadlineSeconds)')
    .option('--restart-condition <condition>', 'any (services), on-failure or none (replicated-job)')
    .option('-w, --workdir <dir>', 'working directory in the container')
    .option('-u, --user <uid[:gid]>', 'the numeric user (and group) to run as')
    .option('--hostname <name>', 'container hostname')
    .option('--entrypoint <command>', "override the image's entrypoint")
    .option('--health-cmd <command>', 'command that checks health (a readiness and liveness probe)')
    .option('--health-interval <duration>', 'time between checks')
    .option('--health-timeout <duration>', 'longest a check may run')
    .option('--health-retries <n>', 'failures in a row before unhealthy', parseCount('--health-retries', 1))
    .option('--health-start-period <duration>', 'time to start before checks count')
    .option('--no-healthcheck', 'no health check')
    .option('-d, --detach', 'return once the service is created, without waiting for its tasks')
    .action((image: string, args: string[], options, cmd: Command) => {
      const flags = { ...options, noHealthcheck: options.healthcheck === false };
      delete flags.healthcheck;
      return run((session) => serviceCreate(session, image, args, flags), cmd);
    });

  service
    .command('ls')
    .description('list services: ID NAME MODE REPLICAS IMAGE PORTS')
    .option('-q, --quiet', 'only IDs')
    .addOption(repeatable('-f, --filter <filter>', 'id=, name=, label=, mode='))
    .option('--format <template>', 'Go-template-like: {{.ID}} {{.Name}} {{.Mode}} {{.Replicas}} {{.Image}} {{.Ports}}, table ...')
    .action((options, cmd: Command) => run((session) => serviceLs(session, options), cmd));

  service
    .command('ps')
    .description("list a service's tasks (its pods; replicated tasks are numbered by creation order)")
    .argument('<service...>')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'do not cut IDs and errors')
    .addOption(repeatable('-f, --filter <filter>', 'desired-state=running|shutdown|accepted, id=, name=, node='))
    .action((refs: string[], options, cmd: Command) => run((session) => servicePs(session, refs, { ...options, noTrunc: options.trunc === false }), cmd));

  service
    .command('inspect')
    .description("a service in docker's JSON shape (--pretty: for people)")
    .argument('<service...>')
    .option('--pretty', 'human-readable')
    .action((refs: string[], options, cmd: Command) => run((session) => serviceInspect(session, refs, options), cmd));

  service
    .command('logs')
    .description('the logs of every task of a service, each line after web.1.<task id>@node |')
    .argument('<service>')
    .option('-f, --follow', 'keep streaming')
    .option('-t, --timestamps', 'timestamps')
    .option('--tail <lines>', 'only the last lines of each task (or "all")', 'all')
    .option('--since <duration>', 'only lines newer than this, e.g. 10m')
    .option('--raw', 'no prefixes')
    .option('--no-task-ids', 'no task IDs in the prefixes')
    .option('--no-trunc', 'full task IDs')
    .action((ref: string, options, cmd: Command) => run((session) => serviceLogs(session, ref, { ...options, noTaskIds: options.taskIds === false, noTrunc: options.trunc === false }), cmd));

  service
    .command('scale')
    .description('scale replicated services: SERVICE=REPLICAS...')
    .argument('<service=replicas...>')
    .option('-d, --detach', 'do not wait for the tasks')
    .action((args: string[], options, cmd: Command) => run((session) => serviceScale(session, args, options), cmd));

  service
    .command('update')
    .description('change a service and roll the change out (--force: replace every task; --rollback: the previous specification)')
    .argument('<service>')
    .option('--image <image>', 'new image')
    .option('--replicas <n>', 'number of tasks', parseCount('--replicas'))
    .addOption(repeatable('--env-add <KEY=VALUE>', 'add or change an environment variable'))
    .addOption(repeatable('--env-rm <KEY>', 'remove an environment variable'))
    .addOption(repeatable('--publish-add <port>', 'publish a port'))
    .addOption(repeatable('--publish-rm <port>', 'stop publishing a port (TARGET or PUBLISHED:TARGET)'))
    .addOption(repeatable('--constraint-add <expr>', 'add a placement constraint'))
    .addOption(repeatable('--constraint-rm <expr>', 'remove a placement constraint'))
    .addOption(repeatable('--label-add <key=value>', 'add a service label'))
    .addOption(repeatable('--label-rm <key>', 'remove a service label'))
    .option('--limit-cpu <cpus>', 'CPU limit (0: none)')
    .option('--limit-memory <bytes>', 'memory limit (0: none)')
    .option('--update-failure-action <action>', 'pause, or rollback: the cluster rolls back an update that fails (--update-monitor)')
    .option('--update-monitor <duration>', 'how long an update may go without progress before it fails (progressDeadlineSeconds)')
    .option('--force', 'replace every task even if nothing changed')
    .option('--rollback', 'go back to the previous specification')
    .option('-d, --detach', 'do not wait for the rollout')
    .action((ref: string, options, cmd: Command) => run((session) => serviceUpdate(session, ref, options), cmd));

  service
    .command('rollback')
    .description("go back to a service's previous specification")
    .argument('<service>')
    .option('-d, --detach', 'do not wait for the rollout')
    .action((ref: string, options, cmd: Command) => run((session) => serviceRollback(session, ref, options), cmd));

  service
    .command('rm')
    .alias('remove')
    .description('remove services (their tasks and published ports)')
    .argument('<service...>')
    .action((refs: string[], _options, cmd: Command) => run((session) => serviceRm(session, refs), cmd));

  // `berth node reset` registers the group; the Swarm verbs join it.
  const node = program.commands.find((c) => c.name() === 'node') ?? program.command('node');
  node.description("this host's node: berth node reset stops it and removes what it put on the host; the cluster's nodes as Swarm shows them: ls, inspect, update, rm");
  node
    .command('ls')
    .description('list nodes: ID HOSTNAME STATUS AVAILABILITY MANAGER STATUS ENGINE VERSION (* marks this host)')
    .option('-q, --quiet', 'only IDs')
    .addOption(repeatable('-f, --filter <filter>', 'id=, name=, role=manager|worker, node.label=k[=v]'))
    .option('--format <template>', '{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}} {{.EngineVersion}}')
    .action((options, cmd: Command) => run((session) => nodeLs(session, options), cmd));
  node
    .command('inspect')
    .description("a node in docker's JSON shape (self: this host)")
    .argument('<node...>')
    .option('--pretty', 'human-readable')
    .action((refs: string[], options, cmd: Command) => run((session) => nodeInspect(session, refs, options), cmd));
  node
    .command('update')
    .description('availability (active: schedulable; pause: cordoned; drain: cordoned and its tasks moved away) and node labels')
    .argument('<node>')
    .option('--availability <availability>', 'active, pause or drain')
    .addOption(repeatable('--label-add <key=value>', 'add a node label (constraints: node.labels.key==value)'))
    .addOption(repeatable('--label-rm <key>', 'remove a node label'))
    .action((ref: string, options, cmd: Command) => run((session) => nodeUpdate(session, ref, options), cmd));
  node
    .command('rm')
    .alias('remove')
    .description('remove nodes from the cluster (a Ready one only with --force)')
    .argument('<node...>')
    .option('-f, --force', 'remove even a node that is up')
    .action((refs: string[], options, cmd: Command) => run((session) => nodeRm(session, refs, options), cmd));

  const swarm = program.command('swarm').description('the cluster as a swarm');
  swarm
    .command('join-token')
    .description('print the command that joins a host as a worker (run on the server host: the token is in its data dir)')
    .argument('<role>', 'worker (manager: not yet)')
    .option('-q, --quiet', 'only the token')
    .option('--rotate', 'rotate the join token (not supported yet)')
    .option('--data-dir <dir>', "the server's data dir", '/var/lib/berth')
    .action((role: string, options, cmd: Command) => run((session) => joinToken(session, role, options), cmd));

  const stack = program.command('stack').description('compose projects as Swarm stacks: one namespace each');
  stack
    .command('deploy')
    .alias('up')
    .description('deploy a stack from compose files: the compose project NAME, brought up as `compose up` does (build included)')
    .argument('<stack>')
    .addOption(repeatable('-c, --compose-file <path>', 'compose file, merged in order'))
    .option('--prune', 'remove the services the files no longer have')
    .option('-d, --detach', 'return once the objects are applied, without waiting for the services to run')
    .option(...SOCKET_OPTION)
    .action((name: string, options, cmd: Command) =>
      run(async (session) => {
        const { runStackDeploy } = await import('../commands/compose/up-actions');
        await runStackDeploy(session, cmd.optsWithGlobals(), name, options.composeFile, options);
      }, cmd),
    );
  stack
    .command('ls')
    .description('list stacks: NAME SERVICES')
    .option('--format <template>', '{{.Name}}')
    .action((options, cmd: Command) => run((session) => stackLs(session, options), cmd));
  stack
    .command('services')
    .description("list a stack's services")
    .argument('<stack>')
    .option('-q, --quiet', 'only IDs')
    .addOption(repeatable('-f, --filter <filter>', 'id=, name=, label=, mode='))
    .option('--format <template>', 'as service ls')
    .action((name: string, options, cmd: Command) => run((session) => stackServicesCommand(session, name, options), cmd));
  stack
    .command('ps')
    .description("list a stack's tasks")
    .argument('<stack>')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'do not cut IDs and errors')
    .addOption(repeatable('-f, --filter <filter>', 'desired-state=, id=, name=, node='))
    .action((name: string, options, cmd: Command) => run((session) => stackPs(session, name, { ...options, noTrunc: options.trunc === false }), cmd));
  stack
    .command('rm')
    .alias('remove')
    .description('remove stacks: their services, and the namespace compose made for them')
    .argument('<stack...>')
    .action((names: string[], _options, cmd: Command) => run((session) => stackRm(session, names), cmd));
}
