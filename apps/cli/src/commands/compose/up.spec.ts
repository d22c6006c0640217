import type { KubeObject, ResourceType } from '@berth/api';
import { PROJECT_LABEL, SERVICE_LABEL, type ComposeProject, type ServiceConfig } from '@berth/compose';
import { errors } from '@berth/errors';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session } from '../../session';
import { byDigest, clusterImageRef, composePush, type ComposeBuilder } from './build';
import { ComposeProgress } from './progress';
import { composeUp, CONFIG_FILES_ANNOTATION, COMPOSE_FIELD_MANAGER, selectServices, workloadState, type UpDependencies } from './up';

function service(name: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name, environment: {}, labels: {}, cap_add: [], cap_drop: [], profiles: [], depends_on: {}, ports: [], expose: [], volumes: [], tmpfs: [],
    configs: [], secrets: [], networks: { default: { aliases: [] } }, extra_hosts: [], dns: [], dns_search: [], sysctls: {}, ulimits: {},
    ...extra,
  };
}

function project(services: ServiceConfig[]): ComposeProject {
  return { name: 'shop', workingDir: '/src/shop', files: ['/src/shop/compose.yaml'], services: Object.fromEntries(services.map((s) => [s.name, s])), networks: {}, volumes: {}, configs: {}, secrets: {} };
}

const needs = (on: string) => ({ [on]: { condition: 'service_healthy' as const, required: true, restart: false } });

describe('selectServices', () => {
  const p = project([service('web', { depends_on: needs('api') }), service('api', { depends_on: needs('db') }), service('db'), service('cron')]);

  it('takes every service when none is named', () => {
    expect(Object.keys(selectServices(p, [], false).services)).toEqual(['web', 'api', 'db', 'cron']);
  });

  it('takes the named services and what they depend on, transitively; --no-deps only the named', () => {
    expect(Object.keys(selectServices(p, ['web'], false).services)).toEqual(['web', 'api', 'db']);
    expect(Object.keys(selectServices(p, ['web'], true).services)).toEqual(['web']);
  });

  it('refuses a service the project does not have, also one named like an Object.prototype key', () => {
    expect(() => selectServices(p, ['nope'], false)).toThrow('no such service: nope');
    expect(() => selectServices(p, ['constructor'], false)).toThrow('no such service: constructor');
  });
});

describe('clusterImageRef', () => {
  const p = project([]);
  it('names a built service REG/<project>/<service>:latest, or its image under the registry', () => {
    expect(clusterImageRef(p, service('web', { build: {} as ServiceConfig['build'] }), '10.0.0.1:5000')).toBe('10.0.0.1:5000/shop/web:latest');
    expect(clusterImageRef(p, service('web', { image: 'example/web:2' }), '10.0.0.1:5000')).toBe('10.0.0.1:5000/example/web:2');
    expect(clusterImageRef(p, service('web', { image: 'webapp' }), '10.0.0.1:5000')).toBe('10.0.0.1:5000/library/webapp:latest');
    expect(clusterImageRef(p, service('web', { image: '10.0.0.1:5000/team/web:3' }), '10.0.0.1:5000')).toBe('10.0.0.1:5000/team/web:3');
  });

  it('refuses an image by digest for a service that is built', () => {
    expect(() => clusterImageRef(p, service('web', { image: `web@sha256:${'a'.repeat(64)}` }), 'r:5000')).toThrow(/by digest/);
  });

  it('runs a built image by digest', () => {
    expect(byDigest('r:5000/shop/web:latest', `sha256:${'b'.repeat(64)}`)).toBe(`r:5000/shop/web@sha256:${'b'.repeat(64)}`);
  });
});

describe('workloadState', () => {
  const meta = { name: 'x', generation: 2 };
  it('is done for a Deployment rolled out with every replica available, not before', () => {
    const deployment = (available: number): KubeObject =>
      ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta, spec: { replicas: 2 }, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: available } }) as KubeObject;
    expect(workloadState(deployment(1)).done).toBe(false);
    expect(workloadState(deployment(2)).done).toBe(true);
  });

  it('is done for a complete Job, a failure for a failed one', () => {
    const job = (type: string): KubeObject => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta, status: { conditions: [{ type, status: 'True', reason: 'BackoffLimitExceeded' }] } }) as KubeObject;
    expect(workloadState(job('Complete')).done).toBe(true);
    expect(workloadState(job('Failed'))).toMatchObject({ done: false, failed: expect.stringContaining('BackoffLimitExceeded') });
  });

  it('waits for a DaemonSet until its pods on every node are updated and available', () => {
    const ds = (available: number): KubeObject =>
      ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta, status: { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: available, currentNumberScheduled: 3, numberMisscheduled: 0, numberReady: available } }) as KubeObject;
    expect(workloadState(ds(2)).done).toBe(false);
    expect(workloadState(ds(3)).done).toBe(true);
  });
});

describe('ComposeProgress', () => {
  it('writes every step as a plain line when not a terminal, only final states marked on a terminal', () => {
    const plain: string[] = [];
    const tty: string[] = [];
    for (const [lines, terminal] of [[plain, false], [tty, true]] as const) {
      const progress = new ComposeProgress((t) => lines.push(t), terminal);
      progress.event('Container', 'shop-web-1', 'Creating');
      progress.event('Container', 'shop-web-1', 'Created', true);
      progress.error('Container', 'shop-db-1', 'Error');
    }
    expect(plain.join('')).toBe(' Container shop-web-1  Creating\n Container shop-web-1  Created\n Container shop-db-1  Error\n');
    expect(tty.join('')).toBe(' ✔ Container shop-web-1  Created\n ✘ Container shop-db-1  Error\n');
  });
});

/**
 * The API as `up` uses it: objects by kind/namespace/name; a server-side apply stores the object as sent
 * (resourceVersion and generation move only when the content does), as the API server does for one manager.
 */
class FakeApi {
  objects = new Map<string, KubeObject>();
  applies: Array<{ kind: string; name: string; fieldManager: string }> = [];
  patches: Array<{ kind: string; name: string; fieldManager?: string }> = [];
  deletes: string[] = [];
  removed: KubeObject[] = [];
  private version = 0;
  private key = (type: ResourceType, name: string, namespace?: string) => `${type.kind}/${namespace ?? ''}/${name}`;

  readonly client = {
    get: async (type: ResourceType, name: string, opts: { namespace?: string } = {}) => {
      const object = this.objects.get(this.key(type, name, opts.namespace));
      if (!object) throw errors.notFound(type.plural, name);
      return structuredClone(object);
    },
    list: async (type: ResourceType, opts: { namespace?: string; labelSelector?: string }) => {
      if (opts.labelSelector === undefined) return { items: [...this.objects.values()].filter((o) => o.kind === type.kind && o.metadata.namespace === opts.namespace), metadata: {} };
      const [project, service] = (opts.labelSelector ?? '').split(',');
      const [, wanted] = project!.split('=');
      const items = [...this.objects.values()].filter(
        (o) => o.kind === type.kind && o.metadata.namespace === opts.namespace && o.metadata.labels?.[PROJECT_LABEL] === wanted && (service === undefined || o.metadata.labels?.[SERVICE_LABEL] !== undefined),
      );
      return { items: structuredClone(items) };
    },
    apply: async (type: ResourceType, object: KubeObject, opts: { namespace?: string; fieldManager: string }) => {
      this.applies.push({ kind: type.kind, name: object.metadata.name!, fieldManager: opts.fieldManager });
      const key = this.key(type, object.metadata.name!, opts.namespace);
      const before = this.objects.get(key);
      const { resourceVersion: _v, generation: _g, ...beforeMeta } = before?.metadata ?? {};
      if (before && JSON.stringify({ ...before, metadata: beforeMeta, status: undefined }) === JSON.stringify({ ...object, status: undefined })) return structuredClone(before);
      const stored = { ...structuredClone(object), metadata: { ...object.metadata, resourceVersion: String(++this.version), generation: (before?.metadata.generation ?? 0) + 1 } };
      this.objects.set(key, stored);
      return structuredClone(stored);
    },
    patch: async (type: ResourceType, name: string, _patch: unknown, opts: { namespace?: string; fieldManager?: string }) => {
      this.patches.push({ kind: type.kind, name, fieldManager: opts.fieldManager });
      const object = this.objects.get(this.key(type, name, opts.namespace))!;
      object.metadata.resourceVersion = String(++this.version);
      return structuredClone(object);
    },
    delete: async (type: ResourceType, name: string, opts: { namespace?: string; gracePeriodSeconds?: number }) => {
      this.deletes.push(`${type.kind}/${name}${opts.gracePeriodSeconds === undefined ? '' : ` within ${opts.gracePeriodSeconds}s`}`);
      const key = this.key(type, name, opts.namespace);
      const object = this.objects.get(key);
      this.objects.delete(key);
      if (object) this.removed.push(object);
      return {};
    },
    /** What was deleted since, as DELETED events. */
    watch: async (type: ResourceType) => {
      const removed = this.removed.filter((o) => o.kind === type.kind);
      return { close: () => undefined, async *[Symbol.asyncIterator]() { for (const object of removed) yield { type: 'DELETED', object }; } };
    },
  };

  session(): Session {
    return { client: this.client } as unknown as Session;
  }
}

/** A translation standing in for @berth/compose's: a Namespace, then a Deployment per service running `images[service]` or its image. */
function translate(p: ComposeProject, options: { images?: Record<string, string> }): KubeObject[] {
  const labels = { [PROJECT_LABEL]: p.name };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: p.name, labels } },
    ...Object.values(p.services).map(
      (s): KubeObject => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: s.name, namespace: p.name, labels: { ...labels, [SERVICE_LABEL]: s.name } },
        spec: { replicas: 1, template: { spec: { containers: [{ name: s.name, image: options.images?.[s.name] ?? s.image, command: s.command }] } } },
      }),
    ),
  ];
}

describe('composeUp', () => {
  const DIGEST = `sha256:${'c'.repeat(64)}`;
  let api: FakeApi;
  let lines: string[];
  let builds: string[];
  let pushes: string[];
  let deps: UpDependencies;

  beforeEach(() => {
    api = new FakeApi();
    lines = [];
    builds = [];
    pushes = [];
    const builder = {
      inspectImage: async (ref: string) => (builds.includes(ref) ? ({} as never) : Promise.reject(errors.notFound('images', ref))),
      pullImage: async (ref: string) => Promise.reject(errors.notFound('manifests', ref)),
      buildImage: async (_context: unknown, options: { tags?: string[] }) => {
        builds.push(...(options.tags ?? []));
        return {} as never;
      },
      pushImage: async (ref: string) => {
        pushes.push(ref);
        return { digest: DIGEST, size: 1 };
      },
    } as unknown as ComposeBuilder;
    deps = { translate, registryHost: async () => 'reg:5000', builder: async () => builder, credentials: { env: {} }, progress: new ComposeProgress((t) => lines.push(t), false) };
  });

  const shop = (command = ['httpd', '-f']) => project([service('web', { image: 'busybox', command }), service('db', { image: 'busybox' })]);

  it('applies the namespace (annotated with the files) and every workload with its own field manager, saying what it made', async () => {
    await composeUp(api.session(), shop(), [], { detach: true }, deps);
    expect(api.applies.map((a) => `${a.kind}/${a.name} ${a.fieldManager}`)).toEqual([`Namespace/shop ${COMPOSE_FIELD_MANAGER}`, `Deployment/web ${COMPOSE_FIELD_MANAGER}`, `Deployment/db ${COMPOSE_FIELD_MANAGER}`]);
    expect(api.objects.get('Namespace//shop')!.metadata.annotations).toEqual({ [CONFIG_FILES_ANNOTATION]: '/src/shop/compose.yaml' });
    expect(lines.join('')).toContain(' Network shop_default  Created\n');
    expect(lines.join('')).toContain(' Container shop-web-1  Created\n');
  });

  it('again with one service changed: only that one is Recreated, the other Running', async () => {
    await composeUp(api.session(), shop(), [], { detach: true }, deps);
    const dbVersion = api.objects.get('Deployment/shop/db')!.metadata.resourceVersion;
    lines = [];
    deps.progress = new ComposeProgress((t) => lines.push(t), false);
    await composeUp(api.session(), shop(['httpd', '-f', '-v']), [], { detach: true }, deps);
    expect(lines.join('')).toContain(' Container shop-web-1  Recreated\n');
    expect(lines.join('')).toContain(' Container shop-db-1  Running\n');
    expect(lines.join('')).not.toContain('Network');
    expect(api.objects.get('Deployment/shop/db')!.metadata.resourceVersion).toBe(dbVersion);
  });

  it('applies the Namespace and Services first when the translation asks for their ClusterIPs, each object once', async () => {
    const labels = (name: string) => ({ [PROJECT_LABEL]: 'shop', [SERVICE_LABEL]: name });
    const services = (): KubeObject[] => [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { [PROJECT_LABEL]: 'shop' } } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop', labels: labels('db') }, spec: { clusterIP: '10.96.0.7' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop', labels: labels('web') }, spec: { clusterIP: 'None' } },
    ];
    let given: Record<string, string> | undefined;
    deps.translateServices = services;
    deps.translate = (p, options) => {
      given = { ...options.serviceIPs };
      return [...services(), ...translate(p, options).slice(1)];
    };
    await composeUp(api.session(), shop(), [], { detach: true }, deps);
    // A headless Service's None too: the translation leaves that name to the cluster DNS.
    expect(given).toEqual({ db: '10.96.0.7', web: 'None' });
    expect(api.applies.map((a) => `${a.kind}/${a.name}`)).toEqual(['Namespace/shop', 'Service/db', 'Service/web', 'Deployment/web', 'Deployment/db']);
    expect(lines.filter((l) => l.includes('Network'))).toEqual([' Network shop_default  Creating\n', ' Network shop_default  Created\n']);
  });

  it('up SERVICE translates the whole project and makes workloads for the service and its dependencies only', async () => {
    const app = project([service('web', { image: 'busybox', depends_on: { db: { condition: 'service_started', required: true, restart: false } } }), service('db', { image: 'busybox' }), service('cron', { image: 'busybox' })]);
    const given: Array<{ services: string[]; translated: string[] }> = [];
    deps.translate = (p, options) => {
      given.push({ services: options.services, translated: Object.keys(p.services) });
      return translate(p, options).filter((o) => o.kind === 'Namespace' || options.services.includes(o.metadata.name!));
    };
    await composeUp(api.session(), app, ['web'], { detach: true }, deps);
    expect(given).toEqual([{ services: ['web', 'db'], translated: ['web', 'db', 'cron'] }]);
    expect(api.applies.map((a) => `${a.kind}/${a.name}`)).toEqual(['Namespace/shop', 'Deployment/web', 'Deployment/db']);
  });

  it('--force-recreate restarts unchanged workloads under a manager of its own', async () => {
    await composeUp(api.session(), shop(), [], { detach: true }, deps);
    await composeUp(api.session(), shop(), [], { detach: true, forceRecreate: true }, deps);
    expect(api.patches.map((p) => `${p.name} ${p.fieldManager}`)).toEqual(['web berth-compose-recreate', 'db berth-compose-recreate']);
  });

  it('warns of the workloads of services no longer in the file; --remove-orphans deletes them', async () => {
    await composeUp(api.session(), project([...Object.values(shop().services), service('old', { image: 'busybox' })]), [], { detach: true }, deps);
    lines = [];
    deps.progress = new ComposeProgress((t) => lines.push(t), false);
    await composeUp(api.session(), shop(), [], { detach: true }, deps);
    expect(lines.join('')).toContain('WARN[0000] Found orphan containers ([shop-old-1]) for this project.');
    expect(api.objects.has('Deployment/shop/old')).toBe(true);
    await composeUp(api.session(), shop(), [], { detach: true, removeOrphans: true }, deps);
    expect(api.deletes).toEqual(['Deployment/old']);
  });

  it('-t gives the containers it removes that long to stop (their own grace period otherwise)', async () => {
    await composeUp(api.session(), project([...Object.values(shop().services), service('old', { image: 'busybox' })]), [], { detach: true }, deps);
    const labels = { [PROJECT_LABEL]: 'shop', [SERVICE_LABEL]: 'old' };
    // Being deleted (by the garbage collector, as its Deployment goes) within its own 30 seconds.
    const terminating = { uid: 'u1', deletionTimestamp: '2026-12-07T10:00:00Z', deletionGracePeriodSeconds: 30 };
    api.objects.set('Pod/shop/old-7d9f-x2', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'old-7d9f-x2', namespace: 'shop', labels, ...terminating } });
    await composeUp(api.session(), shop(), [], { detach: true, removeOrphans: true, timeout: 3 }, deps);
    expect(api.deletes).toEqual(['Deployment/old', 'Pod/old-7d9f-x2 within 3s']);
    expect(lines.join('')).toContain(' Container old-7d9f-x2  Removed\n');
  });

  it('--wait says Waiting for each container, then fails past --wait-timeout with a line naming each service not there and why', async () => {
    await expect(composeUp(api.session(), shop(), [], { detach: true, wait: true, waitTimeout: 1 }, deps)).rejects.toThrow(
      'application not healthy after 1s: service "web": Waiting for deployment spec update to be observed...; service "db": Waiting for deployment spec update to be observed...',
    );
    expect(lines).toContain(' Container shop-web-1  Waiting\n');
  });

  it('--wait reports a service Healthy (with a healthcheck) or Started once its workload is ready', async () => {
    const ready = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 };
    const get = api.client.get;
    api.client.get = async (type, name, opts) => {
      const object = await get(type, name, opts);
      return object.kind === 'Deployment' ? { ...object, status: ready } : object;
    };
    const p = project([service('web', { image: 'busybox' }), service('db', { image: 'busybox', healthcheck: { test: ['CMD', 'true'] } })]);
    await composeUp(api.session(), p, [], { detach: true, wait: true }, deps);
    expect(lines).toEqual(expect.arrayContaining([' Container shop-web-1  Started\n', ' Container shop-db-1  Healthy\n']));
  });

  it('pushes a built image the node has without building it again', async () => {
    const built = project([service('web', { build: { context: '/nonexistent-context', dockerfile: 'Dockerfile', args: {}, labels: {}, tags: [] } })]);
    builds.push('reg:5000/shop/web:latest');
    await composeUp(api.session(), built, [], { detach: true }, deps);
    expect(builds).toEqual(['reg:5000/shop/web:latest']);
    expect(pushes).toEqual(['reg:5000/shop/web:latest']);
  });

  it('builds a service with build that is neither on the node nor in the registry, pushes it and runs it by digest', async () => {
    const built = project([service('web', { build: { context: '/nonexistent-context', dockerfile: 'Dockerfile', dockerfile_inline: 'FROM busybox\n', args: {}, labels: {}, tags: [] } })]);
    // The context does not exist: the build is refused before anything reaches runtimed.
    await expect(composeUp(api.session(), built, [], { detach: true }, deps)).rejects.toThrow('unable to prepare context: path "/nonexistent-context" not found');
    await expect(composeUp(api.session(), built, [], { detach: true, noBuild: true }, deps)).rejects.toThrow('reg:5000/shop/web:latest is neither on this node nor in the cluster registry');
    const context = mkdtempSync(join(tmpdir(), 'compose-up-spec-'));
    try {
      built.services.web!.build!.context = context;
      await composeUp(api.session(), built, [], { detach: true }, deps);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    expect(builds).toEqual(['reg:5000/shop/web:latest']);
    expect(pushes).toEqual(['reg:5000/shop/web:latest']);
    expect(lines.join('')).toContain(' Service web  Building\n Service web  Built\n');
    const web = api.objects.get('Deployment/shop/web') as KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
    expect(web.spec.template.spec.containers[0]!.image).toBe(`reg:5000/shop/web@${DIGEST}`);
  });
});

describe('composePush', () => {
  const BUILD = { context: '/nonexistent-context', dockerfile: 'Dockerfile', args: {}, labels: {}, tags: [] };
  let pushes: string[];
  let lines: string[];
  let onNode: string[];
  const builder = () =>
    Promise.resolve({
      inspectImage: async (ref: string) => (onNode.includes(ref) ? ({} as never) : Promise.reject(errors.notFound('images', ref))),
      pushImage: async (ref: string) => {
        pushes.push(ref);
        return { digest: `sha256:${'d'.repeat(64)}`, size: 1 };
      },
    } as unknown as ComposeBuilder);
  const push = (p: ComposeProject, services: string[], options: { ignorePushFailures?: boolean } = {}) =>
    composePush(builder, p, services, async () => 'reg:5000', options, { env: {} }, new ComposeProgress((t) => lines.push(t), false));

  beforeEach(() => {
    pushes = [];
    lines = [];
    onNode = [];
  });

  it('pushes the built images of the services with build, and only those', async () => {
    onNode = ['reg:5000/shop/web:latest'];
    await push(project([service('web', { build: BUILD }), service('db', { image: 'busybox' })]), []);
    expect(pushes).toEqual(['reg:5000/shop/web:latest']);
    expect(lines.join('')).toContain(' Image reg:5000/shop/web:latest  Pushed\n');
  });

  it('an image not built yet fails its service with a line; --ignore-push-failures pushes the rest and succeeds', async () => {
    onNode = ['reg:5000/shop/api:latest'];
    const p = project([service('web', { build: BUILD }), service('api', { build: BUILD })]);
    await expect(push(p, [])).rejects.toThrow('push failed for web');
    expect(lines.join('')).toContain('no such image on this node: reg:5000/shop/web:latest (berth compose build web first)');
    pushes = [];
    await push(p, [], { ignorePushFailures: true });
    expect(pushes).toEqual(['reg:5000/shop/api:latest']);
  });

  it('refuses a service the project does not have', async () => {
    await expect(push(project([service('web', { build: BUILD })]), ['nope'])).rejects.toThrow('no such service: nope');
  });
});
