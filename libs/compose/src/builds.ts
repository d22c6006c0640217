import type { ComposeProject } from './model';

/** The image compose names a built service's image when it has no `image`: `<project>-<service>`. */
export function imageNameOf(project: Pick<ComposeProject, 'name'>, service: string): string {
  return `${project.name}-${service}`;
}

/** One `build:` to run before `up`: tag it `image` (and `tags`), push it, and pass the pushed reference as options.images[service]. */
export interface ComposeBuild {
  service: string;
  /** The service's `image`, else imageNameOf. */
  image: string;
  context: string;
  dockerfile: string;
  dockerfileInline?: string;
  args: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  /** More tags (`build.tags`). */
  tags: string[];
}

/** The builds a project asks for, in service-name order. */
export function projectBuilds(project: ComposeProject): ComposeBuild[] {
  return Object.entries(project.services)
    .filter(([, service]) => service.build)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, service]) => {
      const build = service.build!;
      return {
        service: name,
        image: service.image ?? imageNameOf(project, name),
        context: build.context,
        dockerfile: build.dockerfile,
        ...(build.dockerfile_inline !== undefined ? { dockerfileInline: build.dockerfile_inline } : {}),
        args: { ...build.args },
        ...(build.target !== undefined ? { target: build.target } : {}),
        labels: { ...build.labels },
        noCache: build.no_cache ?? false,
        pull: build.pull ?? false,
        tags: [...build.tags],
      };
    });
}
