import type { BuildConfig, ComposeProject } from './model';

/** The image compose names a built service's image when it has no `image`: `<project>-<service>`. */
export function imageNameOf(project: Pick<ComposeProject, 'name'>, service: string): string {
  return `${project.name}-${service}`;
}

/**
 * One `build:` to run before `up`: build it, tag it `image` (and `tags`), push it, and pass the pushed
 * reference as translateProject's options.images[service].
 */
export interface ComposeBuild extends BuildConfig {
  service: string;
  /** The service's `image`, else imageNameOf. */
  image: string;
}

/** The builds a project asks for, in service-name order. */
export function projectBuilds(project: ComposeProject): ComposeBuild[] {
  return Object.entries(project.services)
    .filter(([, service]) => service.build)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, service]) => ({ ...structuredClone(service.build!), service: name, image: service.image ?? imageNameOf(project, name) }));
}
