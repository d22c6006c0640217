import type { DaemonSet, Deployment, Job, KubeObject, Namespace, PodSpec, PodTemplateSpec, Service } from '@berth/api';
import { serviceContainer, podProcessFields, runtimeOptionAnnotations } from './container';
import { DEPENDS_ON_ANNOTATION, DEPENDS_ON_GATE, dependsOnAnnotation } from './dependencies';
import type { ServiceContext, TranslateOptions } from './context';
import type { ComposeProject, DependsOnCondition, ServiceConfig } from './model';
import { composeLabels, dns1123LabelErrors, own, serviceNameErrors, splitLabels } from './names';
import { checkNetworks, networksInUse, podNetworking, servicesOf } from './network';
import { Refusals, serviceWhere } from './refusals';
import { globalJobCompletions, MODE_ANNOTATION, placementOf, restartOf, rolloutOf, runsToCompletion } from './scheduling';
import { projectStorageObjects, serviceStorage } from './storage';

export type { TranslateOptions } from './context';

/**
 * Every object berth makes for a compose project, in the order to create them: the Namespace `<project>`,
 * then ConfigMaps, Secrets, PersistentVolumeClaims, Services, and each service's workload (Deployment,
 * DaemonSet or Job, named as the service). All are in the namespace and labelled with compose's project
 * label, per-service ones with its service label too. Pure: files come in `options.files`.
 *
 * Every key of the model is honoured or refused: what cannot be honoured is one BadRequest whose message
 * names each service (or top-level section) and key with the reason, never dropped without a word.
 */
export function translateProject(project: ComposeProject, options: TranslateOptions = {}): KubeObject[] {
  const refusals = new Refusals();
  const services = projectServices(project, refusals);
  const storage = projectStorageObjects(project, options, refusals);
  const scoped = networksInUse(project).size > 1;
  const chosen = options.services ? new Set(options.services) : undefined;
  const workloads = Object.values(project.services)
    .filter((service) => !chosen || chosen.has(service.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((service) => workloadOf(project, service, options, scoped, refusals));
  refusals.throwIfAny();
  return [namespaceOf(project), ...storage.configMaps, ...storage.secrets, ...storage.claims, ...services, ...workloads];
}

/**
 * The Namespace and the Services alone, which `up` creates first in a project with several networks: their
 * ClusterIPs are translateProject's options.serviceIPs. The same objects translateProject makes.
 */
export function translateServices(project: ComposeProject): KubeObject[] {
  const refusals = new Refusals();
  const services = projectServices(project, refusals);
  refusals.throwIfAny();
  return [namespaceOf(project), ...services];
}

function namespaceOf(project: ComposeProject): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: project.name, labels: composeLabels(project.name) } };
}

/** Checks the project's and services' names (they name the namespace, the workloads and the Services pods resolve) and makes the Services. */
function projectServices(project: ComposeProject, refusals: Refusals): Service[] {
  const projectErrors = dns1123LabelErrors(project.name);
  if (projectErrors.length) refusals.refuse(`project ${JSON.stringify(project.name)}`, 'name', `a project is a namespace: ${projectErrors[0]} (name it with -p)`);
  checkNetworks(project, refusals);
  const scoped = networksInUse(project).size > 1;
  const owners = new Map<string, string>();
  /** `8080/TCP` → the service publishing it: every node answers on a published port for one service only. */
  const publishers = new Map<string, string>();
  const out: Service[] = [];
  for (const [key, service] of Object.entries(project.services).sort(([a], [b]) => a.localeCompare(b))) {
    const where = serviceWhere(key);
    if (service.name !== key) refusals.refuse(where, 'name', `the service's name ${JSON.stringify(service.name)} is not its key`);
    const errs = serviceNameErrors(key);
    if (errs.length) {
      refusals.refuse(where, 'name', `a service is resolved by its name, which must be a DNS label: ${errs[0]}`);
      continue;
    }
    for (const made of servicesOf(project, service, scoped, (k, why) => refusals.refuse(where, k, why))) {
      const name = made.metadata.name!;
      const owner = owners.get(name);
      if (owner !== undefined) {
        refusals.refuse(where, 'networks', `the Service ${JSON.stringify(name)} is made for ${owner} too`);
        continue;
      }
      const errs = serviceNameErrors(name);
      if (errs.length) {
        refusals.refuse(where, 'networks', `the alias ${JSON.stringify(name)} cannot name a Service: ${errs[0]}`);
        continue;
      }
      owners.set(name, key);
      if (made.spec?.type === 'LoadBalancer') {
        for (const port of made.spec.ports ?? []) {
          const published = `${port.port}/${port.protocol ?? 'TCP'}`;
          const other = publishers.get(published);
          if (other !== undefined) refusals.refuse(where, 'ports', `${published} is published by ${other} too`);
          publishers.set(published, key);
        }
      }
      out.push(made);
    }
  }
  return out;
}

/** The conditions the compose-dependencies controller waits for, or undefined when the service depends on nothing in the project. */
function dependenciesOf(ctx: ServiceContext): Record<string, DependsOnCondition> | undefined {
  const out: Record<string, DependsOnCondition> = Object.create(null);
  for (const [name, dependency] of Object.entries(ctx.service.depends_on).sort(([a], [b]) => a.localeCompare(b))) {
    const key = `depends_on.${name}`;
    const target = own(ctx.project.services, name);
    if (!target) {
      if (dependency.required) ctx.refuse(key, `${name} is not a service of the project`);
      continue;
    }
    if (dependency.restart) ctx.refuse(`${key}.restart`, `a service is not restarted when ${name} is`);
    if (dependency.condition === 'service_healthy' && (!target.healthcheck || target.healthcheck.disable || target.healthcheck.test?.[0] === 'NONE')) {
      ctx.refuse(`${key}.condition`, `service_healthy, but ${name} has no healthcheck`);
    }
    if (dependency.condition === 'service_completed_successfully' && !runsToCompletion(target)) {
      ctx.refuse(`${key}.condition`, `service_completed_successfully, but ${name} is restarted always (give it restart: "no" or deploy.mode replicated-job)`);
    }
    out[name] = dependency.condition;
  }
  return Object.keys(out).length ? out : undefined;
}

function imageOf(ctx: ServiceContext): string {
  const { service, options } = ctx;
  const built = own(options.images ?? {}, service.name);
  if (built) return built;
  if (service.image !== undefined) return service.image;
  if (service.build) ctx.refuse('build', 'the image is not built yet: build first (berth compose build, or up --build)');
  else ctx.refuse('image', 'neither image nor build is given');
  return '';
}

function workloadOf(project: ComposeProject, service: ServiceConfig, options: TranslateOptions, scoped: boolean, refusals: Refusals): KubeObject {
  const where = serviceWhere(service.name);
  const ctx: ServiceContext = { project, service, options, refuse: (key, why) => refusals.refuse(where, key, why) };
  const deploy = service.deploy;
  const job = runsToCompletion(service);
  const kind = job ? 'Job' : deploy?.mode === 'global' ? 'DaemonSet' : 'Deployment';

  const container = serviceContainer(ctx, imageOf(ctx));
  const storage = serviceStorage(ctx);
  if (storage.mounts.length) container.volumeMounts = storage.mounts;
  const { restartPolicy, backoffLimit } = restartOf(ctx, job);
  const spec: PodSpec = {
    containers: [container],
    restartPolicy,
    // Compose injects no DB_SERVICE_HOST-style variables: a service finds the others by name.
    enableServiceLinks: false,
    ...podProcessFields(ctx),
    ...podNetworking(ctx, scoped),
  };
  if (storage.volumes.length) spec.volumes = storage.volumes;
  Object.assign(spec, placementOf(ctx));

  const podLabels = splitLabels(service.labels, (key, why) => ctx.refuse(`labels.${key}`, why));
  const template: PodTemplateSpec = { metadata: { labels: { ...podLabels.labels, ...composeLabels(project.name, service.name) } }, spec };
  const podAnnotations = { ...podLabels.annotations, ...runtimeOptionAnnotations(ctx, container.name) };
  const dependencies = dependenciesOf(ctx);
  if (dependencies) {
    podAnnotations[DEPENDS_ON_ANNOTATION] = dependsOnAnnotation(dependencies);
    spec.schedulingGates = [{ name: DEPENDS_ON_GATE }];
  }
  if (Object.keys(podAnnotations).length) template.metadata!.annotations = podAnnotations;

  const workloadLabels = splitLabels(deploy?.labels ?? {}, (key, why) => ctx.refuse(`deploy.labels.${key}`, why));
  const metadata = {
    name: service.name,
    namespace: project.name,
    labels: { ...workloadLabels.labels, ...composeLabels(project.name, service.name) },
    annotations: { ...workloadLabels.annotations },
  };
  const selector = { matchLabels: composeLabels(project.name, service.name) };
  const finish = <T extends KubeObject>(object: T): T => {
    if (!Object.keys(metadata.annotations).length) delete (object.metadata as { annotations?: unknown }).annotations;
    return object;
  };

  if (kind === 'Job') {
    if (deploy?.update_config) ctx.refuse('deploy.update_config', 'a job is not rolled out: it runs to completion');
    if (deploy?.rollback_config) ctx.refuse('deploy.rollback_config', 'a job is not rolled out: it runs to completion');
    let replicas = deploy?.replicas ?? 1;
    if (deploy?.mode === 'global-job') {
      if (deploy.replicas !== undefined) ctx.refuse('deploy.replicas', 'a global job runs one pod on each node');
      replicas = globalJobCompletions(ctx) ?? 0;
      metadata.annotations[MODE_ANNOTATION] = 'global-job';
    }
    const jobSpec: Job['spec'] = { completions: replicas, parallelism: replicas, template };
    if (backoffLimit !== undefined) jobSpec.backoffLimit = backoffLimit;
    return finish<Job>({ apiVersion: 'batch/v1', kind: 'Job', metadata, spec: jobSpec });
  }
  const rollout = rolloutOf(ctx, kind);
  Object.assign(metadata.annotations, rollout.annotations);
  if (kind === 'DaemonSet') {
    if (deploy?.replicas !== undefined) ctx.refuse('deploy.replicas', 'a global service runs one pod on every node');
    const dsSpec: DaemonSet['spec'] = { selector, template };
    if (rollout.strategy) dsSpec.updateStrategy = rollout.strategy;
    if (rollout.minReadySeconds !== undefined) dsSpec.minReadySeconds = rollout.minReadySeconds;
    return finish<DaemonSet>({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata, spec: dsSpec });
  }
  const deploymentSpec: Deployment['spec'] = { replicas: deploy?.replicas ?? 1, selector, template };
  if (rollout.strategy) deploymentSpec.strategy = rollout.strategy;
  if (rollout.minReadySeconds !== undefined) deploymentSpec.minReadySeconds = rollout.minReadySeconds;
  if (rollout.progressDeadlineSeconds !== undefined) deploymentSpec.progressDeadlineSeconds = rollout.progressDeadlineSeconds;
  return finish<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: deploymentSpec });
}
