// The apiserver through @kubernetes/client-node, the way controllers and the CLI talk to it.
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1ConfigMap,
  V1Deployment,
  Watch,
} from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';
import { kubeConfigFor, startBerthServer, TestServer, waitFor } from '@berth/testing';

let server: TestServer;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let namespaceCounter = 0;

beforeAll(async () => {
  server = await startBerthServer();
  kc = kubeConfigFor(server);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});

afterAll(async () => {
  await server?.cleanup();
});

async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${++namespaceCounter}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** The HTTP code and Status of a failed client call. */
async function failure(call: Promise<unknown>): Promise<{ code: number; status: { reason?: string; message?: string; code?: number } }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, status: JSON.parse(err.body as string) };
    throw err;
  }
  throw new Error('the call succeeded');
}

function configMap(name: string, data: Record<string, string>, labels?: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

function deployment(name: string, replicas = 1): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
    },
  };
}

interface SeenEvent {
  type: string;
  name?: string;
  resourceVersion?: string;
  object: { metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> } };
}

/** Opens a client-node Watch and records its events. */
async function recordWatch(path: string, query: Record<string, string | number | boolean | undefined>) {
  const events: SeenEvent[] = [];
  let ended: unknown = undefined;
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, object) => events.push({ type, name: object?.metadata?.name, resourceVersion: object?.metadata?.resourceVersion, object }),
    (err) => (ended = err ?? 'closed'),
  );
  return {
    events,
    ended: () => ended,
    until: (count: number) => waitFor(() => events.length >= count, 15_000, `${count} watch events (have ${JSON.stringify(events.map((e) => [e.type, e.name]))})`),
    stop: () => controller.abort(),
  };
}

describe('objects', () => {
  test('create, read, replace, delete a ConfigMap with system metadata and optimistic concurrency', async () => {
    const namespace = await freshNamespace('crud');
    const created = await core.createNamespacedConfigMap({ namespace, body: configMap('one', { a: '1' }) });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.namespace).toBe(namespace);
    const rv1 = created.metadata!.resourceVersion!;
    expect(Number(rv1)).toBeGreaterThan(0);

    const read = await core.readNamespacedConfigMap({ name: 'one', namespace });
    expect(read.data).toEqual({ a: '1' });
    expect(read.metadata?.resourceVersion).toBe(rv1);

    const replaced = await core.replaceNamespacedConfigMap({ name: 'one', namespace, body: { ...read, data: { a: '2' } } });
    expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(rv1));
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);

    const stale = await failure(core.replaceNamespacedConfigMap({ name: 'one', namespace, body: { ...read, data: { a: '3' } } }));
    expect(stale.code).toBe(409);
    expect(stale.status.reason).toBe('Conflict');
    expect(stale.status.message).toContain('the object has been modified; please apply your changes to the latest version and try again');

    const again = await failure(core.createNamespacedConfigMap({ namespace, body: configMap('one', {}) }));
    expect(again.code).toBe(409);
    expect(again.status.reason).toBe('AlreadyExists');

    await core.deleteNamespacedConfigMap({ name: 'one', namespace });
    const gone = await failure(core.readNamespacedConfigMap({ name: 'one', namespace }));
    expect(gone.code).toBe(404);
    expect(gone.status.message).toBe('configmaps "one" not found');
  });

  test('a replace that changes nothing writes nothing and keeps the resourceVersion', async () => {
    const namespace = await freshNamespace('noop');
    const created = await core.createNamespacedConfigMap({ namespace, body: configMap('same', { a: '1' }) });
    const replaced = await core.replaceNamespacedConfigMap({ name: 'same', namespace, body: created });
    expect(replaced.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const patched = await core.patchNamespacedConfigMap(
      { name: 'same', namespace, body: { data: { a: '1' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  });

  test('generateName gives a unique name; dryRun stores nothing', async () => {
    const namespace = await freshNamespace('gen');
    const made = await core.createNamespacedConfigMap({ namespace, body: { metadata: { generateName: 'cfg-' }, data: {} } });
    expect(made.metadata?.name).toMatch(/^cfg-[a-z0-9]{5}$/);
    const dry = await core.createNamespacedConfigMap({ namespace, dryRun: 'All', body: configMap('dry', { a: '1' }) });
    expect(dry.metadata?.name).toBe('dry');
    expect((await failure(core.readNamespacedConfigMap({ name: 'dry', namespace }))).code).toBe(404);
  });

  test('creating in a missing namespace is 404; invalid objects are 422 naming the field', async () => {
    const missing = await failure(core.createNamespacedConfigMap({ namespace: 'no-such-ns', body: configMap('x', {}) }));
    expect(missing.code).toBe(404);
    expect(missing.status.message).toBe('namespaces "no-such-ns" not found');
    const namespace = await freshNamespace('invalid');
    const invalid = await failure(core.createNamespacedConfigMap({ namespace, body: configMap('Bad_Name', {}) }));
    expect(invalid.code).toBe(422);
    expect(invalid.status.reason).toBe('Invalid');
    expect(invalid.status.message).toContain('metadata.name');
    const noImage = deployment('noimage');
    delete noImage.spec!.template.spec!.containers[0].image;
    const required = await failure(apps.createNamespacedDeployment({ namespace, body: noImage }));
    expect(required.code).toBe(422);
    expect(required.status.message).toContain('spec.template.spec.containers[0].image: Required value');
  });

  test('label and field selectors on namespaced and all-namespaces lists', async () => {
    const a = await freshNamespace('sel');
    const b = await freshNamespace('sel');
    await core.createNamespacedConfigMap({ namespace: a, body: configMap('web', {}, { app: 'web', tier: 'fe' }) });
    await core.createNamespacedConfigMap({ namespace: a, body: configMap('db', {}, { app: 'db' }) });
    await core.createNamespacedConfigMap({ namespace: b, body: configMap('web', {}, { app: 'web' }) });

    const names = (list: { items: V1ConfigMap[] }) => list.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`).sort();
    expect(names(await core.listNamespacedConfigMap({ namespace: a, labelSelector: 'app=web' }))).toEqual([`${a}/web`]);
    expect(names(await core.listNamespacedConfigMap({ namespace: a, labelSelector: 'app in (web,db),!tier' }))).toEqual([`${a}/db`]);
    expect(names(await core.listNamespacedConfigMap({ namespace: a, fieldSelector: 'metadata.name=db' }))).toEqual([`${a}/db`]);
    const everywhere = await core.listConfigMapForAllNamespaces({ labelSelector: 'app=web' });
    expect(names(everywhere)).toEqual(expect.arrayContaining([`${a}/web`, `${b}/web`]));
    expect(Number(everywhere.metadata?.resourceVersion)).toBeGreaterThan(0);

    const bad = await failure(core.listNamespacedConfigMap({ namespace: a, labelSelector: 'app in (' }));
    expect(bad.code).toBe(400);
    await core.deleteCollectionNamespacedConfigMap({ namespace: a, labelSelector: 'app=web' });
    expect(names(await core.listNamespacedConfigMap({ namespace: a }))).toEqual([`${a}/db`]);
  });

  test('events are found by involvedObject uid, as kubectl describe asks', async () => {
    const namespace = await freshNamespace('events');
    const cm = await core.createNamespacedConfigMap({ namespace, body: configMap('target', {}) });
    const uid = cm.metadata!.uid!;
    const event = (name: string, involvedUid: string) =>
      core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name },
          involvedObject: { kind: 'ConfigMap', name: 'target', namespace, uid: involvedUid, apiVersion: 'v1' },
          reason: 'Tested',
          message: 'hello',
          type: 'Normal',
          source: { component: 'test' },
          count: 1,
        },
      });
    await event('mine', uid);
    await event('other', '00000000-0000-0000-0000-000000000000');
    const found = await core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=target,involvedObject.namespace=${namespace},involvedObject.uid=${uid}`,
    });
    expect(found.items.map((e) => e.metadata?.name)).toEqual(['mine']);
  });
});

describe('watch', () => {
  test('streams ADDED, MODIFIED, DELETED in order from a list resourceVersion', async () => {
    const namespace = await freshNamespace('watch');
    const list = await core.listNamespacedConfigMap({ namespace });
    const watch = await recordWatch(`/api/v1/namespaces/${namespace}/configmaps`, { resourceVersion: list.metadata!.resourceVersion });
    try {
      const created = await core.createNamespacedConfigMap({ namespace, body: configMap('w', { a: '1' }) });
      const updated = await core.replaceNamespacedConfigMap({ name: 'w', namespace, body: { ...created, data: { a: '2' } } });
      await core.deleteNamespacedConfigMap({ name: 'w', namespace });
      await watch.until(3);
      expect(watch.events.map((e) => [e.type, e.name])).toEqual([
        ['ADDED', 'w'],
        ['MODIFIED', 'w'],
        ['DELETED', 'w'],
      ]);
      expect(watch.events[0].resourceVersion).toBe(created.metadata?.resourceVersion);
      expect(watch.events[1].resourceVersion).toBe(updated.metadata?.resourceVersion);
      expect(Number(watch.events[2].resourceVersion)).toBeGreaterThan(Number(updated.metadata?.resourceVersion));
    } finally {
      watch.stop();
    }
  });

  test('without a resourceVersion it starts with the current objects; selectors turn moves into ADDED/DELETED', async () => {
    const namespace = await freshNamespace('watchsel');
    await core.createNamespacedConfigMap({ namespace, body: configMap('in', {}, { app: 'web' }) });
    await core.createNamespacedConfigMap({ namespace, body: configMap('out', {}, { app: 'db' }) });
    const watch = await recordWatch(`/api/v1/namespaces/${namespace}/configmaps`, { labelSelector: 'app=web' });
    try {
      await watch.until(1);
      const label = (name: string, app: string) =>
        core.patchNamespacedConfigMap(
          { name, namespace, body: { metadata: { labels: { app } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      await label('in', 'db');
      await label('out', 'web');
      await watch.until(3);
      expect(watch.events.map((e) => [e.type, e.name])).toEqual([
        ['ADDED', 'in'],
        ['DELETED', 'in'],
        ['ADDED', 'out'],
      ]);
    } finally {
      watch.stop();
    }
  });

  test('bookmarks when allowed, and the stream ends at timeoutSeconds', async () => {
    const namespace = await freshNamespace('bookmark');
    const list = await core.listNamespacedConfigMap({ namespace });
    const watch = await recordWatch(`/api/v1/namespaces/${namespace}/configmaps`, {
      resourceVersion: list.metadata!.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
    });
    try {
      await watch.until(1);
      expect(watch.events[0].type).toBe('BOOKMARK');
      expect(watch.events[0].resourceVersion).toBe(list.metadata!.resourceVersion);
      await waitFor(() => watch.ended(), 10_000, 'the watch to end');
    } finally {
      watch.stop();
    }
  });
});

describe('subresources', () => {
  test('status is written only through /status; generation follows spec changes only', async () => {
    const namespace = await freshNamespace('status');
    const created = await apps.createNamespacedDeployment({ namespace, body: { ...deployment('web'), status: { replicas: 9 } } });
    expect(created.metadata?.generation).toBe(1);
    expect(created.status?.replicas).toBeUndefined();

    const withStatus = await apps.replaceNamespacedDeploymentStatus({
      name: 'web',
      namespace,
      body: { ...created, spec: { ...created.spec!, replicas: 7 }, status: { replicas: 1, observedGeneration: 1 } },
    });
    expect(withStatus.status?.replicas).toBe(1);
    expect(withStatus.spec?.replicas).toBe(1);
    expect(withStatus.metadata?.generation).toBe(1);

    const mainWrite = await apps.replaceNamespacedDeployment({
      name: 'web',
      namespace,
      body: { ...withStatus, spec: { ...withStatus.spec!, replicas: 3 }, status: { replicas: 42 } },
    });
    expect(mainWrite.spec?.replicas).toBe(3);
    expect(mainWrite.status?.replicas).toBe(1);
    expect(mainWrite.metadata?.generation).toBe(2);

    const relabeled = await apps.patchNamespacedDeployment(
      { name: 'web', namespace, body: { metadata: { labels: { extra: 'yes' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(relabeled.metadata?.generation).toBe(2);
    expect(relabeled.metadata?.labels).toEqual({ app: 'web', extra: 'yes' });
  });

  test('a new pod starts Pending whatever status it was sent with', async () => {
    const namespace = await freshNamespace('pending');
    const pod = await core.createNamespacedPod({
      namespace,
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] }, status: { phase: 'Running' } },
    });
    expect(pod.status?.phase).toBe('Pending');
  });

  test('scale reads and writes replicas as an autoscaling/v1 Scale', async () => {
    const namespace = await freshNamespace('scale');
    await apps.createNamespacedDeployment({ namespace, body: deployment('web', 2) });
    const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace });
    expect(scale.kind).toBe('Scale');
    expect(scale.apiVersion).toBe('autoscaling/v1');
    expect(scale.spec?.replicas).toBe(2);
    expect(scale.status?.selector).toBe('app=web');

    const patched = await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace, body: { spec: { replicas: 5 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.spec?.replicas).toBe(5);
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.replicas).toBe(5);

    const replaced = await apps.replaceNamespacedDeploymentScale({ name: 'web', namespace, body: { ...patched, spec: { replicas: 1 } } });
    expect(replaced.spec?.replicas).toBe(1);
    const stale = await failure(apps.replaceNamespacedDeploymentScale({ name: 'web', namespace, body: { ...patched, spec: { replicas: 4 } } }));
    expect(stale.code).toBe(409);
  });
});

describe('deletion', () => {
  test('finalizers hold an object with a deletionTimestamp until the last one is removed', async () => {
    const namespace = await freshNamespace('final');
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] }, data: {} } });
    await core.deleteNamespacedConfigMap({ name: 'held', namespace });
    const held = await core.readNamespacedConfigMap({ name: 'held', namespace });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    await core.patchNamespacedConfigMap(
      { name: 'held', namespace, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect((await failure(core.readNamespacedConfigMap({ name: 'held', namespace }))).code).toBe(404);
  });

  test('deleting a namespace removes what is in it, refuses new content meanwhile, then removes the namespace', async () => {
    const namespace = await freshNamespace('doomed');
    await core.createNamespacedConfigMap({ namespace, body: configMap('plain', {}) });
    await apps.createNamespacedDeployment({ namespace, body: deployment('web') });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] }, data: {} } });

    const terminating = await core.deleteNamespace({ name: namespace });
    expect((terminating as { status?: { phase?: string } }).status?.phase).toBe('Terminating');
    await waitFor(async () => (await core.listNamespacedConfigMap({ namespace })).items.length === 1, 15_000, 'content deleted');
    expect((await apps.listNamespacedDeployment({ namespace })).items).toEqual([]);
    expect((await core.readNamespace({ name: namespace })).status?.phase).toBe('Terminating');

    const refused = await failure(core.createNamespacedConfigMap({ namespace, body: configMap('late', {}) }));
    expect(refused.code).toBe(403);
    expect(refused.status.message).toContain('because it is being terminated');

    await core.patchNamespacedConfigMap(
      { name: 'held', namespace, body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor(async () => (await failure(core.readNamespace({ name: namespace }))).code === 404, 40_000, 'namespace removed');
  });

  test('the system namespaces exist and default cannot be deleted', async () => {
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']));
    expect((await failure(core.deleteNamespace({ name: 'default' }))).code).toBe(403);
  });
});

describe('HTTP edge', () => {
  const json = { 'Content-Type': 'application/json' };

  test('401 without a valid token, except on health and version', async () => {
    for (const headers of [{ Authorization: '' }, { Authorization: 'Bearer wrong' }]) {
      const res = await server.fetch('/api/v1/namespaces', { headers });
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
    for (const path of ['/healthz', '/livez', '/readyz', '/version']) {
      expect((await server.fetch(path, { headers: { Authorization: '' } })).status).toBe(200);
    }
  });

  test('400 for malformed bodies and unknown fields under Strict; a Warning under Warn', async () => {
    const namespace = await freshNamespace('edge');
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    const malformed = await server.fetch(path, { method: 'POST', body: '{"metadata": ', headers: json });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const badYaml = await server.fetch(path, { method: 'POST', body: 'a: [', headers: { 'Content-Type': 'application/yaml' } });
    expect(badYaml.status).toBe(400);

    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u' }, data: {}, dataz: 1 });
    const strict = await server.fetch(`${path}?fieldValidation=Strict`, { method: 'POST', body, headers: json });
    expect(strict.status).toBe(400);
    expect(JSON.parse(strict.body).message).toBe('strict decoding error: unknown field "dataz"');
    const warn = await server.fetch(`${path}?fieldValidation=Warn`, { method: 'POST', body, headers: json });
    expect(warn.status).toBe(201);
    expect(String(warn.headers.warning)).toContain('unknown field \\"dataz\\"');
  });

  test('413 for a body over 3 MiB, 415 for an unknown patch type, 405 for a wrong method', async () => {
    const namespace = await freshNamespace('limits');
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    const huge = JSON.stringify({ metadata: { name: 'huge' }, data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    const tooLarge = await server.fetch(path, { method: 'POST', body: huge, headers: json });
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body)).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge', code: 413 });

    await core.createNamespacedConfigMap({ namespace, body: configMap('p', {}) });
    const unsupported = await server.fetch(`${path}/p`, { method: 'PATCH', body: '{}', headers: { 'Content-Type': 'text/plain' } });
    expect(unsupported.status).toBe(415);
    expect(JSON.parse(unsupported.body).reason).toBe('UnsupportedMediaType');
    expect((await server.fetch(`${path}/p`, { method: 'POST', body: '{}', headers: json })).status).toBe(405);
    expect((await server.fetch('/api/v1/nosuchthings')).status).toBe(404);
  });

  test('stale resourceVersion preconditions on PATCH and DELETE are 409 Conflict', async () => {
    const namespace = await freshNamespace('precond');
    const made = await core.createNamespacedConfigMap({ namespace, body: configMap('c', { a: '1' }) });
    const rv = made.metadata!.resourceVersion!;
    const path = `/api/v1/namespaces/${namespace}/configmaps/c`;
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    expect((await server.fetch(`${path}?resourceVersion=${rv}`, { method: 'PATCH', body: '{"data":{"a":"2"}}', headers: merge })).status).toBe(200);
    const stale = await server.fetch(`${path}?resourceVersion=${rv}`, { method: 'PATCH', body: '{"data":{"a":"3"}}', headers: merge });
    expect(stale.status).toBe(409);
    const staleBody = await server.fetch(path, { method: 'PATCH', body: JSON.stringify({ metadata: { resourceVersion: rv }, data: { a: '4' } }), headers: merge });
    expect(staleBody.status).toBe(409);
    const deleteStale = await server.fetch(path, { method: 'DELETE', body: JSON.stringify({ preconditions: { resourceVersion: rv } }), headers: json });
    expect(deleteStale.status).toBe(409);
    expect((await core.readNamespacedConfigMap({ name: 'c', namespace })).data).toEqual({ a: '2' });
  });

  test('server-side apply creates (201), records managedFields, and a repeat changes nothing', async () => {
    const namespace = await freshNamespace('ssa');
    const path = `/apis/apps/v1/namespaces/${namespace}/deployments/web?fieldManager=tester&fieldValidation=Strict`;
    const headers = { 'Content-Type': 'application/apply-patch+yaml' };
    const body = JSON.stringify(deployment('web', 2));
    const first = await server.fetch(path, { method: 'PATCH', body, headers });
    expect(first.status).toBe(201);
    const created = JSON.parse(first.body);
    expect(created.metadata.managedFields[0]).toMatchObject({ manager: 'tester', operation: 'Apply' });
    const second = await server.fetch(path, { method: 'PATCH', body, headers });
    expect(second.status).toBe(200);
    expect(JSON.parse(second.body).metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    const yamlBody = stringifyYaml(deployment('web', 3));
    const third = await server.fetch(path, { method: 'PATCH', body: yamlBody, headers });
    expect(third.status).toBe(200);
    expect(JSON.parse(third.body).spec.replicas).toBe(3);
  });

  test('Table answers with columns and PartialObjectMetadata rows; includeObject=Object gives the object', async () => {
    const namespace = await freshNamespace('table');
    await apps.createNamespacedDeployment({ namespace, body: deployment('web') });
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const res = await server.fetch(`/apis/apps/v1/namespaces/${namespace}/deployments`, { headers: { Accept: accept } });
    const table = JSON.parse(res.body);
    expect(table).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect(table.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['Name', 'Ready', 'Age']));
    expect(table.rows[0].cells[0]).toBe('web');
    expect(table.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'web', namespace } });
    const full = JSON.parse((await server.fetch(`/apis/apps/v1/namespaces/${namespace}/deployments/web?includeObject=Object`, { headers: { Accept: accept } })).body);
    expect(full.rows[0].object.kind).toBe('Deployment');
  });

  test('discovery, version, OpenAPI and metrics', async () => {
    const aggregated = await server.fetch('/apis', {
      headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' },
    });
    expect(aggregated.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const groups = JSON.parse(aggregated.body);
    expect(groups.items.map((g: { metadata: { name: string } }) => g.metadata.name)).toEqual(expect.arrayContaining(['apps', 'coordination.k8s.io']));
    // One item per group, its versions inside it, the preferred one first (kubectl takes a second item for the same group as the only one).
    const names = groups.items.map((g: { metadata: { name: string } }) => g.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    const autoscaling = groups.items.find((g: { metadata: { name: string } }) => g.metadata.name === 'autoscaling');
    expect(autoscaling.versions.map((v: { version: string }) => v.version)).toEqual(['v2', 'v1']);
    const beta = await server.fetch('/api', { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' } });
    expect(beta.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
    expect(JSON.parse((await server.fetch('/api')).body)).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const appsV1 = JSON.parse((await server.fetch('/apis/apps/v1')).body);
    expect(appsV1.resources.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['deployments', 'deployments/scale']));
    expect(JSON.parse((await server.fetch('/version')).body)).toMatchObject({ major: '1', minor: '32' });

    const index = JSON.parse((await server.fetch('/openapi/v3')).body);
    const doc = JSON.parse((await server.fetch(index.paths['apis/apps/v1'].serverRelativeURL)).body);
    const patches = Object.values(doc.paths).map((p) => (p as { patch: Record<string, unknown> }).patch);
    expect(patches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          'x-kubernetes-group-version-kind': { group: 'apps', version: 'v1', kind: 'Deployment' },
          parameters: expect.arrayContaining([expect.objectContaining({ name: 'fieldValidation', in: 'query' })]),
        }),
      ]),
    );

    const metrics = (await server.fetch('/metrics')).body;
    expect(metrics).toMatch(/apiserver_request_total\{verb="list",resource="namespaces",code="200"\} \d+/);
    expect(metrics).toMatch(/apiserver_request_duration_seconds_bucket/);
    expect(metrics).toMatch(/berth_store_revision [1-9]\d*/);
    expect(metrics).toMatch(/apiserver_registered_watchers \d+/);
  });
});
