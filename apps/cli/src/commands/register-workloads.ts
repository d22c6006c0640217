import { Command, Option } from 'commander';
import { exitWith } from '../runtime/action';
import type { Session } from '../session';
import { exec } from './exec';
import { expose } from './expose';
import { logs } from './logs';
import { cp } from './cp';
import { ps } from './ps';
import { rolloutHistory, rolloutRestart, rolloutSetPaused, rolloutStatus, rolloutUndo } from './rollout';
import { run } from './run';
import { scale } from './scale';
import { rm, stop } from './stop';
import { top } from './top';
import { parseCount } from './workloads';

type Runner = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const DEPLOYMENT_ARGUMENT = ['<type-and-names...>', 'deploy/NAME... or deployment NAME...'] as const;

/**
 * The workload verbs over the Kubernetes API: docker/swarm-style (run, ps, stop, rm) and kubectl-style
 * (scale, rollout, logs, exec, top), each an action on the session.
 */
export function registerWorkloadCommands(program: Command, runAction: Runner): void {
  program
    .command('run')
    .description(
      'run an image as a Deployment NAME (labels app=NAME; swarm\'s "service create"). Everything after -- is the container\'s command. ' +
        'With --restart Never or OnFailure it runs one bare Pod NAME instead, as "kubectl run" does.',
    )
    .argument('<name>', 'name of the deployment (or pod) and its container')
    .argument('[command...]', 'the container command and its arguments (after --)')
    .requiredOption('--image <image>', 'the image to run, e.g. busybox:latest')
    .option('--replicas <count>', 'number of pods (deployment only)', parseCount('--replicas'))
    .option('-e, --env <KEY=VALUE>', 'environment variable; repeatable', collect, [])
    .option('--port <port>', 'the port the container listens on (containerPort)', parseCount('--port', 1))
    .option('-p, --publish <[ip:]host:container[/proto]>', "publish the container's port on its node's address (hostPort), as docker run -p; repeatable", collect, [])
    .option('-l, --label <key=value>', 'extra label on the deployment and its pods; repeatable', collect, [])
    .addOption(new Option('--restart <policy>', 'Always: a Deployment; Never or OnFailure: one Pod').choices(['Always', 'OnFailure', 'Never']).default('Always'))
    .option('--stop-timeout <seconds>', 'grace period between SIGTERM and SIGKILL when a pod stops (terminationGracePeriodSeconds)', parseCount('--stop-timeout'))
    .action((name: string, command: string[], options, cmd: Command) => runAction((session) => run(session, name, command, options), cmd));

  program
    .command('expose')
    .description('make a Service for the pods of a deployment, replica set or pod (kubectl expose; with --type NodePort or LoadBalancer, swarm\'s published port on every node)')
    .argument('<target>', 'deploy/NAME, rs/NAME or POD')
    .option('--port <port>', 'the Service\'s port (default: the first container port)', parseCount('--port', 1))
    .option('--target-port <port>', 'the container port, a number or a port name (default: the first container port)')
    .option('--name <name>', 'the Service\'s name (default: the target\'s)')
    .option('--type <type>', "ClusterIP (default), NodePort, or LoadBalancer (a NodePort that also answers on --port at the nodes' addresses, its EXTERNAL-IPs)")
    .option('--protocol <protocol>', 'TCP (default), UDP or SCTP')
    .option('--node-port <port>', 'the NodePort, with --type NodePort or LoadBalancer (default: one picked from the server\'s --service-node-port-range)', parseCount('--node-port', 1))
    .option('--session-affinity <affinity>', 'None (default) or ClientIP: the same client keeps reaching the same pod')
    .option('--cluster-ip <ip>', 'the ClusterIP to ask for, or None for a headless Service')
    .action((target: string, options, cmd: Command) => runAction((session) => expose(session, target, options), cmd));

  program
    .command('scale')
    .description('set the number of replicas of deployments or replica sets (their scale subresource)')
    .argument('<type-and-names...>', 'deploy/NAME, rs/NAME, or TYPE NAME...')
    .requiredOption('--replicas <count>', 'the new number of replicas', parseCount('--replicas'))
    .action((args: string[], options, cmd: Command) => runAction((session) => scale(session, args, options), cmd));

  const rollout = program.command('rollout').description('manage the rollout of deployments');
  rollout
    .command('status')
    .description('watch a deployment until its rollout is complete; exit 1 when it exceeds its progress deadline or --timeout')
    .argument(...DEPLOYMENT_ARGUMENT)
    .option('--timeout <duration>', 'give up after this long (e.g. 90s, 5m; 0: wait forever)', '0')
    .action((args: string[], options, cmd: Command) => runAction((session) => rolloutStatus(session, args, options), cmd));
  rollout
    .command('history')
    .description('list a deployment\'s revisions with their change cause, or show one revision\'s pod template')
    .argument(...DEPLOYMENT_ARGUMENT)
    .option('--revision <n>', 'show the pod template of this revision', parseCount('--revision', 1))
    .action((args: string[], options, cmd: Command) => runAction((session) => rolloutHistory(session, args, options), cmd));
  rollout
    .command('undo')
    .description('roll a deployment back to its previous revision, or to --to-revision')
    .argument(...DEPLOYMENT_ARGUMENT)
    .option('--to-revision <n>', 'the revision to roll back to (default: the previous one)', parseCount('--to-revision'))
    .action((args: string[], options, cmd: Command) => runAction((session) => rolloutUndo(session, args, options), cmd));
  rollout
    .command('pause')
    .description('pause a deployment: template changes do not roll out until it is resumed')
    .argument(...DEPLOYMENT_ARGUMENT)
    .action((args: string[], _options, cmd: Command) => runAction((session) => rolloutSetPaused(session, args, true), cmd));
  rollout
    .command('resume')
    .description('resume a paused deployment')
    .argument(...DEPLOYMENT_ARGUMENT)
    .action((args: string[], _options, cmd: Command) => runAction((session) => rolloutSetPaused(session, args, false), cmd));
  rollout
    .command('restart')
    .description('replace every pod of a deployment with a new one, as a rolling update')
    .argument(...DEPLOYMENT_ARGUMENT)
    .action((args: string[], _options, cmd: Command) => runAction((session) => rolloutRestart(session, args), cmd));

  program
    .command('ps')
    .description('list pods: NAME READY STATUS RESTARTS AGE IP NODE (STATUS as kubectl computes it); -o wide adds IMAGES')
    .option('-A, --all-namespaces', 'pods of every namespace')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web')
    .option('-o, --output <format>', 'wide')
    .action((options, cmd: Command) => runAction((session) => ps(session, options), cmd));

  const waitOptions = (command: Command) =>
    command
      .option('--no-wait', 'return once the change is made, without waiting for the pods to be gone')
      .option('--timeout <duration>', 'give up waiting after this long (e.g. 60s; 0: wait forever)', '0');

  waitOptions(
    program
      .command('stop')
      .description(
        'stop workloads: deploy/NAME (or rs/NAME) is scaled to 0 and kept (berth scale starts it again); a POD is deleted, ' +
          'its containers stopped with their grace period (a pod of a deployment is replaced: stop the deployment). Waits until the pods are gone.',
      )
      .argument('<targets...>', 'POD, deploy/NAME or rs/NAME'),
  ).action((args: string[], options, cmd: Command) => runAction((session) => stop(session, args, options), cmd));

  waitOptions(
    program
      .command('rm')
      .description(
        'remove workloads, as docker rm does: refuses what still runs (a deployment with replicas, a pod that has not completed) ' +
          'unless -f; a deployment goes with its replica sets and pods. Waits until the pods are gone.',
      )
      .argument('<targets...>', 'POD, deploy/NAME or rs/NAME')
      .option('-f, --force', 'remove even if running (a pod is killed without a grace period)'),
  ).action((args: string[], options, cmd: Command) => runAction((session) => rm(session, args, options), cmd));

  program
    .command('logs')
    .description("print a container's logs (-f: follow them until it stops); deploy/NAME or rs/NAME picks one of its pods, as kubectl does")
    .argument('[target]', 'POD, or TYPE/NAME (deploy/web, job/x); or -l')
    .argument('[container]', 'the container (or -c)')
    .option('-l, --selector <selector>', 'the pods matching this label selector (the last 10 lines of each unless --tail)')
    .option('--all-containers', 'every container of the pod(s), init containers first')
    .option('--prefix', 'begin each line with [pod/NAME/CONTAINER]')
    .option('--max-log-requests <count>', 'with -f: at most this many streams at once', parseCount('--max-log-requests', 1), 5)
    .option('-f, --follow', 'keep streaming new lines')
    .option('--tail <lines>', 'only the last N lines (-1: all)', parseCount('--tail', -1))
    .option('--timestamps', 'prefix each line with its RFC3339 timestamp')
    .option('-c, --container <name>', 'the container, when the pod has several')
    .option('--since <duration>', 'only lines newer than this, e.g. 10s, 5m, 1h')
    .option('-p, --previous', "the container's previous (terminated) run")
    .action((target: string | undefined, container: string | undefined, options, cmd: Command) =>
      runAction((session) => logs(session, [target, container].filter((a): a is string => a !== undefined), options), cmd),
    );

  program
    .command('cp')
    .description("copy files and directories to and from a pod's container (through exec and tar, as kubectl does)")
    .argument('<src>', 'a local path or [NAMESPACE/]POD:PATH')
    .argument('<dest>', 'a local path or [NAMESPACE/]POD:PATH')
    .option('-c, --container <name>', 'the container, when the pod has several')
    .option('--no-preserve', "don't keep the files' owner and permissions in the container")
    .action((src: string, dest: string, options, cmd: Command) => runAction((session) => cp(session, [src, dest], { container: options.container, noPreserve: options.preserve === false }), cmd));

  program
    .command('exec')
    .description("run a command in a pod's container and exit with its exit code (-it: an interactive terminal)")
    .argument('<target>', 'POD, or TYPE/NAME (deploy/web)')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-t, --tty', 'allocate a terminal (with -i, ours goes raw and its size follows)')
    .option('-c, --container <name>', 'the container, when the pod has several')
    .action((target: string, command: string[], options, cmd: Command) =>
      runAction(async (session) => {
        const code = await exec(session, target, command, options);
        if (code !== 0) {
          session.close();
          await exitWith(code);
        }
      }, cmd),
    );

  program
    .command('top')
    .description(
      "cpu and memory in use, from the metrics API (metrics.k8s.io): pods by default, or nodes; or, as docker top, a pod's processes as its node sees them (berth top POD [-c CONTAINER])",
    )
    .argument('[type]', 'pods or nodes; or POD (TYPE/NAME: one of its pods)')
    .argument('[name]', 'only this pod or node')
    .option('-A, --all-namespaces', 'pods of every namespace')
    .option('-l, --selector <selector>', 'label selector')
    .option('--containers', "each container's usage on its own line")
    .option('-c, --container <name>', "with POD: the container whose processes are listed, when the pod has several")
    .action((type: string | undefined, name: string | undefined, options, cmd: Command) => runAction((session) => top(session, type, name, options), cmd));
}
