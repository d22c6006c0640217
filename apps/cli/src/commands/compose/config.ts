import type { Command } from 'commander';
import type { Session } from '../../session';
import { composeLoadOptions } from './index';

type Run = (action: (session: Session) => Promise<void>, command: Command) => Promise<void>;

export interface ComposeConfigOptions {
  services?: boolean;
  volumes?: boolean;
  profiles?: boolean;
  images?: boolean;
  quiet?: boolean;
}

/** `berth compose config`: the project as loaded (merged, interpolated, long forms), or one list of it. */
async function composeConfig(session: Session, command: Command, services: string[], options: ComposeConfigOptions): Promise<void> {
  // The loader (and yaml with it) loads on use: `berth --help` and the other verbs never pay for it.
  const { loadProjectWithProfiles, renderProject, withDependencies } = await import('@berth/compose');
  const { project, profiles } = await loadProjectWithProfiles(composeLoadOptions(command, services));
  // With SERVICE arguments: only those and what they depend on, as docker compose config prints them.
  const picked = new Set(withDependencies(project, services));
  for (const name of Object.keys(project.services)) if (!picked.has(name)) delete project.services[name];
  if (options.quiet) return;
  if (options.services) for (const name of Object.keys(project.services)) session.out(name);
  else if (options.volumes) for (const name of Object.keys(project.volumes)) session.out(name);
  else if (options.profiles) for (const name of profiles) session.out(name);
  else if (options.images) {
    // A service that is built runs the image compose would tag: the image key, else PROJECT-SERVICE.
    for (const service of Object.values(project.services)) session.out(service.image ?? `${project.name}-${service.name}`);
  } else session.out(renderProject(project));
}

export function registerComposeConfig(compose: Command, run: Run): void {
  compose
    .command('config')
    .description('check the compose files and print the project as berth reads it')
    .argument('[services...]', 'only these services (and what they depend on)')
    .option('--services', 'print the service names, one per line')
    .option('--volumes', 'print the volume names, one per line')
    .option('--profiles', 'print the profile names, one per line')
    .option('--images', 'print the image names, one per line')
    .option('-q, --quiet', 'only check the files; print nothing')
    .action((services: string[], options: ComposeConfigOptions, command: Command) => run((session) => composeConfig(session, command, services, options), command));
}
