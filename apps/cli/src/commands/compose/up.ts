import { resourceForKind, type DaemonSet, type Deployment, type Job, type KubeObject, type Pod, type ResourceType, type StatefulSet } from '@berth/api';
import { PROJECT_LABEL, SERVICE_LABEL, withDependencies, type ComposeProject, type ServiceConfig } from '@berth/compose';
import { BerthError, errors, isBerthError } from '@berth/errors';
import type { Session } from '../../session';
import { imagesForUp, type ComposeBuilder } from './build';
import { ComposeProgress } from './progress';
import { CONFIG_FILES_ANNOTATION, waitPodsGone } from './project';
import type { CredentialContext } from '../../runtime/credentials';
import { schedulableNodeLabels } from '../nodes';
import { RESTARTED_AT_ANNOTATION, rolloutStatusOf } from '../rollout';

/** The field manager of every object `compose up` applies: a later `up` owns (and may drop) only what it set. */
export const COMPOSE_FIELD_MANAGER = 'berth-compose';
// The project namespace's annotation naming the compose files it was made from (the verbs' `ls` reads it).
export { CONFIG_FILES_ANNOTATION };
/** The field manager of `--force-recreate`'s restart stamp: not berth-compose's, so the next `up` leaves it be. */
const RECREATE_FIELD_MANAGER = 'berth-compose-recreate';

const type = (apiVersion: string, kind: string): ResourceType => resourceForKind(apiVersion, kind)!;
const NAMESPACES = type('v1', 'Namespace');
const PODS = type('v1', 'Pod');
const DEPLOYMENTS = type('apps/v1', 'Deployment');
const DAEMONSETS = type('apps/v1', 'DaemonSet');
const STATEFULSETS = type('apps/v1', 'StatefulSet');
const JOBS = type('batch/v1', 'Job');
/** The per-service kinds an orphan (a service no longer in the file) may have left. */
const SERVICE_KINDS = [DEPLOYMENTS, DAEMONSETS, STATEFULSETS, JOBS, type('v1', 'Service'), type('v1', 'ConfigMap'), type('v1', 'Secret')];
const WORKLOAD_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet', 'Job']);

/**
 * The services `up SERVICE...` acts on: those named and (unless `noDeps`) every service they depend on,
 * transitively; all of them when none is named. An unknown name is refused as compose refuses it.
 */
export function selectServices(project: ComposeProject, names: string[], noDeps: boolean): ComposeProject {
  if (names.length === 0) return project;
  for (const name of names) if (!Object.hasOwn(project.services, name)) throw new BerthError('NotFound', `no such service: ${name}`);
  const chosen = new Set(noDeps ? names : withDependencies(project, names));
  const services: Record<string, ServiceConfig> = Object.create(null);
  for (const name of Object.keys(project.services)) if (chosen.has(name)) services[name] = project.services[name]!;
  return { ...project, services };
}

/** What `up` did to one object. */
export type ApplyOutcome = 'created' | 'changed' | 'unchanged';

/** A service's workload as `up --wait` sees it: done (running and ready, or complete), failed (why), or still on its way (why). */
export interface WorkloadState {
  done: boolean;
  failed?: string;
  message: string;
}

/**
 * Whether a service's workload is where `up --wait` wants it: a Deployment rolled out with every replica
 * available (Ready: the readiness probe a healthcheck becomes), a DaemonSet or StatefulSet likewise, a
 * Job complete; a failed Job (or a Deployment past its progress deadline) is a failure.
 */
export function workloadState(object: KubeObject): WorkloadState {
  const observed = (object.metadata.generation ?? 0) <= ((object.status as { observedGeneration?: number } | undefined)?.observedGeneration ?? 0);
  switch (object.kind) {
    case 'Deployment':
      try {
        const { message, done } = rolloutStatusOf(object as Deployment);
        return { done, message };
      } catch (err) {
        return { done: false, failed: (err as Error).message, message: (err as Error).message };
      }
    case 'DaemonSet': {
      const status: Partial<NonNullable<DaemonSet['status']>> = (object as DaemonSet).status ?? {};
      const desired = status.desiredNumberScheduled ?? 0;
      const updated = status.updatedNumberScheduled ?? 0;
      const available = status.numberAvailable ?? 0;
      const done = observed && updated >= desired && available >= desired;
      return { done, message: `${available} of ${desired} pods available, ${updated} updated` };
    }
    case 'StatefulSet': {
      const set = object as StatefulSet;
      const desired = set.spec?.replicas ?? 1;
      const ready = set.status?.readyReplicas ?? 0;
      const updated = set.status?.updatedReplicas ?? 0;
      return { done: observed && ready >= desired && updated >= desired, message: `${ready} of ${desired} pods ready` };
    }
    case 'Job': {
      const conditions = (object as Job).status?.conditions ?? [];
      const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed) return { done: false, failed: `job failed: ${failed.reason ?? ''}${failed.message ? `: ${failed.message}` : ''}`, message: 'failed' };
      const complete = conditions.some((c) => c.type === 'Complete' && c.status === 'True');
      return { done: complete, message: complete ? 'complete' : `${(object as Job).status?.succeeded ?? 0} completions` };
    }
    default:
      return { done: true, message: '' };
  }
}

/** compose's container names for a workload's replicas: `<project>-<service>-<n>`. */
export function containerNames(project: string, service: string, object: KubeObject): string[] {
  const spec = object.spec as { replicas?: number; parallelism?: number } | undefined;
  const count = object.kind === 'Job' ? spec?.parallelism ?? 1 : object.kind === 'DaemonSet' ? 1 : spec?.replicas ?? 1;
  return Array.from({ length: Math.max(count, 1) }, (_, i) => `${project}-${service}-${i + 1}`);
}

/** The services with objects labelled for the project that the project no longer has, and their objects. */
async function findOrphans(session: Session, project: ComposeProject): Promise<Map<string, Array<{ type: ResourceType; object: KubeObject }>>> {
  const orphans = new Map<string, Array<{ type: ResourceType; object: KubeObject }>>();
  for (const kind of SERVICE_KINDS) {
    const list = await session.client.list(kind, { namespace: project.name, labelSelector: `${PROJECT_LABEL}=${project.name},${SERVICE_LABEL}` });
    for (const object of list.items) {
      const service = object.metadata.labels?.[SERVICE_LABEL] ?? '';
      if (Object.hasOwn(project.services, service)) continue;
      orphans.set(service, [...(orphans.get(service) ?? []), { type: kind, object }]);
    }
  }
  return orphans;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 500;

/** Polls `check` until it answers something; past `deadline` (ms since the epoch; 0: none) fails with `what`. */
async function pollUntil<T>(check: () => Promise<T | undefined>, deadline: number, what: () => string): Promise<T> {
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (deadline && Date.now() >= deadline) throw errors.timeout(what());
    await sleep(POLL_MS);
  }
}

export interface UpOptions {
  detach?: boolean;
  build?: boolean;
  noBuild?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  removeOrphans?: boolean;
  wait?: boolean;
  /** Seconds `--wait` waits at most (0: no limit). */
  waitTimeout?: number;
  noDeps?: boolean;
  /** `-t`: seconds the containers `up` removes (orphans, a Job's run again) have to stop; their own grace period when absent. */
  timeout?: number;
}

/** What `up` needs besides the API: the project's translation and, when a service is built, the node's builder. */
export interface UpDependencies {
  translate(project: ComposeProject, options: { images: Record<string, string>; serviceIPs: Record<string, string>; services: string[]; schedulableNodes?: Array<Record<string, string>> }): KubeObject[];
  /** The Namespace and Services alone, applied first when given: their ClusterIPs are translate's serviceIPs. */
  translateServices?(project: ComposeProject): KubeObject[];
  /** The cluster registry's host:port (kube-public/local-registry-hosting); asked only when a service has `build`. */
  registryHost(): Promise<string>;
  /** The node's runtimed; asked only when a service has `build`. */
  builder(): Promise<ComposeBuilder>;
  credentials: CredentialContext;
  progress: ComposeProgress;
}

/**
 * `compose up -d`: builds what has `build` (see imagesForUp), then applies every object the translation
 * makes for the selected services with server-side apply (field manager berth-compose), Namespace first,
 * then ConfigMaps, Secrets, claims, Services, workloads, as the translation orders them; so an `up` of an
 * unchanged file changes nothing and rolls nothing. `--force-recreate` restarts every workload (a Job is
 * run again), `--no-recreate` leaves existing workloads as they are, `--remove-orphans` deletes what the
 * project's services no longer in the file left (otherwise a warning names them), `--wait` waits for every
 * service to be running and ready (a Job complete).
 */
export async function composeUp(session: Session, loaded: ComposeProject, services: string[], options: UpOptions, deps: UpDependencies): Promise<void> {
  if (options.build && options.noBuild) throw errors.badRequest('--build and --no-build are incompatible');
  if (options.forceRecreate && options.noRecreate) throw errors.badRequest('--force-recreate and --no-recreate are incompatible');
  const project = selectServices(loaded, services, options.noDeps ?? false);
  const progress = deps.progress;
  const selected = Object.values(project.services);

  let images: Record<string, string> = {};
  if (selected.some((s) => s.build)) images = await imagesForUp(await deps.builder(), project, selected, await deps.registryHost(), options, deps.credentials, progress);

  const orphans = await findOrphans(session, loaded).catch((err: unknown) => {
    if (isBerthError(err, 'NotFound')) return new Map<string, Array<{ type: ResourceType; object: KubeObject }>>();
    throw err;
  });
  if (orphans.size > 0 && !options.removeOrphans) {
    const pods = await session.client.list<Pod>(PODS, { namespace: project.name, labelSelector: `${PROJECT_LABEL}=${project.name},${SERVICE_LABEL} in (${[...orphans.keys()].join(',')})` });
    const names = pods.items.map((p) => p.metadata.name!).sort();
    const shown = names.length > 0 ? names : [...orphans.keys()].map((s) => `${project.name}-${s}-1`);
    progress.warn(
      `Found orphan containers ([${shown.join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
    );
  }

  await waitForNamespaceGone(session, project.name, progress);
  const workloads: Array<{ service: string; type: ResourceType; object: KubeObject }> = [];
  const applied = new Set<string>();
  const applyAll = async (objects: KubeObject[]) => {
    const result: KubeObject[] = [];
    for (const object of objects) {
      const key = `${object.apiVersion}/${object.kind}/${object.metadata.name}`;
      if (applied.has(key)) continue;
      applied.add(key);
      if (object.kind === 'Namespace') {
        object.metadata.annotations = { ...object.metadata.annotations, [CONFIG_FILES_ANNOTATION]: loaded.files.join(',') };
      }
      const objectType = resourceForKind(object.apiVersion, object.kind);
      if (!objectType) throw errors.internal(`the translation made a ${object.apiVersion} ${object.kind}, which this server does not serve`);
      const service = object.metadata.labels?.[SERVICE_LABEL];
      const workload = WORKLOAD_KINDS.has(object.kind) && service !== undefined;
      const names = workload ? containerNames(project.name, service, object) : [];
      if (workload) for (const name of names) progress.event('Container', name, 'Creating');
      const { outcome, applied: after } = await applyObject(session, objectType, object, options);
      reportApplied(progress, project.name, object, outcome, names);
      if (workload) workloads.push({ service, type: objectType, object: after });
      result.push(after);
    }
    return result;
  };
  // The Services first when the translation wants their ClusterIPs (pods find the services of their network scope
  // by them); a headless one's is None, which the translation leaves to the cluster DNS.
  const serviceIPs: Record<string, string> = Object.create(null);
  if (deps.translateServices) {
    for (const object of await applyAll(deps.translateServices(loaded))) {
      const service = object.metadata.labels?.[SERVICE_LABEL];
      const ip = (object.spec as { clusterIP?: string } | undefined)?.clusterIP;
      if (object.kind !== 'Service' || service === undefined || !ip) continue;
      if (!Object.hasOwn(serviceIPs, service) || object.metadata.name === service) serviceIPs[service] = ip;
    }
  }
  // A global job runs one pod on each node it may use now: the translation counts them.
  const schedulableNodes = selected.some((s) => s.deploy?.mode === 'global-job') ? await schedulableNodeLabels(session) : undefined;
  // The whole project is translated, its workloads only for the selected services: the pods of a service then do
  // not depend on which services were named (their name scopes hold every service of their networks).
  await applyAll(deps.translate(loaded, { images, serviceIPs, services: selected.map((s) => s.name), schedulableNodes }));

  if (options.removeOrphans) {
    for (const [service, objects] of orphans) {
      const pods = await session.client.list<Pod>(PODS, { namespace: project.name, labelSelector: `${PROJECT_LABEL}=${project.name},${SERVICE_LABEL}=${service}` });
      for (const { type: orphanType, object } of objects) {
        await session.client.delete(orphanType, object.metadata.name!, { namespace: project.name, propagationPolicy: 'Background' }).catch((err: unknown) => {
          if (!isBerthError(err, 'NotFound')) throw err;
        });
      }
      const removed = (pod: Pod) => progress.event('Container', pod.metadata.name!, 'Removed', true);
      // -t: waited for, each within that time (compose removes them before it returns); else said at once.
      if (options.timeout !== undefined) await waitPodsGone(session, project.name, pods.items, { timeout: options.timeout, gone: removed });
      else pods.items.forEach(removed);
    }
  }

  if (options.wait) await waitForServices(session, project, workloads, options.waitTimeout ?? 0, progress);
}

/** Applies one object; an existing Job whose template changed (Jobs' templates are immutable), or any Job under --force-recreate, is deleted and made again. */
async function applyObject(session: Session, objectType: ResourceType, object: KubeObject, options: UpOptions): Promise<{ outcome: ApplyOutcome; applied: KubeObject }> {
  const namespace = object.metadata.namespace;
  const name = object.metadata.name!;
  const before = await session.client.get(objectType, name, { namespace }).catch((err: unknown) => {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  });
  if (before && options.noRecreate && WORKLOAD_KINDS.has(object.kind)) return { outcome: 'unchanged', applied: before };
  const apply = () => session.client.apply(objectType, object, { namespace, fieldManager: COMPOSE_FIELD_MANAGER, force: true });
  if (before && object.kind === 'Job') {
    const rerun = options.forceRecreate || (await apply().then(() => false, (err: unknown) => (isBerthError(err, 'Invalid') ? true : Promise.reject(err))));
    if (rerun) {
      const runs = options.timeout === undefined ? [] : await podsOwnedBy(session, before);
      await session.client.delete(objectType, name, { namespace, propagationPolicy: 'Background' });
      if (options.timeout !== undefined) await waitPodsGone(session, namespace ?? '', runs, { timeout: options.timeout });
      await pollUntil(() => session.client.get(objectType, name, { namespace }).then(() => undefined, (err: unknown) => (isBerthError(err, 'NotFound') ? true : Promise.reject(err))), 0, () => '');
      return { outcome: 'changed', applied: await apply() };
    }
  }
  const applied = await apply();
  if (!before) return { outcome: 'created', applied };
  const changed = before.metadata.resourceVersion !== applied.metadata.resourceVersion;
  if (options.forceRecreate && (object.kind === 'Deployment' || object.kind === 'DaemonSet' || object.kind === 'StatefulSet')) {
    // kubectl rollout restart's stamp, under a manager of its own: the next plain `up` does not take it back.
    const restarted = await session.client.patch(objectType, name, { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: new Date().toISOString() } } } } }, {
      namespace,
      type: 'merge',
      fieldManager: RECREATE_FIELD_MANAGER,
    });
    return { outcome: 'changed', applied: restarted };
  }
  return { outcome: changed ? 'changed' : 'unchanged', applied };
}

/** The pods `owner` controls (a Job's runs), found by its service's label. */
async function podsOwnedBy(session: Session, owner: KubeObject): Promise<Pod[]> {
  const service = owner.metadata.labels?.[SERVICE_LABEL];
  if (service === undefined) return [];
  const pods = await session.client.list<Pod>(PODS, { namespace: owner.metadata.namespace, labelSelector: `${SERVICE_LABEL}=${service}` });
  return pods.items.filter((pod) => (pod.metadata.ownerReferences ?? []).some((ref) => ref.uid === owner.metadata.uid));
}

/** compose's lines for an applied object: the namespace is the project's network, claims its volumes, workloads its containers. */
function reportApplied(progress: ComposeProgress, project: string, object: KubeObject, outcome: ApplyOutcome, containers: string[]): void {
  if (object.kind === 'Namespace' && outcome === 'created') {
    progress.event('Network', `${project}_default`, 'Creating');
    progress.event('Network', `${project}_default`, 'Created', true);
  } else if (object.kind === 'PersistentVolumeClaim' && outcome === 'created') {
    progress.event('Volume', `"${object.metadata.name}"`, 'Creating');
    progress.event('Volume', `"${object.metadata.name}"`, 'Created', true);
  }
  for (const name of containers) progress.event('Container', name, outcome === 'created' ? 'Created' : outcome === 'changed' ? 'Recreated' : 'Running', true);
}

/** A namespace still terminating from a `down` would refuse the project's objects: `up` waits until it is gone. */
async function waitForNamespaceGone(session: Session, name: string, progress: ComposeProgress): Promise<void> {
  const terminating = async () => {
    const ns = await session.client.get(NAMESPACES, name).catch((err: unknown) => (isBerthError(err, 'NotFound') ? undefined : Promise.reject(err)));
    return !!ns?.metadata.deletionTimestamp;
  };
  if (!(await terminating())) return;
  progress.event('Network', `${name}_default`, 'Waiting');
  await pollUntil(async () => ((await terminating()) ? undefined : true), 0, () => '');
}

/** `--wait`: every service's workload running and ready (a Job complete), or a clear failure; past the timeout, which service is not and why. */
async function waitForServices(
  session: Session,
  project: ComposeProject,
  workloads: Array<{ service: string; type: ResourceType; object: KubeObject }>,
  timeoutSeconds: number,
  progress: ComposeProgress,
): Promise<void> {
  const deadline = timeoutSeconds > 0 ? Date.now() + timeoutSeconds * 1000 : 0;
  const pending = new Map(workloads.map((w) => [w.service, { ...w, state: workloadState(w.object) }]));
  for (const w of workloads) for (const name of containerNames(project.name, w.service, w.object)) progress.event('Container', name, 'Waiting');
  await pollUntil(
    async () => {
      for (const [service, entry] of pending) {
        const current = await session.client.get(entry.type, entry.object.metadata.name!, { namespace: project.name });
        entry.state = workloadState(current);
        const names = containerNames(project.name, service, current);
        if (entry.state.failed) {
          for (const name of names) progress.error('Container', name, 'Error');
          throw new BerthError('BadRequest', `service "${service}" failed: ${entry.state.failed}`);
        }
        if (!entry.state.done) continue;
        const healthcheck = project.services[service]?.healthcheck;
        const word = current.kind === 'Job' ? 'Exited' : healthcheck && !healthcheck.disable && healthcheck.test?.[0] !== 'NONE' ? 'Healthy' : 'Started';
        for (const name of names) progress.event('Container', name, word, true);
        pending.delete(service);
      }
      return pending.size === 0 ? true : undefined;
    },
    deadline,
    () =>
      `application not healthy after ${timeoutSeconds}s: ${[...pending].map(([service, entry]) => `service "${service}": ${entry.state.message || 'not ready'}`).join('; ')}`,
  );
}
