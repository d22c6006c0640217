import { KubeObject, resourceForKind } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { recordUpdate, serverSideApply } from './index';
import { frozen } from './testing-helpers';

const deployments = resourceForKind('apps/v1', 'Deployment')!;
const configmaps = resourceForKind('v1', 'ConfigMap')!;
const T0 = new Date('2024-05-01T10:00:00.123Z');
const T1 = new Date('2024-05-01T11:00:00Z');

function webDeployment(opts: { replicas?: number; image?: string; sidecar?: boolean; labels?: Record<string, string> } = {}): KubeObject {
  const containers: unknown[] = [{ name: 'web', image: opts.image ?? 'nginx' }];
  if (opts.sidecar) containers.push({ name: 'side', image: 'busybox' });
  return frozen({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: opts.labels ?? { app: 'web' } },
    spec: {
      ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }),
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
    },
  });
}

/** What the apiserver does around the patch library: stores the object with the server-set metadata. */
function stored(object: KubeObject): KubeObject {
  return frozen({ ...object, metadata: { ...object.metadata, uid: 'u1', resourceVersion: '7', generation: 1 } });
}

function conflictOf(fn: () => unknown): { message: string; causes: unknown } {
  try {
    fn();
  } catch (err) {
    if (isBerthError(err, 'Conflict')) return { message: err.message, causes: err.details.causes };
    throw err;
  }
  throw new Error('expected a Conflict');
}

describe('serverSideApply', () => {
  it('creates the object and records the applied fields in the FieldsV1 format', () => {
    const created = serverSideApply(deployments, undefined, webDeployment({ replicas: 2 }), { manager: 'kubectl', force: false, now: T0 });
    expect(created.spec).toEqual(webDeployment({ replicas: 2 }).spec);
    expect(created.metadata.name).toBe('web');
    expect(created.metadata.namespace).toBe('default');
    expect(created.metadata.managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2024-05-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
            },
          },
        },
      },
    ]);
  });

  it('returns the live object unchanged, managedFields time included, when an apply changes nothing', () => {
    const live = stored(serverSideApply(deployments, undefined, webDeployment({ replicas: 2 }), { manager: 'kubectl', force: false, now: T0 }));
    expect(serverSideApply(deployments, live, webDeployment({ replicas: 2 }), { manager: 'kubectl', force: false, now: T1 })).toEqual(live);
  });

  it('moves the time only when the manager’s field set changes', () => {
    const live = stored(serverSideApply(deployments, undefined, webDeployment({ replicas: 2 }), { manager: 'kubectl', force: false, now: T0 }));
    const sameFields = serverSideApply(deployments, live, webDeployment({ replicas: 3 }), { manager: 'kubectl', force: false, now: T1 });
    expect(sameFields.spec).toMatchObject({ replicas: 3 });
    expect(sameFields.metadata.managedFields![0].time).toBe('2024-05-01T10:00:00Z');
    const moreFields = serverSideApply(deployments, live, webDeployment({ replicas: 2, sidecar: true }), { manager: 'kubectl', force: false, now: T1 });
    expect(moreFields.metadata.managedFields![0].time).toBe('2024-05-01T11:00:00Z');
  });

  it('keeps server-set metadata and fields nobody applied', () => {
    const live = stored({ ...webDeployment({ replicas: 1 }), status: { replicas: 1 } });
    const result = serverSideApply(deployments, live, webDeployment({ replicas: 1, image: 'nginx:2' }), { manager: 'kubectl', force: false, now: T0 });
    expect(result.metadata).toMatchObject({ uid: 'u1', resourceVersion: '7', generation: 1 });
    expect(result.status).toEqual({ replicas: 1 });
  });

  it('ignores status applied to the main resource of a kind with a status subresource', () => {
    const result = serverSideApply(deployments, undefined, { ...webDeployment(), status: { replicas: 9 } }, { manager: 'm', force: false, now: T0 });
    expect(result.status).toBeUndefined();
    expect(JSON.stringify(result.metadata.managedFields)).not.toContain('f:status');
  });

  it('removes fields the manager applied before and no longer applies', () => {
    const first = stored(serverSideApply(deployments, undefined, webDeployment({ replicas: 2, sidecar: true, labels: { app: 'web', tier: 'front' } }), { manager: 'kubectl', force: false, now: T0 }));
    const result = serverSideApply(deployments, first, webDeployment(), { manager: 'kubectl', force: false, now: T1 });
    expect(result.metadata.labels).toEqual({ app: 'web' });
    expect(result.spec).toEqual(webDeployment().spec);
  });

  it('keeps fields it stops applying that another manager also owns', () => {
    const first = stored(serverSideApply(deployments, undefined, webDeployment({ labels: { app: 'web', tier: 'front' } }), { manager: 'a', force: false, now: T0 }));
    const shared = stored(serverSideApply(deployments, first, webDeployment({ labels: { app: 'web', tier: 'front' } }), { manager: 'b', force: false, now: T0 }));
    const result = serverSideApply(deployments, shared, webDeployment(), { manager: 'a', force: false, now: T1 });
    expect(result.metadata.labels).toEqual({ app: 'web', tier: 'front' });
    expect(result.metadata.managedFields!.map((e) => e.manager)).toEqual(['a', 'b']);
  });

  it('merges associative lists by key, keeping items other managers added', () => {
    const first = stored(serverSideApply(deployments, undefined, webDeployment(), { manager: 'a', force: false, now: T0 }));
    const withSidecar = stored(
      serverSideApply(
        deployments,
        first,
        frozen({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web' },
          spec: { template: { spec: { containers: [{ name: 'side', image: 'busybox' }] } } },
        }),
        { manager: 'b', force: false, now: T0 },
      ),
    );
    expect(withSidecar.spec).toEqual(webDeployment({ sidecar: true }).spec);
    const reapplied = serverSideApply(deployments, withSidecar, webDeployment({ image: 'nginx:2' }), { manager: 'a', force: false, now: T1 });
    expect((reapplied.spec as any).template.spec.containers).toEqual([
      { name: 'web', image: 'nginx:2' },
      { name: 'side', image: 'busybox' },
    ]);
  });

  it('keys ports by number and protocol, defaulting the protocol as the server does', () => {
    const withPorts = (ports: unknown[]) =>
      frozen({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'web', ports }] } } } });
    const created = serverSideApply(deployments, undefined, withPorts([{ containerPort: 80 }]), { manager: 'm', force: false, now: T0 });
    const containerFields = (created.metadata.managedFields![0].fieldsV1 as any)['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"web"}'];
    expect(Object.keys(containerFields['f:ports'])).toEqual(['k:{"containerPort":80,"protocol":"TCP"}']);
    // The apiserver defaults protocol (and other fields nobody applied) before storing.
    const defaulted = stored({
      ...created,
      spec: { template: { spec: { containers: [{ name: 'web', imagePullPolicy: 'Always', ports: [{ containerPort: 80, protocol: 'TCP' }] }] } } },
    });
    expect(serverSideApply(deployments, defaulted, withPorts([{ containerPort: 80 }]), { manager: 'm', force: false, now: T1 })).toEqual(defaulted);
    const udp = serverSideApply(deployments, defaulted, withPorts([{ containerPort: 80 }, { containerPort: 80, protocol: 'UDP' }]), { manager: 'm', force: false, now: T1 });
    expect((udp.spec as any).template.spec.containers[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP' }, { containerPort: 80, protocol: 'UDP' }]);
  });

  it('owns finalizers as set members', () => {
    const withFinalizers = (finalizers: string[]) => frozen({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', finalizers } });
    const created = stored(serverSideApply(configmaps, undefined, withFinalizers(['a', 'b']), { manager: 'm', force: false, now: T0 }));
    expect(created.metadata.managedFields![0].fieldsV1).toEqual({ 'f:metadata': { 'f:finalizers': { 'v:"a"': {}, 'v:"b"': {} } } });
    const shrunk = serverSideApply(configmaps, created, withFinalizers(['b']), { manager: 'm', force: false, now: T1 });
    expect(shrunk.metadata.finalizers).toEqual(['b']);
  });

  it('reports a conflict with the manager that owns a field it would change, like Kubernetes', () => {
    const createdByKubectl = stored({ ...webDeployment({ replicas: 1 }), metadata: { ...webDeployment().metadata } });
    const withOwners = stored({
      ...createdByKubectl,
      metadata: { ...createdByKubectl.metadata, managedFields: recordUpdate(deployments, undefined, createdByKubectl, 'kubectl-client-side-apply', T0) },
    });
    const conflict = conflictOf(() => serverSideApply(deployments, withOwners, webDeployment({ replicas: 2 }), { manager: 'kubectl', force: false, now: T1 }));
    expect(conflict.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    expect(conflict.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' },
    ]);

    const twoFields = conflictOf(() =>
      serverSideApply(deployments, withOwners, webDeployment({ replicas: 2, image: 'nginx:2' }), { manager: 'kubectl', force: false, now: T1 }),
    );
    expect(twoFields.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image',
    );
  });

  it('names appliers without a version and subresource writers with their subresource', () => {
    const live = stored(serverSideApply(deployments, undefined, webDeployment({ replicas: 1, labels: { app: 'web' } }), { manager: 'ci', force: false, now: T0 }));
    const afterScale = { ...live, spec: { ...(live.spec as object), replicas: 3 } };
    const scaled = stored({ ...afterScale, metadata: { ...live.metadata, managedFields: recordUpdate(deployments, live, afterScale, 'kubectl', T1, 'scale') } });
    const conflict = conflictOf(() =>
      serverSideApply(deployments, scaled, webDeployment({ replicas: 2, labels: { app: 'other' } }), { manager: 'me', force: false, now: T1 }),
    );
    expect(conflict.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "ci":\n- .metadata.labels.app "kubectl" with subresource "scale" using apps/v1:\n- .spec.replicas',
    );
  });

  it('shares fields applied with the same value, and moves ownership with force', () => {
    const live = stored({ ...webDeployment({ replicas: 1 }) });
    const owned = stored({ ...live, metadata: { ...live.metadata, managedFields: recordUpdate(deployments, undefined, live, 'old', T0) } });
    const sameValue = serverSideApply(deployments, owned, webDeployment({ replicas: 1 }), { manager: 'new', force: false, now: T1 });
    expect(sameValue.metadata.managedFields!.map((e) => e.manager)).toEqual(['old', 'new']);

    const forced = serverSideApply(deployments, owned, webDeployment({ replicas: 5 }), { manager: 'new', force: true, now: T1 });
    expect(forced.spec).toMatchObject({ replicas: 5 });
    const [old, applier] = forced.metadata.managedFields!;
    expect(JSON.stringify(old.fieldsV1)).not.toContain('f:replicas');
    expect(old.time).toBe('2024-05-01T10:00:00Z');
    expect(applier.fieldsV1).toMatchObject({ 'f:spec': { 'f:replicas': {} } });
  });
});

describe('recordUpdate', () => {
  const cm = (data: Record<string, string>, labels?: Record<string, string>): KubeObject =>
    frozen({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', ...(labels ? { labels } : {}) }, data });

  it('gives the creator every field it set', () => {
    expect(recordUpdate(configmaps, undefined, cm({ a: '1' }, { x: 'y' }), 'kubectl-create', T0)).toEqual([
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2024-05-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:a': {} }, 'f:metadata': { 'f:labels': { 'f:x': {} } } },
      },
    ]);
  });

  it('moves changed fields to the updater and drops removed fields from every manager', () => {
    const original = cm({ a: '1', b: '2', keep: '0' });
    const before = stored({ ...original, metadata: { ...original.metadata, managedFields: recordUpdate(configmaps, undefined, original, 'creator', T0) } });
    expect(recordUpdate(configmaps, before, cm({ a: 'changed', c: '3', keep: '0' }), 'editor', T1)).toEqual([
      { manager: 'creator', operation: 'Update', apiVersion: 'v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:keep': {} } } },
      { manager: 'editor', operation: 'Update', apiVersion: 'v1', time: '2024-05-01T11:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {}, 'f:c': {} } } },
    ]);
  });

  it('drops a manager that no longer owns anything', () => {
    const original = cm({ a: '1' });
    const before = stored({ ...original, metadata: { ...original.metadata, managedFields: recordUpdate(configmaps, undefined, original, 'creator', T0) } });
    expect(recordUpdate(configmaps, before, cm({ a: '2' }), 'editor', T1).map((e) => e.manager)).toEqual(['editor']);
  });

  it('leaves managedFields untouched for an update that changes nothing', () => {
    const entries = recordUpdate(configmaps, undefined, cm({ a: '1' }), 'creator', T0);
    const before = stored({ ...cm({ a: '1' }), metadata: { ...cm({}).metadata, managedFields: entries } });
    expect(recordUpdate(configmaps, before, cm({ a: '1' }), 'someone-else', T1)).toEqual(entries);
  });

  it('records status updates under the status subresource only', () => {
    const live = stored(webDeployment());
    const after = { ...live, status: { replicas: 1 } };
    expect(recordUpdate(deployments, live, after, 'controller', T0, 'status')).toEqual([
      { manager: 'controller', operation: 'Update', apiVersion: 'apps/v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:replicas': {} } }, subresource: 'status' },
    ]);
    expect(recordUpdate(deployments, live, after, 'someone', T0)).toEqual([]);
  });
});
