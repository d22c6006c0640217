/**
 * What `compose up` and `compose build` do once their flags are read, loaded on use (the loader, the
 * translation and yaml with them), so `berth --help` and the other verbs never pay for them.
 */
import { advertisedRegistryHost, fetchLocalRegistryHosting } from '@berth/client';
import { loadProject, readProjectFiles, translateProject, translateServices, type ComposeProject } from '@berth/compose';
import { errors } from '@berth/errors';
import { findRuntimeSocket, RuntimeClient } from '@berth/runtime-client';
import type { Command } from 'commander';
import type { Session } from '../../session';
import type { CredentialContext } from '../../runtime/credentials';
import { composeBuild, composePush, type ComposeBuildOptions, type ComposePushOptions } from './build';
import { composeLoadOptions } from './index';
import { ComposeProgress } from './progress';
import { composeStop } from './lifecycle';
import { composeLogs } from './logs';
import { ComposeProjectScope } from './project';
import { composeUp, selectServices, type UpOptions } from './up';

/** The flags `up` and `build` read besides the loader's: the kubeconfig (its token for the cluster registry) and the builder's socket. */
export interface BuilderFlags {
  kubeconfig?: string;
  runtimeSocket?: string;
}

/** The variables the translation reads (`environment:` configs and secrets): this process's environment. */
function environment(): Record<string, string> {
  const env: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

/** The cluster registry's host:port as the cluster advertises it; a clear line when it has none. */
async function clusterRegistry(session: Session): Promise<string> {
  const host = advertisedRegistryHost(await fetchLocalRegistryHosting(session.client));
  if (!host) throw errors.badRequest('the cluster advertises no registry (kube-public/local-registry-hosting): services with build need one to push to');
  return host;
}

/** The node's runtimed for builds, opened on first use and closed when `use` ends. */
async function withBuilder<T>(flags: BuilderFlags, use: (builder: () => Promise<RuntimeClient>) => Promise<T>): Promise<T> {
  let client: RuntimeClient | undefined;
  try {
    return await use(async () => (client ??= new RuntimeClient(await findRuntimeSocket(flags.runtimeSocket))));
  } finally {
    client?.close();
  }
}

const progressOnStderr = () => new ComposeProgress((text) => process.stderr.write(text), !!process.stderr.isTTY);

export async function runComposeUp(session: Session, command: Command, services: string[], options: UpOptions): Promise<void> {
  const project = await loadProject(composeLoadOptions(command, services));
  await upProject(session, command.optsWithGlobals<BuilderFlags>(), project, services, { ...options, detach: true });
  if (!options.detach && !options.wait) await attach(session, project, selectServices(project, services, !!options.noDeps), options.timeout);
}

/**
 * `up` without -d: the services' logs followed, as compose attaches to its containers, until Ctrl-C;
 * then, as compose, `Gracefully stopping...` and the services stopped (scaled to 0, `compose start` brings
 * them back), exit code 130. A second Ctrl-C leaves at once.
 */
async function attach(session: Session, project: ComposeProject, chosen: ComposeProject, timeout: number | undefined): Promise<void> {
  const services = Object.keys(chosen.services);
  const scope = new ComposeProjectScope(session, project.name);
  process.stderr.write(`Attaching to ${services.map((service) => `${service}-1`).join(', ')}\n`);
  const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await Promise.race([composeLogs(scope, services, { follow: true }), interrupted]);
  process.once('SIGINT', () => process.exit(130));
  process.stderr.write('Gracefully stopping... (press Ctrl+C again to force)\n');
  await composeStop(scope, services, { timeout });
  // The log streams still hold the process open: it ends here, as compose's does.
  process.exit(130);
}

/**
 * `berth stack deploy -c FILE... NAME`: the compose files as the project NAME, brought up as `compose up`
 * does (built what has build, which Swarm ignores; depends_on held by the cluster); `--prune` removes the
 * services the files no longer have, and without `--detach` it waits until every service runs.
 */
export async function runStackDeploy(session: Session, flags: BuilderFlags, name: string, files: string[], options: { prune?: boolean; detach?: boolean }): Promise<void> {
  if (files.length === 0) throw errors.badRequest('stack deploy needs a compose file: -c compose.yaml');
  const project = await loadProject({ files, projectName: name });
  await upProject(session, flags, project, [], { detach: true, wait: !options.detach, removeOrphans: !!options.prune });
}

async function upProject(session: Session, flags: BuilderFlags, project: ComposeProject, services: string[], options: UpOptions): Promise<void> {
  session.options.namespace = project.name;
  const files = await readProjectFiles(project);
  const env = environment();
  const credentials: CredentialContext = { kubeconfig: flags.kubeconfig };
  await withBuilder(flags, (builder) =>
    composeUp(session, project, services, options, {
      translate: (p, translation) => translateProject(p, { ...translation, files, env }),
      translateServices,
      registryHost: () => clusterRegistry(session),
      builder,
      credentials,
      progress: progressOnStderr(),
    }),
  );
}

export async function runComposeBuild(session: Session, command: Command, services: string[], options: ComposeBuildOptions): Promise<void> {
  const flags = command.optsWithGlobals<BuilderFlags>();
  const project = await loadProject(composeLoadOptions(command, services));
  const credentials: CredentialContext = { kubeconfig: flags.kubeconfig };
  await withBuilder(flags, (builder) => composeBuild(builder, project, services, () => clusterRegistry(session), options, credentials, progressOnStderr()));
}

export async function runComposePush(session: Session, command: Command, services: string[], options: ComposePushOptions): Promise<void> {
  const flags = command.optsWithGlobals<BuilderFlags>();
  const project = await loadProject(composeLoadOptions(command, services));
  const credentials: CredentialContext = { kubeconfig: flags.kubeconfig };
  await withBuilder(flags, (builder) => composePush(builder, project, services, () => clusterRegistry(session), options, credentials, progressOnStderr()));
}
