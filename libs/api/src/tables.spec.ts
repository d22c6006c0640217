import { RESOURCES, resolveResourceName, type ResourceType } from './registry';
import { humanAge, humanDuration, tableCells, tableColumns } from './tables';
import type { KubeObject } from './types';

const NOW = new Date('2026-11-29T01:07:20Z');

/** A timestamp `seconds` before NOW. */
function ago(seconds: number): string {
  return new Date(NOW.getTime() - seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function typeOf(name: string): ResourceType {
  const type = resolveResourceName(name);
  if (!type) throw new Error(`no type ${name}`);
  return type;
}

/** Cells keyed by column name, so a test reads like the `kubectl get -o wide` output it stands for. */
function row(plural: string, obj: KubeObject): Record<string, unknown> {
  const type = typeOf(plural);
  const columns = tableColumns(type);
  const cells = tableCells(type, obj, NOW);
  expect(cells).toHaveLength(columns.length);
  return Object.fromEntries(columns.map((c, i) => [c.name, cells[i]]));
}

describe('humanAge', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [119, '119s'],
    [120, '2m'],
    [303, '5m3s'],
    [599, '9m59s'],
    [600, '10m'],
    [725, '12m'],
    [3600, '60m'],
    [179 * 60, '179m'],
    [3 * 3600, '3h'],
    [3 * 3600 + 20 * 60, '3h20m'],
    [8 * 3600 + 59 * 60, '8h'],
    [47 * 3600, '47h'],
    [48 * 3600, '2d'],
    [51 * 3600, '2d3h'],
    [8 * 86400, '8d'],
    [15 * 86400, '15d'],
    [729 * 86400, '729d'],
    [730 * 86400, '2y'],
    [(730 + 40) * 86400, '2y40d'],
    [9 * 365 * 86400, '9y'],
  ])('%d seconds ago is %s', (seconds, text) => {
    expect(humanAge(ago(seconds), NOW)).toBe(text);
  });

  it('tolerates a second of clock skew and flags more', () => {
    expect(humanDuration(-1500)).toBe('0s');
    expect(humanDuration(-2000)).toBe('<invalid>');
  });

  it('is <unknown> without a timestamp', () => {
    expect(humanAge(undefined, NOW)).toBe('<unknown>');
    expect(humanAge('not a time', NOW)).toBe('<unknown>');
  });
});

describe('tableColumns', () => {
  const names = (plural: string, priority: number) =>
    tableColumns(typeOf(plural))
      .filter((c) => c.priority === priority)
      .map((c) => c.name.toUpperCase());

  it.each([
    ['pods', 'NAME READY STATUS RESTARTS AGE', 'IP NODE NOMINATED NODE READINESS GATES'],
    ['deployments', 'NAME READY UP-TO-DATE AVAILABLE AGE', 'CONTAINERS IMAGES SELECTOR'],
    ['replicasets', 'NAME DESIRED CURRENT READY AGE', 'CONTAINERS IMAGES SELECTOR'],
    ['services', 'NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE', 'SELECTOR'],
    ['nodes', 'NAME STATUS ROLES AGE VERSION', 'INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME'],
    ['namespaces', 'NAME STATUS AGE', ''],
    ['configmaps', 'NAME DATA AGE', ''],
    ['secrets', 'NAME TYPE DATA AGE', ''],
    ['endpoints', 'NAME ENDPOINTS AGE', ''],
    ['events', 'LAST SEEN TYPE REASON OBJECT MESSAGE', 'SUBOBJECT SOURCE FIRST SEEN COUNT NAME'],
    ['leases', 'NAME HOLDER AGE', ''],
  ])('%s prints %s, and with -o wide also %s', (plural, normal, wide) => {
    expect(names(plural, 0).join(' ')).toBe(normal);
    expect(names(plural, 1).join(' ')).toBe(wide);
  });

  it('spells column names as Kubernetes sends them, with the name column marked', () => {
    const pods = tableColumns(typeOf('pods'));
    expect(pods[0]).toEqual(expect.objectContaining({ name: 'Name', type: 'string', format: 'name', priority: 0 }));
    expect(pods.map((c) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    expect(tableColumns(typeOf('svc')).map((c) => c.name)).toContain('Port(s)');
    expect(tableColumns(typeOf('svc')).map((c) => c.name)).toContain('Cluster-IP');
    expect(tableColumns(typeOf('rs')).find((c) => c.name === 'Desired')?.type).toBe('integer');
    const eventName = tableColumns(typeOf('events')).find((c) => c.name === 'Name');
    expect(eventName).toEqual(expect.objectContaining({ format: 'name', priority: 1 }));
  });

  it('gives every served type a row as wide as its columns', () => {
    for (const type of RESOURCES) {
      const obj: KubeObject = { apiVersion: 'v1', kind: type.kind, metadata: { name: 'x', creationTimestamp: ago(5) } };
      const columns = tableColumns(type);
      expect(columns.length).toBeGreaterThan(1);
      expect(columns.every((c) => c.description && ['string', 'integer', 'boolean'].includes(c.type))).toBe(true);
      expect(tableCells(type, obj, NOW)).toHaveLength(columns.length);
    }
  });
});

function pod(overrides: { spec?: object; status?: object; metadata?: object } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(3600), ...overrides.metadata },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], nodeName: 'node-1', ...overrides.spec },
    status: { phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }], ...overrides.status },
  };
}

const running = { running: { startedAt: ago(3000) } };

describe('pod rows', () => {
  it('prints a running pod as Kubernetes does (the recorded kubectl answer)', () => {
    const obj = pod({
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: 'app', ready: true, started: true, restartCount: 0, state: running }],
      },
    });
    expect(tableCells(typeOf('pods'), obj, NOW)).toEqual(['p', '1/1', 'Running', '0', '60m', '10.1.0.5', 'node-1', '<none>', '<none>']);
  });

  it('shows CrashLoopBackOff with restarts and when the last one was', () => {
    const obj = pod({
      status: {
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(300) } },
          },
        ],
      },
    });
    expect(row('pods', obj)).toEqual(expect.objectContaining({ Ready: '0/1', Status: 'CrashLoopBackOff', Restarts: '5 (5m ago)' }));
  });

  it('shows Completed for a pod whose containers all exited 0', () => {
    const obj = pod({
      spec: { restartPolicy: 'Never' },
      status: {
        phase: 'Succeeded',
        containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      },
    });
    expect(row('pods', obj)).toEqual(expect.objectContaining({ Ready: '0/1', Status: 'Completed', Restarts: '0' }));
  });

  it('goes back to Running when one container completed and another still runs', () => {
    const twoContainers = { containers: [{ name: 'a' }, { name: 'b' }] };
    const statuses = [
      { name: 'a', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
      { name: 'b', ready: true, state: running },
    ];
    // Kubernetes walks statuses from the last, so the first container's Completed is the reason it weighs.
    expect(row('pods', pod({ spec: twoContainers, status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: statuses } })).Status).toBe('Running');
    expect(row('pods', pod({ spec: twoContainers, status: { containerStatuses: statuses } })).Status).toBe('NotReady');
  });

  it('shows Init:x/y while init containers run, and their failures', () => {
    const spec = { initContainers: [{ name: 'migrate', image: 'busybox' }] };
    const initializing = pod({
      spec,
      status: {
        phase: 'Pending',
        initContainerStatuses: [{ name: 'migrate', ready: false, restartCount: 0, state: running }],
        containerStatuses: [{ name: 'app', ready: false, state: { waiting: { reason: 'PodInitializing' } } }],
      },
    });
    expect(row('pods', initializing)).toEqual(expect.objectContaining({ Ready: '0/1', Status: 'Init:0/1' }));

    const crashing = pod({
      spec,
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'migrate',
            restartCount: 2,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, finishedAt: ago(30) } },
          },
        ],
      },
    });
    expect(row('pods', crashing)).toEqual(expect.objectContaining({ Status: 'Init:CrashLoopBackOff', Restarts: '2 (30s ago)' }));

    const failed = pod({
      spec,
      status: { phase: 'Failed', initContainerStatuses: [{ name: 'migrate', state: { terminated: { exitCode: 3 } } }] },
    });
    expect(row('pods', failed).Status).toBe('Init:ExitCode:3');
  });

  it('counts a started sidecar init container as a pod container', () => {
    const obj = pod({
      spec: { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] },
      status: {
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        initContainerStatuses: [{ name: 'proxy', ready: true, started: true, restartCount: 1, state: running }],
        containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }],
      },
    });
    expect(row('pods', obj)).toEqual(expect.objectContaining({ Ready: '2/2', Status: 'Running', Restarts: '1' }));
  });

  it('shows Terminating once deletion started, unless the pod already finished', () => {
    const statuses = [{ name: 'app', ready: true, state: running }];
    const deleting = pod({ metadata: { deletionTimestamp: ago(2) }, status: { containerStatuses: statuses } });
    expect(row('pods', deleting).Status).toBe('Terminating');
    const finished = pod({ metadata: { deletionTimestamp: ago(2) }, status: { phase: 'Succeeded' } });
    expect(row('pods', finished).Status).toBe('Succeeded');
    const lost = pod({ metadata: { deletionTimestamp: ago(2) }, status: { reason: 'NodeLost' } });
    expect(row('pods', lost).Status).toBe('Unknown');
  });

  it('shows waiting reasons, signals and exit codes', () => {
    const withState = (state: object) => row('pods', pod({ status: { phase: 'Running', containerStatuses: [{ name: 'app', state }] } })).Status;
    expect(withState({ waiting: { reason: 'ContainerCreating' } })).toBe('ContainerCreating');
    expect(withState({ terminated: { exitCode: 137, signal: 9 } })).toBe('Signal:9');
    expect(withState({ terminated: { exitCode: 2 } })).toBe('ExitCode:2');
    expect(withState({ terminated: { exitCode: 137, reason: 'OOMKilled' } })).toBe('OOMKilled');
  });

  it('shows an unscheduled pod as Pending with <none> for node and IP', () => {
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'q', creationTimestamp: ago(10) },
      spec: { containers: [{ name: 'a' }, { name: 'b' }] },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
    };
    expect(tableCells(typeOf('pods'), obj, NOW)).toEqual(['q', '0/2', 'Pending', '0', '10s', '<none>', '<none>', '<none>', '<none>']);
    const gated = { ...obj, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } };
    expect(row('pods', gated).Status).toBe('SchedulingGated');
  });

  it('prints the nominated node and readiness gates', () => {
    const obj = pod({
      spec: { readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
      status: { nominatedNodeName: 'node-2', conditions: [{ type: 'example.com/lb', status: 'True' }, { type: 'example.com/dns', status: 'False' }] },
    });
    expect(row('pods', obj)).toEqual(expect.objectContaining({ 'Nominated Node': 'node-2', 'Readiness Gates': '1/2' }));
  });
});

describe('workload rows', () => {
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: {
      containers: [
        { name: 'web', image: 'nginx:1.27' },
        { name: 'log', image: 'busybox' },
      ],
    },
  };

  it('prints a deployment', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', creationTimestamp: ago(725) },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }] },
        template,
      },
      status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    };
    expect(tableCells(typeOf('deploy'), deployment, NOW)).toEqual([
      'web',
      '2/3',
      3,
      2,
      '12m',
      'web,log',
      'nginx:1.27,busybox',
      'app=web,tier in (edge,front)',
    ]);
  });

  it('prints a new deployment without status, and an invalid selector as Kubernetes does', () => {
    const fresh: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'new', creationTimestamp: ago(1) },
      spec: { selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] }, template },
    };
    expect(tableCells(typeOf('deploy'), fresh, NOW)).toEqual(['new', '0/1', 0, 0, '1s', 'web,log', 'nginx:1.27,busybox', '<invalid>']);
  });

  it('prints a replica set', () => {
    const replicaSet: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-5d8f', creationTimestamp: ago(51 * 3600) },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d8f' } }, template },
      status: { replicas: 3, readyReplicas: 1 },
    };
    expect(tableCells(typeOf('rs'), replicaSet, NOW)).toEqual([
      'web-5d8f',
      3,
      3,
      1,
      '2d3h',
      'web,log',
      'nginx:1.27,busybox',
      'app=web,pod-template-hash=5d8f',
    ]);
    expect(row('rs', { ...replicaSet, spec: { replicas: 0, selector: {}, template } }).Selector).toBe('<none>');
  });
});

describe('service rows', () => {
  function service(spec: object, status: object = {}): KubeObject {
    return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', creationTimestamp: ago(45) }, spec, status };
  }

  it('prints a ClusterIP service', () => {
    const obj = service({
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'http', port: 80, protocol: 'TCP' },
      ],
      selector: { app: 'web', tier: 'front' },
    });
    expect(tableCells(typeOf('svc'), obj, NOW)).toEqual(['svc', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,80/TCP', '45s', 'app=web,tier=front']);
  });

  it('prints node ports, external IPs, pending and assigned load balancers, headless and ExternalName services', () => {
    expect(row('svc', service({ type: 'NodePort', clusterIP: '10.96.1.1', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] }))).toEqual(
      expect.objectContaining({ 'Cluster-IP': '10.96.1.1', 'External-IP': '<none>', 'Port(s)': '80:30080/TCP', Selector: '<none>' }),
    );
    expect(row('svc', service({ type: 'ClusterIP', clusterIP: '10.96.1.2', externalIPs: ['1.2.3.4', '5.6.7.8'] }))).toEqual(
      expect.objectContaining({ 'External-IP': '1.2.3.4,5.6.7.8', 'Port(s)': '<none>' }),
    );
    expect(row('svc', service({ type: 'LoadBalancer', clusterIP: '10.96.1.3', ports: [{ port: 443, nodePort: 31443 }] }))).toEqual(
      expect.objectContaining({ 'External-IP': '<pending>', 'Port(s)': '443:31443/TCP' }),
    );
    expect(
      row('svc', service({ type: 'LoadBalancer', clusterIP: '10.96.1.3' }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } }))['External-IP'],
    ).toBe('203.0.113.9,lb.example.com');
    expect(row('svc', service({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'] }))['Cluster-IP']).toBe('None');
    expect(row('svc', service({ type: 'ExternalName', externalName: 'db.example.com' }))).toEqual(
      expect.objectContaining({ Type: 'ExternalName', 'Cluster-IP': '<none>', 'External-IP': 'db.example.com' }),
    );
  });
});

describe('node rows', () => {
  const node: KubeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: 'node-1',
      creationTimestamp: ago(15 * 86400),
      labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '', 'kubernetes.io/hostname': 'node-1' },
    },
    spec: {},
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: 'True' },
      ],
      addresses: [
        { type: 'Hostname', address: 'node-1' },
        { type: 'InternalIP', address: '192.168.1.10' },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0-berth',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0-28-amd64',
        containerRuntimeVersion: 'berth://0.1.0',
      },
    },
  };

  it('prints a ready node with its roles', () => {
    expect(tableCells(typeOf('nodes'), node, NOW)).toEqual([
      'node-1',
      'Ready',
      'control-plane,worker',
      '15d',
      'v1.32.0-berth',
      '192.168.1.10',
      '<none>',
      'Debian GNU/Linux 12 (bookworm)',
      '6.1.0-28-amd64',
      'berth://0.1.0',
    ]);
  });

  it('prints cordoned, not ready and unknown nodes', () => {
    const conditions = [{ type: 'Ready', status: 'Unknown' }];
    expect(row('nodes', { ...node, spec: { unschedulable: true }, status: { conditions } }).Status).toBe('NotReady,SchedulingDisabled');
    const bare: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', labels: { 'kubernetes.io/role': 'edge' } } };
    expect(row('nodes', bare)).toEqual(
      expect.objectContaining({ Status: 'Unknown', Roles: 'edge', Version: '', 'Internal-IP': '<none>', 'OS-Image': '<unknown>' }),
    );
  });
});

describe('small kinds', () => {
  it('prints a namespace', () => {
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', creationTimestamp: ago(300) }, status: { phase: 'Active' } };
    expect(tableCells(typeOf('ns'), ns, NOW)).toEqual(['team-a', 'Active', '5m']);
  });

  it('prints config maps and secrets with their data counts', () => {
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', creationTimestamp: ago(3 * 3600 + 20 * 60) },
      data: { a: '1', b: '2' },
      binaryData: { c: 'AA==' },
    };
    expect(tableCells(typeOf('cm'), cm, NOW)).toEqual(['settings', 3, '3h20m']);
    expect(tableCells(typeOf('cm'), { ...cm, data: undefined, binaryData: undefined }, NOW)).toEqual(['settings', 0, '3h20m']);
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tls', creationTimestamp: ago(60) },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' },
    };
    expect(tableCells(typeOf('secrets'), secret, NOW)).toEqual(['tls', 'kubernetes.io/tls', 2, '60s']);
  });

  it('prints endpoints, at most three of them', () => {
    const endpoints: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', creationTimestamp: ago(90) },
      subsets: [{ addresses: [{ ip: '10.1.0.5' }, { ip: '10.1.0.6' }], ports: [{ port: 80 }, { port: 443 }] }],
    };
    expect(tableCells(typeOf('ep'), endpoints, NOW)).toEqual(['web', '10.1.0.5:80,10.1.0.6:80,10.1.0.5:443 + 1 more...', '90s']);
    const headless = { ...endpoints, subsets: [{ addresses: [{ ip: 'fd00::1' }] }] };
    expect(row('ep', headless).Endpoints).toBe('fd00::1');
    const v6 = { ...endpoints, subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }] };
    expect(row('ep', v6).Endpoints).toBe('[fd00::1]:80');
    expect(row('ep', { ...endpoints, subsets: [] }).Endpoints).toBe('<none>');
  });

  it('prints a lease with its holder', () => {
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-1', namespace: 'kube-node-lease', creationTimestamp: ago(86400) },
      spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 },
    };
    expect(tableCells(typeOf('leases'), lease, NOW)).toEqual(['node-1', 'node-1', '24h']);
    expect(tableCells(typeOf('leases'), { ...lease, spec: {} }, NOW)).toEqual(['node-1', '', '24h']);
  });
});

describe('event rows', () => {
  const event: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-1.17a', namespace: 'default', creationTimestamp: ago(600) },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u-1', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container app \n',
    type: 'Warning',
    count: 7,
    firstTimestamp: ago(600),
    lastTimestamp: ago(20),
    source: { component: 'kubelet', host: 'node-1' },
  };

  it('prints an event with the wide columns', () => {
    expect(tableCells(typeOf('events'), event, NOW)).toEqual([
      '20s',
      'Warning',
      'BackOff',
      'pod/web-1',
      'spec.containers{app}',
      'kubelet, node-1',
      'Back-off restarting failed container app',
      '10m',
      7,
      'web-1.17a',
    ]);
  });

  it('falls back to eventTime, the reporting component and a count of one, like events.k8s.io events', () => {
    const modern: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'n.1', creationTimestamp: ago(30) },
      involvedObject: { kind: 'Node' },
      reason: 'Starting',
      message: 'Starting berth agent.',
      type: 'Normal',
      eventTime: ago(30),
      reportingComponent: 'berth-agent',
      reportingInstance: 'node-1',
    };
    expect(row('events', modern)).toEqual(
      expect.objectContaining({ 'Last Seen': '30s', 'First Seen': '30s', Object: 'node', Source: 'berth-agent, node-1', Count: 1 }),
    );
    const series = { ...modern, series: { count: 4, lastObservedTime: ago(5) } };
    expect(row('events', series)).toEqual(expect.objectContaining({ 'Last Seen': '5s', Count: 4 }));
  });
});
