import { KubeObject, resourceForKind } from '@berth/api';
import { applyStrategicMergePatch } from './index';
import { failure, frozen } from './testing-helpers';

const deployments = resourceForKind('apps/v1', 'Deployment')!;
const pods = resourceForKind('v1', 'Pod')!;
const services = resourceForKind('v1', 'Service')!;

function deployment(spec: Record<string, unknown>, labels: Record<string, string> = { app: 'web' }): KubeObject {
  return frozen({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels }, spec });
}

function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return frozen({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...metadata }, spec });
}

describe('applyStrategicMergePatch', () => {
  it('handles what kubectl apply sends to remove a label and a port and insert a container', () => {
    const live = deployment({
      replicas: 1,
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
      },
    });
    const patch = {
      metadata: { labels: null },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }],
            containers: [{ image: 'busybox', name: 'side' }, { name: 'web', ports: null }],
          },
        },
      },
    };
    expect(applyStrategicMergePatch(deployments, live, patch)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ image: 'busybox', name: 'side' }, { name: 'web', image: 'nginx' }] },
        },
      },
    });
  });

  it('merges maps recursively and replaces scalars and untagged lists', () => {
    const live = pod({ containers: [{ name: 'c', image: 'a', args: ['x', 'y'] }], tolerations: [{ key: 'a' }] }, { annotations: { a: '1', b: '2' } });
    const result = applyStrategicMergePatch(pods, live, {
      metadata: { annotations: { b: null, c: '3' } },
      spec: { containers: [{ name: 'c', args: ['z'] }], tolerations: [{ key: 'b' }] },
    });
    expect(result.metadata.annotations).toEqual({ a: '1', c: '3' });
    expect(result.spec).toEqual({ containers: [{ name: 'c', image: 'a', args: ['z'] }], tolerations: [{ key: 'b' }] });
  });

  it('merges the keyed lists of a pod spec by their merge keys', () => {
    const live = pod({
      containers: [
        {
          name: 'c',
          image: 'a',
          env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
          ports: [{ containerPort: 80 }, { containerPort: 443 }],
          volumeMounts: [{ mountPath: '/data', name: 'd' }],
        },
      ],
      volumes: [{ name: 'd', emptyDir: {} }],
      hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }],
      imagePullSecrets: [{ name: 's1' }],
    });
    const result = applyStrategicMergePatch(pods, live, {
      spec: {
        containers: [
          {
            name: 'c',
            env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }],
            ports: [{ containerPort: 443, name: 'https' }],
            volumeMounts: [{ mountPath: '/data', readOnly: true }],
          },
        ],
        hostAliases: [{ ip: '10.0.0.2', hostnames: ['b'] }],
        imagePullSecrets: [{ name: 's2' }],
        initContainers: [{ name: 'init', image: 'busybox' }],
      },
    });
    expect(result.spec).toEqual({
      containers: [
        {
          name: 'c',
          image: 'a',
          env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }],
          ports: [{ containerPort: 80 }, { containerPort: 443, name: 'https' }],
          volumeMounts: [{ mountPath: '/data', name: 'd', readOnly: true }],
        },
      ],
      volumes: [{ name: 'd', emptyDir: {} }],
      hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }, { ip: '10.0.0.2', hostnames: ['b'] }],
      imagePullSecrets: [{ name: 's1' }, { name: 's2' }],
      initContainers: [{ name: 'init', image: 'busybox' }],
    });
  });

  it('merges maps that server-side apply treats as atomic, as Kubernetes SMP does', () => {
    const live = frozen({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'a', tier: 'b' } } });
    const result = applyStrategicMergePatch(services, live, { spec: { selector: { tier: null, zone: 'z' } } });
    expect(result.spec).toEqual({ selector: { app: 'a', zone: 'z' } });
  });

  it('merges service ports by port', () => {
    const live = frozen({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
    const result = applyStrategicMergePatch(services, live, { spec: { ports: [{ port: 80, name: 'http' }, { port: 81 }] } });
    expect(result.spec).toEqual({ ports: [{ port: 80, targetPort: 8080, name: 'http' }, { port: 81 }] });
  });

  it('merges ownerReferences by uid, finalizers as a set, and conditions by type', () => {
    const live = frozen({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', finalizers: ['a', 'b'], ownerReferences: [{ uid: '1', name: 'x', kind: 'K', apiVersion: 'v1' }] },
      spec: {},
      status: { conditions: [{ type: 'Available', status: 'False' }, { type: 'Progressing', status: 'True' }] },
    });
    const result = applyStrategicMergePatch(deployments, live, {
      metadata: { finalizers: ['b', 'c'], ownerReferences: [{ uid: '1', controller: true }] },
      status: { conditions: [{ type: 'Available', status: 'True' }] },
    });
    expect(result.metadata.finalizers).toEqual(['a', 'b', 'c']);
    expect(result.metadata.ownerReferences).toEqual([{ uid: '1', name: 'x', kind: 'K', apiVersion: 'v1', controller: true }]);
    expect(result.status).toEqual({ conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True' }] });
  });

  it('honours $patch: delete and $patch: replace in list items', () => {
    const live = pod({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] });
    expect(applyStrategicMergePatch(pods, live, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }).spec).toEqual({
      containers: [{ name: 'b', image: 'y' }],
    });
    expect(
      applyStrategicMergePatch(pods, live, { spec: { containers: [{ name: 'c', image: 'z' }, { $patch: 'replace' }] } }).spec,
    ).toEqual({ containers: [{ name: 'c', image: 'z' }] });
  });

  it('honours $patch: replace and $patch: delete in maps', () => {
    const live = pod({ containers: [] }, { labels: { a: '1', b: '2' }, annotations: { x: 'y' } });
    const result = applyStrategicMergePatch(pods, live, { metadata: { labels: { c: '3', $patch: 'replace' }, annotations: { $patch: 'delete' } } });
    expect(result.metadata).toEqual({ name: 'p', labels: { c: '3' } });
  });

  it('honours $retainKeys (switching a deployment strategy)', () => {
    const live = deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } });
    const result = applyStrategicMergePatch(deployments, live, {
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
    });
    expect(result.spec).toEqual({ strategy: { type: 'Recreate' } });
  });

  it('honours $deleteFromPrimitiveList and $setElementOrder for primitive lists', () => {
    const live = frozen({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', finalizers: ['a', 'b', 'c'] } });
    const result = applyStrategicMergePatch(deployments, live, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], '$setElementOrder/finalizers': ['c', 'a'] },
    });
    expect(result.metadata.finalizers).toEqual(['c', 'a']);
  });

  it('interleaves server-only items by their live position when reordering', () => {
    const live = pod({ containers: [{ name: 'a' }, { name: 'server-only' }, { name: 'b' }] });
    const reordered = applyStrategicMergePatch(pods, live, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } });
    expect(reordered.spec).toEqual({ containers: [{ name: 'server-only' }, { name: 'b' }, { name: 'a' }] });
    const inserted = applyStrategicMergePatch(pods, live, {
      spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'new' }, { name: 'b' }], containers: [{ name: 'new' }] },
    });
    // As in Kubernetes, a new item has no live position, so a server-only item never goes before it.
    expect(inserted.spec).toEqual({ containers: [{ name: 'a' }, { name: 'new' }, { name: 'server-only' }, { name: 'b' }] });
  });

  it('applies the pod spec schema inside a deployment template', () => {
    const live = deployment({ template: { spec: { containers: [{ name: 'a', image: 'x' }] } } });
    const result = applyStrategicMergePatch(deployments, live, { spec: { template: { spec: { containers: [{ name: 'b', image: 'y' }] } } } });
    expect((result.spec as { template: { spec: unknown } }).template.spec).toEqual({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] });
  });

  it('adds what kubectl rollout restart sends', () => {
    const live = deployment({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a' }] } } });
    const result = applyStrategicMergePatch(deployments, live, {
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } } } },
    });
    expect((result.spec as { template: { metadata: unknown } }).template.metadata).toEqual({
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' },
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['a non-object patch', [1], /must be a JSON object/],
    ['a list item without its merge key', { spec: { containers: [{ image: 'x' }] } }, /spec\.containers: .* does not contain the declared merge key "name"/],
    ['a scalar item in a keyed list', { spec: { containers: ['x'] } }, /must be objects with the merge key "name"/],
    ['an unknown $patch value', { spec: { $patch: 'explode' } }, /unknown patch directive "explode" in spec/],
    ['an unknown directive', { spec: { $frobnicate: 1 } }, /unknown patch directive "\$frobnicate"/],
    ['a non-list $retainKeys', { spec: { $retainKeys: 'x' } }, /spec\.\$retainKeys must be a list/],
  ])('rejects %s as BadRequest', (_name, patch, message) => {
    const err = failure(() => applyStrategicMergePatch(pods, pod({ containers: [] }), patch));
    expect(err.reason).toBe('BadRequest');
    expect(err.message).toMatch(message);
  });
});
