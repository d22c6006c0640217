import type { DaemonSet, Deployment, Job, Node, Pod, Service } from '@berth/api';
import { byNameOrId, formatRows, nodeRow, replicasColumn, serviceFilter, serviceRow, taskFilter, taskRow, tasksOf, taskState } from './tasks';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const uid = (n: number) => `0000000${n}-aaaa-bbbb-cccc-dddddddddddd`;

function pod(name: string, created: string, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, uid: uid(Number(name.slice(-1)) || 0), creationTimestamp: created, ...extra.metadata },
    spec: { nodeName: 'host-1', containers: [{ name: 'web', image: 'busybox:1.36' }], ...extra.spec },
    status: extra.status,
  };
}

const deployment: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', uid: uid(1), labels: { 'com.docker.swarm.service.name': 'web', tier: 'front' } },
  spec: { replicas: 3, selector: {}, template: { spec: { containers: [{ name: 'web', image: 'busybox:1.36', ports: [{ containerPort: 9090, hostPort: 9090 }] }] } } },
  status: { availableReplicas: 2 },
};
const lb = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 8080, targetPort: 80, protocol: 'TCP', nodePort: 31000 }] } } as Service;

describe('Swarm columns', () => {
  it("shows a service as docker service ls does: ID, mode, replicas, image and ingress ports", () => {
    expect(serviceRow({ workload: deployment, published: lb })).toEqual({ ID: '00000001aaaa', Name: 'web', Mode: 'replicated', Replicas: '2/3', Image: 'busybox:1.36', Ports: '*:8080->80/tcp' });
    const nodePort = { ...lb, spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 80, protocol: 'UDP', nodePort: 30053 }] } } as Service;
    expect(serviceRow({ workload: deployment, published: nodePort }).Ports).toBe('*:30053->80/udp');
    const ds = { kind: 'DaemonSet', metadata: { name: 'agent' }, status: { numberAvailable: 2, desiredNumberScheduled: 3 } } as DaemonSet;
    expect(replicasColumn(ds)).toBe('2/3');
    const job = { kind: 'Job', metadata: { name: 'once' }, spec: { parallelism: 2, completions: 5, template: {} }, status: { active: 1, succeeded: 3 } } as Job;
    expect(replicasColumn(job)).toBe('1/2 (3/5 completed)');
  });

  it('filters services by name prefix, label and mode', () => {
    const view = { workload: deployment };
    expect(serviceFilter(['name=we'])(view)).toBe(true);
    expect(serviceFilter(['label=tier=front', 'mode=replicated'])(view)).toBe(true);
    expect(serviceFilter(['label=tier=back'])(view)).toBe(false);
    expect(serviceFilter(['label=__proto__'])(view)).toBe(false);
    expect(() => serviceFilter(['colour=red'])).toThrow("invalid filter 'colour'");
  });

  it('numbers replicated tasks by creation order and names global ones after their node', () => {
    const pods = [pod('web-b2', '2026-12-07T11:00:02Z'), pod('web-a1', '2026-12-07T11:00:01Z'), pod('web-c3', '2026-12-07T11:00:01Z')];
    expect(tasksOf('web', pods, false, new Map()).map((t) => [t.name, t.pod.metadata.name])).toEqual([['web.1', 'web-a1'], ['web.2', 'web-c3'], ['web.3', 'web-b2']]);
    expect(tasksOf('agent', [pods[0]], true, new Map([['host-1', 'n0de1d']]))[0].name).toBe('agent.n0de1d');
  });

  it("words a pod's state as docker words a task's", () => {
    const running = pod('web-1', '2026-12-07T11:00:00Z', { status: { phase: 'Running', containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: '', imageID: '', state: { running: { startedAt: '2026-12-07T11:58:00Z' } } }] } } as Partial<Pod>);
    expect(taskState(running, NOW)).toEqual({ desired: 'Running', current: 'Running 2 minutes ago', error: '' });
    const pulling = pod('web-2', '2026-12-07T11:59:55Z', { status: { phase: 'Pending', startTime: '2026-12-07T11:59:55Z', containerStatuses: [{ name: 'web', ready: false, restartCount: 0, image: '', imageID: '', state: { waiting: { reason: 'ErrImagePull', message: 'no such image' } } }] } } as Partial<Pod>);
    expect(taskState(pulling, NOW)).toEqual({ desired: 'Running', current: 'Rejected 5 seconds ago', error: 'ErrImagePull: no such image' });
    const unscheduled = pod('web-3', '2026-12-07T11:00:00Z', { spec: { nodeName: undefined, containers: [] }, status: { phase: 'Pending' } } as Partial<Pod>);
    expect(taskState(unscheduled, NOW).current).toBe('Pending About an hour ago');
    const stopping = { ...running, metadata: { ...running.metadata, deletionTimestamp: '2026-12-07T11:59:59Z' } };
    expect(taskState(stopping, NOW).desired).toBe('Shutdown');
    const row = taskRow({ pod: { ...running, spec: { ...running.spec!, containers: [{ name: 'web', image: 'busybox:1.36', ports: [{ containerPort: 80, hostPort: 8080 }] }] } }, name: 'web.1', slot: '1' }, false, NOW);
    expect(row).toEqual({ ID: '00000001aaaa', Name: 'web.1', Image: 'busybox:1.36', Node: 'host-1', DesiredState: 'Running', CurrentState: 'Running 2 minutes ago', Error: '', Ports: '*:8080->80/tcp' });
    expect(taskFilter(['desired-state=running'])(row)).toBe(true);
    expect(taskFilter(['desired-state=shutdown'])(row)).toBe(false);
  });

  it("shows a node as docker node ls does", () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'host-1', uid: uid(7), annotations: { 'swarm.berth.dev/availability': 'drain' } }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } as Node;
    expect(nodeRow(node, true, true, '0.1.0', 'swarm.berth.dev/availability')).toEqual({ ID: '00000007aaaabbbbccccddddd', Self: true, Hostname: 'host-1', Status: 'Ready', Availability: 'Drain', ManagerStatus: 'Leader', EngineVersion: '0.1.0' });
    const down = { ...node, metadata: { ...node.metadata, annotations: {} }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } } as Node;
    expect(nodeRow(down, false, false, '0.1.0', 'swarm.berth.dev/availability')).toMatchObject({ Status: 'Down', Availability: 'Active', ManagerStatus: '' });
    expect(nodeRow({ ...down, spec: { unschedulable: true } } as Node, false, false, '0.1.0', 'swarm.berth.dev/availability').Availability).toBe('Pause');
  });

  it('formats rows with a --format template', () => {
    const rows = [{ Name: 'web', Replicas: '2/3' }];
    expect(formatRows('{{.Name}}: {{.Replicas}}', rows, { Name: 'NAME', Replicas: 'REPLICAS' })).toEqual(['web: 2/3']);
    expect(formatRows('table {{.Name}}\\t{{.Replicas}}', rows, { Name: 'NAME', Replicas: 'REPLICAS' })).toEqual(['NAME\tREPLICAS', 'web\t2/3']);
    expect(formatRows('{{json .}}', rows, {})).toEqual(['{"Name":"web","Replicas":"2/3"}']);
    expect(() => formatRows('{{.Colour}}', rows, {})).toThrow("can't evaluate field Colour");
    expect(() => formatRows('{{range .}}', rows, {})).toThrow('unsupported --format');
  });

  it('finds a service or node by name, else by a unique ID prefix', () => {
    const items = [{ name: 'web', uid: uid(1) }, { name: 'api', uid: '00000001-ffff-0000-0000-000000000000' }, { name: '0000', uid: uid(2) }];
    const find = (ref: string) => byNameOrId(items, ref, (i) => i.name, (i) => i.uid, 'service').name;
    expect(find('api')).toBe('api');
    expect(find('0000')).toBe('0000');
    expect(find('00000001aa')).toBe('web');
    expect(() => find('00000001')).toThrow('service 00000001 is ambiguous (2 matches)');
    expect(() => find('nothing')).toThrow('service nothing not found');
    expect(() => find('')).toThrow('not found');
  });
});
