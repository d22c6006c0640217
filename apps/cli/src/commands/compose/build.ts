import { type ComposeProject, type ServiceConfig } from '@berth/compose';
import { errors } from '@berth/errors';
import { formatReference, parseReference } from '@berth/image';
import type { RuntimeClient } from '@berth/runtime-client';
import { join } from 'node:path';
import { buildArgs, buildOnNode, readDockerfile } from '../../runtime/build';
import { registryAuthFor, type CredentialContext } from '../../runtime/credentials';
import { pushImage, registryHost } from '../../runtime/registry';
import type { ComposeProgress } from './progress';

/** What building a project's images asks of the node's runtimed. */
export type ComposeBuilder = Pick<RuntimeClient, 'buildImage' | 'pushImage' | 'pullImage' | 'inspectImage'>;

/**
 * The name a built service's image has in the cluster registry (`registry`, host:port): the service's
 * `image` under the registry (`example/web:1` → `REG/example/web:1`; a short docker.io name keeps its
 * `library/` path, so the registry's stand-in for docker.io serves it by that name too), else
 * `REG/<project>/<service>:latest`. An `image` already in the cluster registry is kept as it is.
 */
export function clusterImageRef(project: ComposeProject, service: ServiceConfig, registry: string): string {
  if (!service.image) return `${registry}/${project.name}/${service.name}:latest`;
  const ref = parseReference(service.image);
  if (ref.digest) throw errors.badRequest(`service "${service.name}" has both build and an image by digest (${service.image}): a built image cannot have a digest given in advance`);
  const host = registryHost(ref);
  if (host === registry) return formatReference(ref);
  return `${registry}/${ref.repository.slice(host.length + 1)}:${ref.tag ?? 'latest'}`;
}

export interface ServiceBuildOptions {
  noCache?: boolean;
  pull?: boolean;
  /** `--build-arg K=V` (a bare K takes the environment's value): over the file's `build.args`. */
  buildArg?: string[];
  quiet?: boolean;
}

/** Builds one service's image on the node, tagged `tag` and the service's `build.tags`; BuildKit's plain progress on stderr unless quiet. */
export async function buildService(client: ComposeBuilder, service: ServiceConfig, tag: string, options: ServiceBuildOptions, credentials: CredentialContext): Promise<void> {
  const build = service.build;
  if (!build) throw errors.badRequest(`service "${service.name}" has no build section`);
  const dockerfileText = build.dockerfile_inline ?? (await readDockerfile(join(build.context, build.dockerfile)));
  const args: Record<string, string> = Object.create(null);
  Object.assign(args, build.args, buildArgs(options.buildArg ?? []));
  await buildOnNode(
    client,
    {
      context: build.context,
      dockerfileText,
      dockerfileInContext: build.dockerfile_inline === undefined ? build.dockerfile : undefined,
      tags: [tag, ...build.tags],
      buildArgs: args,
      target: build.target,
      noCache: options.noCache ?? build.no_cache,
      pull: options.pull ?? build.pull,
      labels: build.labels,
      progress: options.quiet ? undefined : (text) => process.stderr.write(text),
    },
    credentials,
  );
}

/** Pushes a built image quietly and answers the manifest digest the registry has it under. */
async function pushed(client: ComposeBuilder, tag: string, credentials: CredentialContext): Promise<string> {
  const auth = await registryAuthFor(registryHost(parseReference(tag)), credentials);
  return (await client.pushImage(tag, auth ? { auth } : {})).digest;
}

/** `repository@digest`: what a workload runs, so a rebuilt image rolls out and an unchanged one does not. */
export function byDigest(tag: string, digest: string): string {
  return `${parseReference(tag).repository}@${digest}`;
}

export interface UpImagesOptions {
  /** `--build`: build every service that has `build`, even when its image exists. */
  build?: boolean;
  /** `--no-build`: never build; the image must be on the node or in the cluster registry. */
  noBuild?: boolean;
}

/**
 * The images `up` runs for the services that have `build`, by service name, each `repository@sha256:...`
 * in the cluster registry: an image the node has (a `compose build` before) is pushed; else one the registry
 * has is used; else (and always with --build) it is built and pushed.
 */
export async function imagesForUp(
  client: ComposeBuilder,
  project: ComposeProject,
  services: ServiceConfig[],
  registry: string,
  options: UpImagesOptions,
  credentials: CredentialContext,
  progress: ComposeProgress,
): Promise<Record<string, string>> {
  const images: Record<string, string> = Object.create(null);
  for (const service of services) {
    if (!service.build) continue;
    const tag = clusterImageRef(project, service, registry);
    let digest: string | undefined;
    if (!options.build) {
      const onNode = await client.inspectImage(tag).then(() => true, () => false);
      if (onNode) digest = await pushed(client, tag, credentials);
      else {
              const auth = await registryAuthFor(registry, credentials);
        digest = await client.pullImage(tag, auth ? { auth } : {}).then((r) => r.digest, () => undefined);
      }
    }
    if (digest === undefined) {
      if (options.noBuild) throw errors.badRequest(`service "${service.name}": image ${tag} is neither on this node nor in the cluster registry, and --no-build was given`);
      progress.event('Service', service.name, 'Building');
      await buildService(client, service, tag, {}, credentials);
      digest = await pushed(client, tag, credentials);
      progress.event('Service', service.name, 'Built', true);
    }
    images[service.name] = byDigest(tag, digest);
  }
  return images;
}

/** The named services (every one when none is named) that have `build`; a name the project lacks is refused. */
function servicesWithBuild(project: ComposeProject, services: string[]): ServiceConfig[] {
  for (const name of services) if (!Object.hasOwn(project.services, name)) throw errors.badRequest(`no such service: ${name}`);
  return (services.length > 0 ? services.map((name) => project.services[name]!) : Object.values(project.services)).filter((s) => s.build);
}

export interface ComposeBuildOptions extends ServiceBuildOptions {
  /** `--push`: push each built image to the cluster registry. */
  push?: boolean;
}

/**
 * `compose build [SERVICE...]`: builds every named service that has `build` (all of them when none is
 * named) on this node, tagged with its name in the cluster registry (clusterImageRef), and with --push
 * pushes it there (docker's push progress on stdout unless -q). A named service without `build` is skipped,
 * as compose skips it.
 */
export async function composeBuild(
  builder: () => Promise<ComposeBuilder>,
  project: ComposeProject,
  services: string[],
  registry: () => Promise<string>,
  options: ComposeBuildOptions,
  credentials: CredentialContext,
  progress: ComposeProgress,
): Promise<void> {
  const chosen = servicesWithBuild(project, services);
  if (chosen.length === 0) return;
  const host = await registry();
  const client = await builder();
  for (const service of chosen) {
    const tag = clusterImageRef(project, service, host);
    progress.event('Service', service.name, 'Building');
    await buildService(client, service, tag, options, credentials);
    progress.event('Service', service.name, 'Built', true);
    if (options.push) await pushImage(client, tag, { quiet: options.quiet }, credentials, { out: options.quiet ? { write: () => true } : process.stdout, err: process.stderr });
  }
}

export interface ComposePushOptions {
  quiet?: boolean;
  ignorePushFailures?: boolean;
}

/**
 * `compose push [SERVICE...]`: the images `compose build` made on this node (the services with build)
 * pushed to the cluster registry, a progress line each. An image not built yet is that service's failure;
 * with ignorePushFailures the others still go and the exit code is 0, as docker compose does.
 */
export async function composePush(
  builder: () => Promise<ComposeBuilder>,
  project: ComposeProject,
  services: string[],
  registry: () => Promise<string>,
  options: ComposePushOptions,
  credentials: CredentialContext,
  progress: ComposeProgress,
): Promise<void> {
  const chosen = servicesWithBuild(project, services);
  if (chosen.length === 0) return;
  const host = await registry();
  const client = await builder();
  const failed: string[] = [];
  for (const service of chosen) {
    const tag = clusterImageRef(project, service, host);
    if (!options.quiet) progress.event('Image', tag, 'Pushing');
    try {
      if (!(await client.inspectImage(tag).then(() => true, () => false))) throw errors.badRequest(`no such image on this node: ${tag} (berth compose build ${service.name} first)`);
      await pushed(client, tag, credentials);
      if (!options.quiet) progress.event('Image', tag, 'Pushed', true);
    } catch (err) {
      progress.event('Image', tag, `Error ${(err as Error).message}`, true);
      failed.push(service.name);
    }
  }
  if (failed.length && !options.ignorePushFailures) throw errors.badRequest(`push failed for ${failed.join(', ')}`);
}
