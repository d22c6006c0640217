import { Command, Option } from 'commander';
import { collect, SOCKET_OPTION } from '../../runtime/action';
import type { Session } from '../../session';
import { parseCount } from '../workloads';

type Runner = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

/** `compose up` and `compose build` on the `compose` command; what they do loads on use (up-actions). */
export function registerComposeUpCommands(compose: Command, run: Runner): void {
  compose
    .command('up')
    .description("create or update the project's objects and start its services; builds what has build and is not built yet")
    .argument('[services...]', 'only these services (and what they depend on)')
    .option('-d, --detach', 'return once the objects are applied (see --wait); without it, follow the logs until Ctrl-C, which stops the services')
    .option('--build', 'build images before starting, even those already built')
    .option('--no-build', "don't build an image, even when it is missing")
    .option('--force-recreate', "recreate containers even if their configuration and image haven't changed")
    .option('--no-recreate', "if containers already exist, don't recreate them")
    .option('--remove-orphans', 'remove the objects of services not defined in the compose file')
    .option('--no-deps', "don't start linked services")
    .option('--wait', 'wait until every service is running and healthy (a job complete); implies --detach')
    .addOption(new Option('--wait-timeout <seconds>', 'how long --wait waits at most').argParser(parseCount('--wait-timeout', 1)))
    .option('-t, --timeout <seconds>', 'seconds the containers up stops have to stop (orphans removed, a job run again, the services on Ctrl-C)', parseCount('--timeout'))
    .option(...SOCKET_OPTION)
    .action((services: string[], options, command: Command) =>
      run(async (session) => {
        const { runComposeUp } = await import('./up-actions');
        await runComposeUp(session, command, services, {
          detach: options.detach,
          build: options.build === true,
          noBuild: options.build === false,
          forceRecreate: options.forceRecreate,
          noRecreate: options.recreate === false,
          removeOrphans: options.removeOrphans,
          noDeps: options.deps === false,
          wait: options.wait,
          waitTimeout: options.waitTimeout,
          timeout: options.timeout,
        });
      }, command),
    );

  compose
    .command('build')
    .description('build the services that have build on this node, named in the cluster registry')
    .argument('[services...]')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always pull FROM images')
    .addOption(new Option('--build-arg <KEY=VALUE>', 'a build-time variable; repeatable').argParser(collect).default([]))
    .option('-q, --quiet', "don't print anything to stdout")
    .option('--push', 'push the images to the cluster registry')
    .option(...SOCKET_OPTION)
    .action((services: string[], options, command: Command) =>
      run(async (session) => {
        const { runComposeBuild } = await import('./up-actions');
        await runComposeBuild(session, command, services, {
          noCache: options.cache === false ? true : undefined,
          pull: options.pull,
          buildArg: options.buildArg,
          quiet: options.quiet,
          push: options.push,
        });
      }, command),
    );

  compose
    .command('push')
    .description('push the images of the services with build (made by compose build on this node) to the cluster registry')
    .argument('[services...]')
    .option('-q, --quiet', 'no progress lines')
    .option('--ignore-push-failures', 'push what can be pushed; a failure does not change the exit code')
    .option(...SOCKET_OPTION)
    .action((services: string[], options, command: Command) =>
      run(async (session) => {
        const { runComposePush } = await import('./up-actions');
        await runComposePush(session, command, services, { quiet: options.quiet, ignorePushFailures: options.ignorePushFailures });
      }, command),
    );
}
