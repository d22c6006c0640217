import type { KubeObject, Namespace, Pod, ResourceType, Service } from '@berth/api';
import { loadProject, PROJECT_LABEL, SERVICE_LABEL, type LoadOptions } from '@berth/compose';
import { BerthError, isBerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { basename, resolve } from 'node:path';
import { builtinType } from '../../kinds';
import { isNotFound, watchUntil } from '../workloads';
import type { Session } from '../../session';
import type { ComposeGlobalOptions } from './index';
import { byCreation } from './format';

/**
 * Waits until these pods are gone, telling `gone` of each as it goes. With `timeout` (`-t N` of `stop` and
 * `up`), each one whose deletion (by its controller or the garbage collector) gives it longer than N seconds is
 * deleted again with N, which shortens the deletion under way. A pod is never deleted before its controller
 * deletes it: the controller would replace it.
 */
export async function waitPodsGone(session: Session, namespace: string, pods: readonly Pod[], options: { timeout?: number; gone?: (pod: Pod) => void } = {}): Promise<void> {
  const left = new Map(pods.map((pod) => [pod.metadata.uid ?? '', pod]));
  const shortened = new Set<string>();
  let failure: unknown;
  const shorten = (pod: Pod, seconds: number) => {
    shortened.add(pod.metadata.uid ?? '');
    session.client
      .delete(TYPES.pods, pod.metadata.name ?? '', { namespace, gracePeriodSeconds: seconds, preconditions: { uid: pod.metadata.uid } })
      .catch((err: unknown) => (isNotFound(err) || (err instanceof StatusError && err.reason === 'Conflict') ? undefined : (failure ??= err)));
  };
  await watchUntil<Pod, true>(session, TYPES.pods, { namespace }, (current) => {
    const present = new Map(current.map((pod) => [pod.metadata.uid ?? '', pod]));
    for (const [uid, pod] of [...left]) {
      const now = present.get(uid);
      if (now) {
        const grace = now.metadata.deletionGracePeriodSeconds;
        if (options.timeout !== undefined && now.metadata.deletionTimestamp && (grace === undefined || grace > options.timeout) && !shortened.has(uid)) shorten(now, options.timeout);
        continue;
      }
      left.delete(uid);
      options.gone?.(pod);
    }
    return left.size === 0 || undefined;
  });
  if (failure) throw failure;
}

/** A one-off container (`compose run`), as Docker labels it; `ps`, `logs` and the lifecycle verbs leave them out. */
export const ONEOFF_LABEL = 'com.docker.compose.oneoff';
/** The replicas a stopped service had, kept on its workload by `stop` for `start`. */
export const REPLICAS_ANNOTATION = 'compose.berth.dev/replicas';
/** The compose files `up` read, comma-separated, on the project's namespace (`compose ls` shows them). */
export const CONFIG_FILES_ANNOTATION = 'compose.berth.dev/config-files';

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** compose's normalisation of a directory name: lower case, only [a-z0-9_-], starting with a letter or digit. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
}

/**
 * The project these verbs act on: `-p`, else `$COMPOSE_PROJECT_NAME`, else the project directory's (or the
 * working directory's) base name, normalised. (The compose file's `name:` comes in between once the
 * verbs read the file through the loader.) A `-p` or variable that is not a valid name is refused.
 */
export function composeProjectName(options: Pick<ComposeGlobalOptions, 'projectName' | 'projectDirectory'>, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const given = options.projectName ?? (env.COMPOSE_PROJECT_NAME || undefined);
  if (given !== undefined) {
    if (!PROJECT_NAME.test(given) || given.length > 63) {
      throw new BerthError(
        'BadRequest',
        `invalid project name ${JSON.stringify(given)}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
      );
    }
    return given;
  }
  const name = normalizeProjectName(basename(resolve(cwd, options.projectDirectory ?? '.')));
  if (!name) throw new BerthError('BadRequest', `project name must not be empty: give one with -p`);
  return name;
}

/**
 * The project a verb on a running project means, as docker compose finds it: `-p`; else what the compose
 * files say (COMPOSE_PROJECT_NAME, also from `.env`, then the file's `name:`, then its directory's name),
 * read by the loader; else, with no compose file here or above, COMPOSE_PROJECT_NAME or the working
 * directory's name (the project may be run from anywhere once it is up).
 */
export async function projectNameFor(options: Pick<ComposeGlobalOptions, 'projectName' | 'projectDirectory' | 'file'>, load: LoadOptions, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (options.projectName !== undefined) return composeProjectName(options, env);
  try {
    return (await loadProject({ ...load, env })).name;
  } catch (err) {
    const noFile = isBerthError(err, 'NotFound') && err.message.startsWith('no configuration file provided') && options.file.length === 0;
    if (!noFile) throw err;
    return composeProjectName(options, env);
  }
}

export const TYPES = {
  pods: builtinType('pods'),
  services: builtinType('services'),
  deployments: builtinType('deployments'),
  daemonsets: builtinType('daemonsets'),
  statefulsets: builtinType('statefulsets'),
  jobs: builtinType('jobs'),
  namespaces: builtinType('namespaces'),
  nodes: builtinType('nodes'),
  pvcs: builtinType('persistentvolumeclaims'),
  pvs: builtinType('persistentvolumes'),
};

/** The kinds a service's workload can be, as the translation makes them. */
export const WORKLOAD_TYPES: readonly ResourceType[] = [TYPES.deployments, TYPES.daemonsets, TYPES.statefulsets, TYPES.jobs];

export interface Workload {
  type: ResourceType;
  object: KubeObject & { spec?: { replicas?: number; template?: { metadata?: KubeObject['metadata']; spec?: Pod['spec'] } } };
  service: string;
}

export function serviceOf(object: KubeObject): string {
  return object.metadata.labels?.[SERVICE_LABEL] ?? '';
}

export function projectSelector(project: string, extra = ''): string {
  return `${PROJECT_LABEL}=${project}${extra}`;
}

/** A `no such service: x` or `no such project: x` failure: one line, exit 1. */
export function noSuch(what: 'service' | 'project', name: string): BerthError {
  return new BerthError('NotFound', `no such ${what}: ${name}`);
}

/**
 * One project in the cluster, found by its labels in its namespace: the workloads (one per service),
 * the pods, the Services. Every list is one request, made when first asked for.
 */
export class ComposeProjectScope {
  private workloadsValue: Promise<Workload[]> | undefined;

  constructor(
    readonly session: Session,
    readonly name: string,
  ) {}

  /** The project's namespace, or `no such project` when it is not there (or is not a compose project). */
  async namespace(): Promise<Namespace> {
    try {
      const ns = await this.session.client.get<Namespace>(TYPES.namespaces, this.name);
      if (ns.metadata.labels?.[PROJECT_LABEL] !== this.name) throw noSuch('project', this.name);
      return ns;
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'NotFound') throw noSuch('project', this.name);
      throw err;
    }
  }

  async list<T extends KubeObject>(type: ResourceType, extraSelector = ''): Promise<T[]> {
    return (await this.session.client.list<T>(type, { namespace: this.name, labelSelector: projectSelector(this.name, extraSelector) })).items;
  }

  /** Every service's workload, in service-name order. */
  workloads(): Promise<Workload[]> {
    this.workloadsValue ??= (async () => {
      const lists = await Promise.all(WORKLOAD_TYPES.map(async (type) => (await this.list<Workload['object']>(type)).map((object) => ({ type, object, service: serviceOf(object) }))));
      return lists.flat().filter((w) => w.service !== '').sort((a, b) => a.service.localeCompare(b.service));
    })();
    return this.workloadsValue;
  }

  /** The workloads of the named services (all when none is named); a name without one is `no such service`. */
  async selectWorkloads(services: string[]): Promise<Workload[]> {
    const all = await this.workloads();
    if (services.length === 0) {
      if (all.length === 0) await this.namespace();
      return all;
    }
    for (const service of services) if (!all.some((w) => w.service === service)) throw noSuch('service', service);
    return all.filter((w) => services.includes(w.service));
  }

  /**
   * The pods of the project's services, each numbered within its service from 1 in creation order; with
   * `oneoff` also the one-off pods of `compose run` (service from their annotation, numbered 0).
   */
  async pods(options: { oneoff?: boolean } = {}): Promise<Array<{ pod: Pod; service: string; index: number }>> {
    const counts = new Map<string, number>();
    return byCreation(await this.list<Pod>(TYPES.pods)).flatMap((pod) => {
      if (pod.metadata.labels?.[ONEOFF_LABEL] === 'True') {
        const service = pod.metadata.annotations?.[SERVICE_LABEL] ?? '';
        return options.oneoff && service ? [{ pod, service, index: 0 }] : [];
      }
      const service = serviceOf(pod);
      if (!service) return [];
      const index = (counts.get(service) ?? 0) + 1;
      counts.set(service, index);
      return [{ pod, service, index }];
    });
  }

  /** The pods of the named services, checked as selectWorkloads checks them. */
  async servicePods(services: string[], options: { oneoff?: boolean } = {}): Promise<Array<{ pod: Pod; service: string; index: number }>> {
    await this.selectWorkloads(services);
    const pods = await this.pods(options);
    return services.length === 0 ? pods : pods.filter((p) => services.includes(p.service));
  }

  /** The project's Services (network endpoints), by compose service. */
  async services(): Promise<Map<string, Service[]>> {
    const byService = new Map<string, Service[]>();
    for (const service of await this.list<Service>(TYPES.services)) {
      const name = serviceOf(service);
      byService.set(name, [...(byService.get(name) ?? []), service]);
    }
    return byService;
  }
}
