import { applyDefaults, defaultPullPolicy } from './defaults';
import type { Container, Deployment, Namespace, Pod, ReplicaSet, Secret, Service } from './kinds';
import { RESOURCES } from './registry';
import type { ResourceType } from './registry';
import * as fixtures from './schema/fixtures';
import type { KubeObject } from './types';

function typeOf(kind: string): ResourceType {
  const type = RESOURCES.find((r) => r.kind === kind);
  if (!type) throw new Error(`no resource type for ${kind}`);
  return type;
}

function defaulted<T extends KubeObject>(obj: T): T {
  applyDefaults(typeOf(obj.kind), obj);
  return obj;
}

const minimalPod = (containers: Container[]): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers },
});

describe('applyDefaults', () => {
  it('fills a pod spec like Kubernetes', () => {
    const pod = defaulted(
      minimalPod([
        {
          name: 'web',
          image: 'nginx',
          ports: [{ containerPort: 80 }],
          livenessProbe: { httpGet: { port: 80 } },
          resources: { limits: { cpu: '1' } },
        },
      ]),
    );
    expect(pod.spec).toEqual({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
      securityContext: {},
      enableServiceLinks: true,
      containers: [
        {
          name: 'web',
          image: 'nginx',
          imagePullPolicy: 'Always',
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          livenessProbe: {
            httpGet: { port: 80, path: '/', scheme: 'HTTP' },
            timeoutSeconds: 1,
            periodSeconds: 10,
            successThreshold: 1,
            failureThreshold: 3,
          },
          resources: { limits: { cpu: '1' }, requests: { cpu: '1' } },
        },
      ],
    });
  });

  it('treats Go zero values as unset, as Kubernetes does', () => {
    const pod = minimalPod([
      { name: 'web', image: 'nginx:1', imagePullPolicy: '' as 'Always', livenessProbe: { exec: { command: ['true'] }, periodSeconds: 0 } },
    ]);
    pod.spec!.restartPolicy = '' as 'Always';
    defaulted(pod);
    expect(pod.spec!.restartPolicy).toBe('Always');
    expect(pod.spec!.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(pod.spec!.containers[0].livenessProbe!.periodSeconds).toBe(10);
    const service: Service = defaulted({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: '' as 'ClusterIP', ports: [{ port: 80, targetPort: 0 }] },
    });
    expect(service.spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: 80, targetPort: 80 }] });
  });

  it('stores numeric quantities as canonical strings', () => {
    const pod = defaulted(minimalPod([{ name: 'web', image: 'nginx:1', resources: { limits: { cpu: 1 as unknown as string, memory: '1Gi' }, requests: { cpu: 0.5 as unknown as string } } }]));
    expect(pod.spec!.containers[0].resources).toEqual({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } });
  });

  it('keeps what the client set', () => {
    const pod = minimalPod([
      {
        name: 'web',
        image: 'nginx:1.27',
        imagePullPolicy: 'Never',
        ports: [{ containerPort: 53, protocol: 'UDP' }],
        readinessProbe: { exec: { command: ['true'] }, periodSeconds: 2 },
        resources: { limits: { cpu: '1' }, requests: { cpu: '100m' } },
      },
    ]);
    pod.spec!.restartPolicy = 'Never';
    pod.spec!.terminationGracePeriodSeconds = 5;
    defaulted(pod);
    const container = pod.spec!.containers[0];
    expect(pod.spec!.restartPolicy).toBe('Never');
    expect(pod.spec!.terminationGracePeriodSeconds).toBe(5);
    expect(container.imagePullPolicy).toBe('Never');
    expect(container.ports![0].protocol).toBe('UDP');
    expect(container.readinessProbe!.periodSeconds).toBe(2);
    expect(container.resources!.requests).toEqual({ cpu: '100m' });
  });

  it.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['localhost:5000/nginx', 'Always'],
    ['localhost:5000/team/nginx:2', 'IfNotPresent'],
    ['nginx@sha256:0123456789abcdef', 'IfNotPresent'],
  ])('pulls %s with policy %s', (image, policy) => {
    expect(defaultPullPolicy(image)).toBe(policy);
    expect(defaulted(minimalPod([{ name: 'c', image }])).spec!.containers[0].imagePullPolicy).toBe(policy);
  });

  it('defaults init containers, env field refs and volume modes', () => {
    const pod = minimalPod([{ name: 'web', image: 'nginx', env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }]);
    pod.spec!.initContainers = [{ name: 'init', image: 'busybox:1.36' }];
    pod.spec!.volumes = [{ name: 'cfg', configMap: { name: 'c' } }, { name: 'host', hostPath: { path: '/srv' } }];
    defaulted(pod);
    expect(pod.spec!.initContainers![0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File' });
    expect(pod.spec!.containers[0].env![0].valueFrom!.fieldRef!.apiVersion).toBe('v1');
    expect(pod.spec!.volumes[0].configMap!.defaultMode).toBe(0o644);
    expect(pod.spec!.volumes[1].hostPath!.type).toBe('');
  });

  it('fills deployments, their strategy and their pod template', () => {
    const deployment: Deployment = defaulted({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1' }] } },
      },
    });
    expect(deployment.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    expect(deployment.spec!.template.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
    expect(deployment.spec!.template.spec!.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });

  it('gives a Recreate deployment no rollingUpdate parameters', () => {
    const deployment = fixtures.deploymentFixture();
    deployment.spec!.strategy = { type: 'Recreate' };
    defaulted(deployment);
    expect(deployment.spec!.strategy).toEqual({ type: 'Recreate' });
  });

  it('fills replica sets', () => {
    const rs: ReplicaSet = fixtures.replicaSetFixture();
    delete rs.spec!.replicas;
    defaulted(rs);
    expect(rs.spec!.replicas).toBe(1);
    expect(rs.spec!.template!.spec!.schedulerName).toBe('default-scheduler');
  });

  it('fills services', () => {
    const service: Service = defaulted({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { ports: [{ port: 80 }, { port: 53, protocol: 'UDP', targetPort: 'dns' }] },
    });
    expect(service.spec).toEqual({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ports: [
        { port: 80, protocol: 'TCP', targetPort: 80 },
        { port: 53, protocol: 'UDP', targetPort: 'dns' },
      ],
    });
  });

  it('fills namespaces', () => {
    const ns: Namespace = defaulted({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    expect(ns.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(ns.status).toEqual({ phase: 'Active' });
  });

  it('merges a secret stringData into data as base64 and drops it', () => {
    const secret: Secret = defaulted({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'default' },
      data: { kept: 'a2VwdA==', password: 'b2xk' },
      stringData: { password: 'hunter2', 'ünï': 'cödé' },
    });
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'default' },
      type: 'Opaque',
      data: { kept: 'a2VwdA==', password: 'aHVudGVyMg==', 'ünï': Buffer.from('cödé').toString('base64') },
    });
  });

  it('is idempotent', () => {
    for (const make of [fixtures.podFixture, fixtures.deploymentFixture, fixtures.serviceFixture, fixtures.secretFixture]) {
      const once = defaulted(make());
      const twice = defaulted(structuredClone(once));
      expect(twice).toEqual(once);
    }
  });

  it('leaves shapes it does not expect for validation to report', () => {
    const garbage = [
      { spec: 'x' },
      { spec: { containers: 'x', volumes: [null, 3], initContainers: [{ ports: 'x', resources: { limits: 'x' } }] } },
      { spec: { template: { spec: { containers: [{ image: 5, livenessProbe: [] }] } }, strategy: 'x' } },
      { spec: { ports: [null, { port: 'x' }] } },
      { stringData: { a: 5 }, data: 'x' },
      { status: 7 },
    ];
    for (const type of RESOURCES) {
      for (const body of garbage) {
        const obj = { apiVersion: 'v1', kind: type.kind, metadata: { name: 'x' }, ...structuredClone(body) } as KubeObject;
        expect(() => applyDefaults(type, obj)).not.toThrow();
      }
    }
  });
});
