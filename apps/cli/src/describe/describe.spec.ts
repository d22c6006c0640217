import type { KubeList, KubeObject, ResourceType } from '@berth/api';
import { errors } from '@berth/errors';
import { describeObject, DescribeClient } from './describers';
import { eventAge } from './events';
import { fieldLabel, timestamp } from './format';

const NOW = new Date('2026-11-29T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

/** Serves describe's reads from fixed objects and records the list queries it made. */
function fakeClient(objects: KubeObject[]): DescribeClient & { queries: string[] } {
  const queries: string[] = [];
  const matches = (type: ResourceType, obj: KubeObject) => obj.kind === type.kind;
  return {
    queries,
    get: (async (type: ResourceType, name: string, opts: { namespace?: string } = {}) => {
      const found = objects.find((o) => matches(type, o) && o.metadata.name === name && (!type.namespaced || o.metadata.namespace === (opts.namespace ?? 'default')));
      if (!found) throw errors.notFound(type.plural, name);
      return found;
    }) as DescribeClient['get'],
    list: (async (type: ResourceType, opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}) => {
      queries.push(`${type.plural} ns=${opts.namespace ?? '*'} labels=${opts.labelSelector ?? ''} fields=${opts.fieldSelector ?? ''}`);
      const items = objects.filter((o) => matches(type, o) && (!opts.namespace || o.metadata.namespace === opts.namespace));
      return { apiVersion: 'v1', kind: `${type.kind}List`, metadata: {}, items } as KubeList;
    }) as DescribeClient['list'],
  };
}

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-abc',
    namespace: 'default',
    uid: 'pod-uid',
    labels: { app: 'web' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'rs-uid', controller: true }],
    creationTimestamp: minutesAgo(5),
  },
  spec: {
    nodeName: 'node-1',
    priority: 0,
    serviceAccountName: 'default',
    containers: [{ name: 'httpd', image: 'busybox:1.36', command: ['httpd', '-f'], ports: [{ containerPort: 8080, protocol: 'TCP' }], env: [{ name: 'MODE', value: 'demo' }] }],
  },
  status: {
    phase: 'Running',
    hostIP: '10.0.0.1',
    podIP: '10.88.0.5',
    podIPs: [{ ip: '10.88.0.5' }],
    startTime: '2026-11-29T11:55:00Z',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [{ name: 'httpd', ready: true, restartCount: 0, containerID: 'berth://c1', state: { running: { startedAt: '2026-11-29T11:55:01Z' } } }],
  },
};

const event = (name: string, involved: KubeObject, extra: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: involved.metadata.namespace ?? 'default' },
  involvedObject: { kind: involved.kind, name: involved.metadata.name, namespace: involved.metadata.namespace, uid: involved.metadata.uid },
  type: 'Normal',
  ...extra,
});

describe('describe', () => {
  it('describes a pod with its containers, conditions and events', async () => {
    const client = fakeClient([
      pod,
      event('e1', pod, { reason: 'Started', message: 'Started container httpd', source: { component: 'agent', host: 'node-1' }, firstTimestamp: minutesAgo(4), lastTimestamp: minutesAgo(4), count: 1 }),
    ]);
    const text = await describeObject({ client, now: NOW }, pod);
    expect(text).toBe(
      [
        'Name:             web-abc',
        'Namespace:        default',
        'Priority:         0',
        'Service Account:  default',
        'Node:             node-1/10.0.0.1',
        'Start Time:       Sun, 29 Nov 2026 11:55:00 +0000',
        'Labels:           app=web',
        'Annotations:      <none>',
        'Status:           Running',
        'IP:               10.88.0.5',
        'IPs:',
        '  IP:           10.88.0.5',
        'Controlled By:  ReplicaSet/web-5d',
        'Containers:',
        '  httpd:',
        '    Container ID:  berth://c1',
        '    Image:         busybox:1.36',
        '    Image ID:      ',
        '    Port:          8080/TCP',
        '    Host Port:     0/TCP',
        '    Command:',
        '      httpd',
        '      -f',
        '    State:          Running',
        '      Started:      Sun, 29 Nov 2026 11:55:01 +0000',
        '    Ready:          True',
        '    Restart Count:  0',
        '    Environment:',
        '      MODE:  demo',
        '    Mounts:  <none>',
        'Conditions:',
        // Consecutive tabbed lines share columns, so the condition table and the lines after it align (as in kubectl).
        '  Type           Status',
        '  Ready          True',
        'Volumes:         <none>',
        'QoS Class:       BestEffort',
        'Node-Selectors:  <none>',
        'Tolerations:     <none>',
        'Events:',
        '  Type    Reason   Age   From           Message',
        '  ----    ------   ----  ----           -------',
        '  Normal  Started  4m    agent, node-1  Started container httpd',
        '',
      ].join('\n'),
    );
    expect(client.queries).toEqual(['events ns=default labels= fields=involvedObject.name=web-abc,involvedObject.namespace=default,involvedObject.kind=Pod,involvedObject.uid=pod-uid']);
  });

  it('describes a service with its endpoints', async () => {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', uid: 's1' },
      spec: { selector: { app: 'web' }, type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    };
    const endpoints: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.88.0.5' }, { ip: '10.88.0.6' }], ports: [{ name: 'http', port: 8080 }] }],
    };
    const text = await describeObject({ client: fakeClient([svc, endpoints]), now: NOW }, svc);
    expect(text).toContain('\nSelector:                 app=web\nType:                     ClusterIP\nIP Families:              <none>\nIP:                       10.96.0.10\n');
    expect(text).toContain('\nPort:                     http  80/TCP\nTargetPort:               8080/TCP\nEndpoints:                10.88.0.5:8080,10.88.0.6:8080\n');
    expect(text).toContain('\nInternal Traffic Policy:  Cluster\n');
    expect(text).toMatch(/\nEvents: +<none>\n$/);
  });

  it('describes a node with its lease and pods', async () => {
    const node: KubeObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', uid: 'n1', labels: { 'node-role.kubernetes.io/control-plane': '' }, creationTimestamp: minutesAgo(60) },
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'ok' }], addresses: [{ type: 'InternalIP', address: '10.0.0.1' }], capacity: { cpu: '2' } },
    };
    const lease: KubeObject = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'node-1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'node-1', renewTime: '2026-11-29T11:59:50.000000Z' } };
    const client = fakeClient([node, lease, pod]);
    const text = await describeObject({ client, now: NOW }, node);
    expect(text).toContain('Roles:              control-plane\n');
    expect(text).toContain('Lease:\n  HolderIdentity:  node-1\n  AcquireTime:     <unset>\n  RenewTime:       Sun, 29 Nov 2026 11:59:50 +0000\n');
    expect(text).toContain('Addresses:\n  InternalIP:  10.0.0.1\n');
    expect(text).toContain(
      'Non-terminated Pods:          (1 in total)\n  Namespace                   Name     Age\n  ---------                   ----     ---\n  default                     web-abc  5m\n',
    );
    expect(client.queries).toContain('pods ns=* labels= fields=spec.nodeName=node-1');
    expect(client.queries).toContain('events ns=* labels= fields=involvedObject.name=node-1,involvedObject.kind=Node,involvedObject.uid=n1');
  });

  it('shows a secret\'s sizes, never its values', async () => {
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'Opaque', data: { token: Buffer.from('abcdef').toString('base64') } };
    const text = await describeObject({ client: fakeClient([]), now: NOW }, secret);
    expect(text).toContain('\nType:  Opaque\n\nData\n====\ntoken:  6 bytes\n\nEvents:  <none>\n');
    expect(text).not.toContain(Buffer.from('abcdef').toString('base64'));
  });

  it('describes other kinds generically', async () => {
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l', namespace: 'default', uid: 'u1', resourceVersion: '8', managedFields: [{ manager: 'berth' }] },
      spec: { holderIdentity: 'me', leaseDurationSeconds: 40 },
    };
    const text = await describeObject({ client: fakeClient([]), now: NOW }, lease);
    expect(text).toMatch(/\nMetadata:\n {2}UID: +u1\n {2}Resource Version: +8\n/);
    expect(text).not.toContain('Managed');
    expect(text).toContain('API Version:  coordination.k8s.io/v1\nKind:         Lease\nMetadata:\n');
    expect(text).toMatch(/\nSpec:\n {2}Holder Identity: +me\n {2}Lease Duration Seconds: +40\n/);
  });
});

describe('describe formatting', () => {
  it('ages repeated events like kubectl', () => {
    const repeated = { apiVersion: 'v1', kind: 'Event', metadata: {}, firstTimestamp: minutesAgo(10), lastTimestamp: minutesAgo(2), count: 3 };
    expect(eventAge(repeated, NOW)).toBe('2m (x3 over 10m)');
    expect(eventAge({ apiVersion: 'v1', kind: 'Event', metadata: {}, eventTime: '2026-11-29T11:59:30.000000Z' }, NOW)).toBe('30s');
  });

  it('labels generic fields and prints times', () => {
    expect(fieldLabel('holderIdentity')).toBe('Holder Identity');
    expect(fieldLabel('podIP')).toBe('Pod IP');
    expect(fieldLabel('apiVersion')).toBe('API Version');
    expect(timestamp('2026-01-02T03:04:05Z')).toBe('Fri, 02 Jan 2026 03:04:05 +0000');
    expect(timestamp(undefined)).toBe('<unset>');
  });
});
