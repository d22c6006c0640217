import { LOCAL_PATH_FINALIZER, LOCAL_PATH_NODE_LABEL, type KubeObject, type PersistentVolumeClaim, type Pod } from '@berth/api';
import { isBerthError } from '@berth/errors';
import { ADMIN, JOINING_HOST, nodeUser } from './authn';
import { Authorizer, requestAttributes, type RequestAttributes } from './authz';
import { NodeAuthorizer, podReferences, type NodeGraph } from './node-authorizer';
import { parseRoute } from './routes';

function pod(namespace: string, name: string, nodeName: string | undefined, spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name }, spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName, ...spec } };
}

const PODS: Pod[] = [
  pod('default', 'on-a', 'a', {
    volumes: [{ name: 'v', secret: { secretName: 'volume-secret' } }, { name: 'p', projected: { sources: [{ configMap: { name: 'projected-cm' } }] } }],
    containers: [{ name: 'c', image: 'busybox', env: [{ name: 'E', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }], envFrom: [{ configMapRef: { name: 'envfrom-cm' } }] }],
    imagePullSecrets: [{ name: 'pull-secret' }],
  }),
  pod('default', 'on-b', 'b', { volumes: [{ name: 'v', secret: { secretName: 'b-secret' } }], imagePullSecrets: [{ name: 'b-pull-secret' }] }),
  pod('default', 'unbound', undefined, { volumes: [{ name: 'v', secret: { secretName: 'unbound-secret' } }] }),
  pod('default', 'db-on-a', 'a', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-a' } }] }),
];

const claimOf = (name: string, volumeName: string): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { namespace: 'default', name },
  spec: { volumeName },
});
const CLAIMS = [claimOf('data-a', 'pv-a'), claimOf('data-b', 'pv-b')];

const graph: NodeGraph = {
  pod: async (namespace, name) => PODS.find((p) => p.metadata.namespace === namespace && p.metadata.name === name),
  podsOn: async (node, namespace) => PODS.filter((p) => p.spec?.nodeName === node && p.metadata.namespace === namespace),
  claimsOf: async (volume) => CLAIMS.filter((c) => c.spec?.volumeName === volume),
};
const authorizer = new Authorizer(new NodeAuthorizer(graph));

function attrs(method: string, path: string, upgrade = false): RequestAttributes {
  const url = new URL(path, 'https://berth.invalid');
  return requestAttributes(method, parseRoute(url.pathname), url, upgrade);
}

/** '' when allowed, else the refusal's reason and message. */
async function decision(user: ReturnType<typeof nodeUser>, method: string, path: string, upgrade = false): Promise<string> {
  try {
    await authorizer.authorize(user, attrs(method, path, upgrade));
    return '';
  } catch (err) {
    if (!isBerthError(err)) throw err;
    return `${err.reason}: ${err.message}`;
  }
}

const a = nodeUser('a');

describe('the node authorizer', () => {
  it.each([
    ['GET', '/api'],
    ['GET', '/apis/apps/v1'],
    ['GET', '/openapi/v3/api/v1'],
    ['GET', '/api/v1/nodes'],
    ['GET', '/api/v1/nodes/b'],
    ['GET', '/api/v1/nodes?watch=1'],
    ['POST', '/api/v1/nodes'],
    ['PATCH', '/api/v1/nodes/a'],
    ['PUT', '/api/v1/nodes/a/status'],
    ['GET', '/api/v1/nodes/a/tunnel'],
    ['GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Da'],
    ['GET', '/api/v1/namespaces/default/pods?watch=true&fieldSelector=spec.nodeName%3Da,status.phase%3DRunning'],
    ['GET', '/api/v1/namespaces/default/pods/on-a'],
    ['DELETE', '/api/v1/namespaces/default/pods/on-a'],
    ['PATCH', '/api/v1/namespaces/default/pods/on-a/status'],
    ['GET', '/api/v1/namespaces/default/pods/on-a/status'],
    ['GET', '/api/v1/namespaces/default/secrets/volume-secret'],
    ['GET', '/api/v1/namespaces/default/secrets/env-secret'],
    ['GET', '/api/v1/namespaces/default/secrets/pull-secret'],
    ['GET', '/api/v1/namespaces/default/configmaps/projected-cm'],
    ['GET', '/api/v1/namespaces/default/configmaps/envfrom-cm'],
    ['GET', '/api/v1/namespaces/default/secrets?watch=1&fieldSelector=metadata.name%3Dvolume-secret'],
    ['GET', '/api/v1/namespaces/kube-public/configmaps/local-registry-hosting'],
    ['GET', '/api/v1/namespaces/kube-public/configmaps?watch=1&fieldSelector=metadata.name%3Dlocal-registry-hosting'],
    ['GET', '/api/v1/namespaces/kube-public/configmaps'],
    ['GET', '/api/v1/services'],
    ['GET', '/api/v1/endpoints?watch=1'],
    ['POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/a'],
    ['POST', '/api/v1/namespaces/default/events'],
    ['PATCH', '/api/v1/namespaces/default/events/x.1'],
    ['POST', '/v1-berth/node-certificate'],
    ['GET', '/api/v1/namespaces/default/persistentvolumeclaims/data-a'],
    ['GET', '/api/v1/persistentvolumes/pv-a'],
    ['GET', '/api/v1/persistentvolumes?watch=1&labelSelector=berth.io%2Flocal-path-node%3Da'],
  ])('lets node a %s %s', async (method, path) => {
    expect(await decision(a, method, path)).toBe('');
  });

  it.each([
    ['PATCH', '/api/v1/nodes/b', 'Forbidden: nodes "b" is forbidden: node "a" cannot modify node "b"'],
    ['PUT', '/api/v1/nodes/b/status', 'Forbidden: nodes "b" is forbidden: node "a" cannot modify node "b"'],
    ['DELETE', '/api/v1/nodes/a', 'Forbidden: nodes "a" is forbidden: User "system:node:a" cannot delete resource "nodes" in API group "" at the cluster scope'],
    ['GET', '/api/v1/nodes/b/tunnel', 'Forbidden: nodes "b" is forbidden: node "a" cannot open the tunnel of node "b"'],
    ['GET', '/api/v1/pods', 'Forbidden: pods is forbidden: User "system:node:a" cannot list resource "pods" in API group "" at the cluster scope: can only list/watch pods with spec.nodeName field selector'],
    ['GET', '/api/v1/namespaces/default/pods?watch=1&fieldSelector=spec.nodeName%3Db', 'Forbidden: pods is forbidden: User "system:node:a" cannot watch resource "pods" in API group "" in the namespace "default": can only list/watch pods with spec.nodeName field selector'],
    ['GET', '/api/v1/namespaces/default/pods/on-b', `Forbidden: pods "on-b" is forbidden: User "system:node:a" cannot get resource "pods" in API group "" in the namespace "default": no relationship found between node 'a' and this object`],
    ['DELETE', '/api/v1/namespaces/default/pods/on-b', 'Forbidden: pods "on-b" is forbidden: node "a" can only delete pods with spec.nodeName set to itself'],
    ['DELETE', '/api/v1/namespaces/default/pods/gone', 'NotFound: pods "gone" not found'],
    ['POST', '/api/v1/namespaces/default/pods', 'Forbidden: pods is forbidden: User "system:node:a" cannot create resource "pods" in API group "" in the namespace "default"'],
    ['PATCH', '/api/v1/namespaces/default/pods/on-a', 'Forbidden: pods "on-a" is forbidden: User "system:node:a" cannot patch resource "pods" in API group "" in the namespace "default"'],
    ['POST', '/api/v1/namespaces/default/pods/on-b/binding', 'Forbidden: pods "on-b" is forbidden: User "system:node:a" cannot create resource "pods/binding" in API group "" in the namespace "default"'],
    ['GET', '/api/v1/namespaces/default/pods/on-b/status', `Forbidden: pods "on-b" is forbidden: User "system:node:a" cannot get resource "pods/status" in API group "" in the namespace "default": no relationship found between node 'a' and this object`],
    ['GET', '/api/v1/namespaces/default/pods/on-a/log', 'Forbidden: pods "on-a" is forbidden: User "system:node:a" cannot get resource "pods/log" in API group "" in the namespace "default"'],
    ['GET', '/api/v1/namespaces/default/secrets/b-secret', `Forbidden: secrets "b-secret" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'a' and this object`],
    ['GET', '/api/v1/namespaces/default/secrets/b-pull-secret', `Forbidden: secrets "b-pull-secret" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'a' and this object`],
    ['GET', '/api/v1/namespaces/default/secrets/unbound-secret', `Forbidden: secrets "unbound-secret" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'a' and this object`],
    ['GET', '/api/v1/namespaces/other/secrets/volume-secret', `Forbidden: secrets "volume-secret" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "other": no relationship found between node 'a' and this object`],
    ['GET', '/api/v1/namespaces/default/secrets', 'Forbidden: secrets is forbidden: User "system:node:a" cannot list resource "secrets" in API group "" in the namespace "default": a node can only read named objects its pods use'],
    ['GET', '/api/v1/secrets?watch=1', 'Forbidden: secrets is forbidden: User "system:node:a" cannot watch resource "secrets" in API group "" at the cluster scope: a node can only read named objects its pods use'],
    ['PUT', '/api/v1/namespaces/default/secrets/volume-secret', 'Forbidden: secrets "volume-secret" is forbidden: User "system:node:a" cannot update resource "secrets" in API group "" in the namespace "default": a node cannot write secrets'],
    ['GET', '/api/v1/namespaces/default/configmaps/b-cm', `Forbidden: configmaps "b-cm" is forbidden: User "system:node:a" cannot get resource "configmaps" in API group "" in the namespace "default": no relationship found between node 'a' and this object`],
    ['PUT', '/api/v1/namespaces/kube-public/configmaps/local-registry-hosting', 'Forbidden: configmaps "local-registry-hosting" is forbidden: User "system:node:a" cannot update resource "configmaps" in API group "" in the namespace "kube-public": a node cannot write configmaps'],
    ['GET', '/api/v1/namespaces/kube-system/configmaps', 'Forbidden: configmaps is forbidden: User "system:node:a" cannot list resource "configmaps" in API group "" in the namespace "kube-system": a node can only read named objects its pods use'],
    ['GET', '/api/v1/namespaces/kube-public/secrets/s', `Forbidden: secrets "s" is forbidden: User "system:node:a" cannot get resource "secrets" in API group "" in the namespace "kube-public": no relationship found between node 'a' and this object`],
    ['DELETE', '/api/v1/namespaces/default/services/kubernetes', 'Forbidden: services "kubernetes" is forbidden: User "system:node:a" cannot delete resource "services" in API group "" in the namespace "default": a node can only read services'],
    ['GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/b', 'Forbidden: leases.coordination.k8s.io "b" is forbidden: User "system:node:a" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as the requesting node'],
    ['GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/a', 'Forbidden: leases.coordination.k8s.io "a" is forbidden: User "system:node:a" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system": can only access leases in the "kube-node-lease" system namespace'],
    // A node can never take the scheduler's or the controller-manager's leader Lease.
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler', 'Forbidden: leases.coordination.k8s.io "kube-scheduler" is forbidden: User "system:node:a" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system": can only access leases in the "kube-node-lease" system namespace'],
    ['POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', 'Forbidden: leases.coordination.k8s.io is forbidden: User "system:node:a" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system": can only access leases in the "kube-node-lease" system namespace'],
    ['GET', '/api/v1/namespaces/default/events', 'Forbidden: events is forbidden: User "system:node:a" cannot list resource "events" in API group "" in the namespace "default": a node can only create and update events'],
    ['GET', '/apis/apps/v1/deployments', 'Forbidden: deployments.apps is forbidden: User "system:node:a" cannot list resource "deployments" in API group "apps" at the cluster scope'],
    ['GET', '/api/v1/namespaces', 'Forbidden: namespaces is forbidden: User "system:node:a" cannot list resource "namespaces" in API group "" at the cluster scope'],
    ['GET', '/metrics', 'Forbidden: forbidden: User "system:node:a" cannot get path "/metrics"'],
    ['POST', '/v1-berth/registry/gc', 'Forbidden: forbidden: User "system:node:a" cannot post path "/v1-berth/registry/gc"'],
    ['GET', '/apis/metrics.k8s.io/v1beta1/nodes', 'Forbidden: forbidden: User "system:node:a" cannot get path "/apis/metrics.k8s.io/v1beta1/nodes"'],
    ['GET', '/api/v1/persistentvolumes/pv-b', `Forbidden: persistentvolumes "pv-b" is forbidden: User "system:node:a" cannot get resource "persistentvolumes" in API group "" at the cluster scope: no relationship found between node 'a' and this object`],
    ['GET', '/api/v1/persistentvolumes', 'Forbidden: persistentvolumes is forbidden: User "system:node:a" cannot list resource "persistentvolumes" in API group "" at the cluster scope: a node can only read the volumes its pods use'],
    ['GET', '/api/v1/persistentvolumes?labelSelector=berth.io%2Flocal-path-node%3Db', 'Forbidden: persistentvolumes is forbidden: User "system:node:a" cannot list resource "persistentvolumes" in API group "" at the cluster scope: a node can only read the volumes its pods use'],
    ['DELETE', '/api/v1/persistentvolumes/pv-a', 'Forbidden: persistentvolumes "pv-a" is forbidden: User "system:node:a" cannot delete resource "persistentvolumes" in API group "" at the cluster scope: a node can only read the volumes its pods use'],
  ])('refuses node a %s %s', async (method, path, refusal) => {
    expect(await decision(a, method, path)).toBe(refusal);
  });

  it('refuses a node exec, attach and port-forward into pods, its own included; the admin may', async () => {
    for (const sub of ['exec', 'attach', 'portforward']) {
      const path = `/api/v1/namespaces/default/pods/on-a/${sub}`;
      expect(await decision(a, 'GET', path, true)).toBe(
        `Forbidden: pods "on-a" is forbidden: User "system:node:a" cannot create resource "pods/${sub}" in API group "" in the namespace "default"`,
      );
      expect(await decision(ADMIN, 'GET', path, true)).toBe('');
    }
  });

  it('lets the join token ask for a node certificate and nothing else', async () => {
    expect(await decision(JOINING_HOST, 'POST', '/v1-berth/node-certificate')).toBe('');
    expect(await decision(JOINING_HOST, 'GET', '/api')).toBe('Forbidden: forbidden: User "system:bootstrap:join-token" cannot get path "/api": the join token only joins a host to the cluster');
    expect(await decision(JOINING_HOST, 'GET', '/api/v1/namespaces/default/pods')).toBe(
      'Forbidden: pods is forbidden: User "system:bootstrap:join-token" cannot list resource "pods" in API group "" in the namespace "default": the join token only joins a host to the cluster',
    );
    expect(await decision(JOINING_HOST, 'POST', '/api/v1/nodes')).toMatch(/^Forbidden: nodes is forbidden: User "system:bootstrap:join-token" cannot create resource "nodes"/);
    expect(await decision(JOINING_HOST, 'GET', '/api/v1/nodes/a/tunnel', true)).toMatch(/^Forbidden: nodes "a" is forbidden/);
  });

  it('lets the admin do anything', async () => {
    for (const [method, path] of [['GET', '/api/v1/secrets'], ['PATCH', '/api/v1/nodes/b'], ['GET', '/metrics'], ['GET', '/api/v1/nodes/b/tunnel'], ['DELETE', '/api/v1/namespaces/default/pods']]) {
      expect(await decision(ADMIN, method!, path!)).toBe('');
    }
  });

  it('lets any other user read discovery only (system:discovery), as a service account', async () => {
    const someone = { name: 'system:serviceaccount:default:default', groups: ['system:serviceaccounts', 'system:authenticated'] };
    expect(await decision(someone, 'GET', '/api')).toBe('');
    expect(await decision(someone, 'GET', '/metrics')).toBe('Forbidden: forbidden: User "system:serviceaccount:default:default" cannot get path "/metrics"');
    expect(await decision(someone, 'GET', '/api/v1/namespaces/default/pods')).toMatch(/^Forbidden: pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods"/);
  });
});

describe('NodeRestriction admission', () => {
  const admit = (method: string, path: string, old: KubeObject | undefined, next: KubeObject): string => {
    const check = authorizer.admission(a, attrs(method, path));
    try {
      check?.(old, next);
      return '';
    } catch (err) {
      if (!isBerthError(err)) throw err;
      return err.message;
    }
  };
  const node = (name: string, extra: Partial<KubeObject> = {}, labels: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: {},
    ...extra,
  });

  it('is only for nodes', () => {
    expect(authorizer.admission(ADMIN, attrs('POST', '/api/v1/nodes'))).toBeUndefined();
    expect(authorizer.admission(a, attrs('POST', '/api/v1/namespaces/default/configmaps'))).toBeUndefined();
  });

  it('lets a node register itself only, with the kubelet labels, and not choose its pod CIDR', () => {
    expect(admit('POST', '/api/v1/nodes', undefined, node('a', {}, { 'kubernetes.io/hostname': 'a', 'kubernetes.io/os': 'linux', 'node.kubernetes.io/exclude-from-external-load-balancers': '', team: 'x' }))).toBe('');
    expect(admit('POST', '/api/v1/nodes', undefined, node('b'))).toBe('nodes "b" is forbidden: node "a" cannot modify node "b"');
    expect(admit('POST', '/api/v1/nodes', undefined, node('a', {}, { 'node-role.kubernetes.io/control-plane': '', 'node-restriction.kubernetes.io/pool': 'x' }))).toBe(
      'nodes "a" is forbidden: node "a" is not allowed to set the following labels: node-restriction.kubernetes.io/pool, node-role.kubernetes.io/control-plane',
    );
    expect(admit('POST', '/api/v1/nodes', undefined, node('a', { spec: { podCIDR: '10.88.5.0/24' } }))).toBe('nodes "a" is forbidden: node "a" is not allowed to set its podCIDR');
    // Taints at registration are the node's to choose (kubelet's --register-with-taints).
    expect(admit('POST', '/api/v1/nodes', undefined, node('a', { spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } }))).toBe('');
  });

  it("keeps a node's taints, owners, pod CIDR and restricted labels out of its reach", () => {
    const old = node('a', { spec: { podCIDR: '10.88.1.0/24', taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] } }, { 'kubernetes.io/hostname': 'a' });
    expect(admit('PATCH', '/api/v1/nodes/a', old, { ...old, metadata: { ...old.metadata, labels: { 'kubernetes.io/hostname': 'a', mine: 'yes' } } })).toBe('');
    expect(admit('PATCH', '/api/v1/nodes/a/status', old, { ...old, status: { phase: 'Running' } })).toBe('');
    expect(admit('PATCH', '/api/v1/nodes/a', old, { ...old, spec: { podCIDR: '10.88.1.0/24' } })).toBe('nodes "a" is forbidden: node "a" is not allowed to modify taints');
    expect(admit('PATCH', '/api/v1/nodes/a', old, { ...old, spec: { ...(old.spec as object), podCIDR: '10.88.2.0/24' } })).toBe('nodes "a" is forbidden: node "a" is not allowed to modify its podCIDR');
    expect(admit('PATCH', '/api/v1/nodes/a', old, { ...old, metadata: { ...old.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'b', uid: 'u' }] } })).toBe(
      'nodes "a" is forbidden: node "a" is not allowed to modify ownerReferences',
    );
    // A role the admin gave the node is not the node's to drop, nor to take.
    const worker = { ...old, metadata: { ...old.metadata, labels: { 'kubernetes.io/hostname': 'a', 'node-role.kubernetes.io/worker': '' } } };
    expect(admit('PATCH', '/api/v1/nodes/a', worker, old)).toBe('nodes "a" is forbidden: node "a" is not allowed to modify labels: node-role.kubernetes.io/worker');
    expect(admit('PATCH', '/api/v1/nodes/a', old, worker)).toBe('nodes "a" is forbidden: node "a" is not allowed to modify labels: node-role.kubernetes.io/worker');
  });

  it("lets a node write its own pods' status only, without their labels", () => {
    const own = pod('default', 'on-a', 'a');
    const other = pod('default', 'on-b', 'b');
    expect(admit('PATCH', '/api/v1/namespaces/default/pods/on-a/status', own, { ...own, status: { phase: 'Running' } })).toBe('');
    expect(admit('PATCH', '/api/v1/namespaces/default/pods/on-b/status', other, { ...other, status: { phase: 'Failed' } })).toBe(
      'pods "on-b" is forbidden: node "a" can only update pod status for pods with spec.nodeName set to itself',
    );
    expect(admit('PUT', '/api/v1/namespaces/default/pods/on-a/status', own, { ...own, metadata: { ...own.metadata, labels: { x: 'y' } } })).toBe(
      'pods "on-a" is forbidden: node "a" cannot update labels through pod status',
    );
  });

  it('lets a node write its own lease and the events it reports', () => {
    const lease = (name: string): KubeObject => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' } });
    expect(admit('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', undefined, lease('a'))).toBe('');
    expect(admit('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', undefined, lease('b'))).toBe(
      'leases.coordination.k8s.io "b" is forbidden: can only access node lease with the same name as the requesting node',
    );
    const event = (reportingInstance?: string, host?: string): KubeObject =>
      ({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e.1', namespace: 'default' }, reportingInstance, source: { component: 'kubelet', host } }) as KubeObject;
    expect(admit('POST', '/api/v1/namespaces/default/events', undefined, event('a'))).toBe('');
    expect(admit('POST', '/api/v1/namespaces/default/events', undefined, event(undefined, 'a'))).toBe('');
    expect(admit('PATCH', '/api/v1/namespaces/default/events/e.1', event('a'), event('a'))).toBe('');
    const refused = (verb: string) => `events "e.1" is forbidden: node "a" can only ${verb} events it reports (reportingInstance "a")`;
    expect(admit('POST', '/api/v1/namespaces/default/events', undefined, event('b'))).toBe(refused('create'));
    expect(admit('POST', '/api/v1/namespaces/default/events', undefined, event('a', 'b'))).toBe(refused('create'));
    expect(admit('POST', '/api/v1/namespaces/default/events', undefined, event())).toBe(refused('create'));
    expect(admit('PATCH', '/api/v1/namespaces/default/events/e.1', event('b'), event('a'))).toBe(refused('update'));
  });
});

describe('podReferences', () => {
  it('finds the Secrets, ConfigMaps and claims a pod uses, in every place a pod names them', () => {
    const refs = podReferences(
      pod('default', 'p', 'a', {
        imagePullSecrets: [{ name: 'pull' }],
        volumes: [
          { name: 'a', secret: { secretName: 'vol-secret' } },
          { name: 'b', configMap: { name: 'vol-cm' } },
          { name: 'c', persistentVolumeClaim: { claimName: 'claim' } },
          { name: 'd', projected: { sources: [{ secret: { name: 'proj-secret' } }, { configMap: { name: 'proj-cm' } }, { downwardAPI: {} }] } },
        ],
        initContainers: [{ name: 'i', image: 'x', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'init-cm', key: 'k' } } }] }],
        containers: [{ name: 'c', image: 'x', env: [{ name: 'B', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }], envFrom: [{ secretRef: { name: 'from-secret' } }, { configMapRef: { name: 'from-cm' } }] }],
      }),
    );
    expect([...refs.secrets].sort()).toEqual(['env-secret', 'from-secret', 'proj-secret', 'pull', 'vol-secret']);
    expect([...refs.configmaps].sort()).toEqual(['from-cm', 'init-cm', 'proj-cm', 'vol-cm']);
    expect([...refs.persistentvolumeclaims]).toEqual(['claim']);
  });
});

describe('NodeRestriction of local-path volumes', () => {
  const volume = (node: string, finalizers: string[], extra: Partial<KubeObject> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pvc-1', labels: { [LOCAL_PATH_NODE_LABEL]: node }, finalizers },
    spec: { hostPath: { path: '/var/lib/berth/storage/pvc-1' } },
    ...extra,
  });
  const admit = (old: KubeObject, next: KubeObject): string => {
    try {
      authorizer.admission(a, attrs('PATCH', '/api/v1/persistentvolumes/pvc-1'))?.(old, next);
      return '';
    } catch (err) {
      if (!isBerthError(err)) throw err;
      return err.message;
    }
  };

  it('lets a node drop the local-path finalizer of its own volumes, and nothing else', () => {
    expect(admit(volume('a', [LOCAL_PATH_FINALIZER]), volume('a', []))).toBe('');
    expect(admit(volume('b', [LOCAL_PATH_FINALIZER]), volume('b', []))).toBe('persistentvolumes "pvc-1" is forbidden: node "a" can only update the local-path volumes of its own node');
    expect(admit(volume('a', [LOCAL_PATH_FINALIZER, 'kubernetes.io/pv-protection']), volume('a', []))).toBe(
      `persistentvolumes "pvc-1" is forbidden: node "a" can only remove the ${LOCAL_PATH_FINALIZER} finalizer`,
    );
    expect(admit(volume('a', [LOCAL_PATH_FINALIZER]), volume('a', [], { spec: { hostPath: { path: '/etc' } } }))).toBe(
      `persistentvolumes "pvc-1" is forbidden: node "a" can only remove the ${LOCAL_PATH_FINALIZER} finalizer`,
    );
  });
});
