import type { Pod, Service } from '@berth/api';
import { containerView, logPrefixes, portsColumn, publishers, progressLine } from './format';
import { psTable } from './ps';
import { projectStatus, imageColumns } from './listing';
import { parseScaleArgs, startPatch, stopPatch } from './lifecycle';
import { composeProjectName, normalizeProjectName, projectNameFor, TYPES, type Workload } from './project';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oneOffPod, parseEntrypoint } from './exec';
import { workloadImages } from './pull';
import { removalOrder } from './down';
import { imagesToRemove, parseRmi } from './rmi';
import { builtinType } from '../../kinds';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const at = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();

function pod(name: string, status: Pod['status'], extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, creationTimestamp: at(180), labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' } },
    spec: { containers: [{ name: 'web', image: 'nginx:1.27', command: ['/docker-entrypoint.sh'], args: ['nginx', '-g', 'daemon off;'], ports: [{ containerPort: 80 }] }], ...extra },
    status,
  };
}

const running = (startedAgo: number, ready?: boolean) => ({ phase: 'Running' as const, containerStatuses: [{ name: 'web', ready, state: { running: { startedAt: at(startedAgo) } } }] });

describe('compose container states, as docker words them', () => {
  it('says Up for how long, with the health a readiness probe gives', () => {
    expect(containerView(pod('a', running(120)), NOW)).toEqual({ state: 'running', status: 'Up 2 minutes', health: '', exitCode: 0 });
    const probed = { readinessProbe: { exec: { command: ['true'] }, periodSeconds: 5, failureThreshold: 3 } };
    const withProbe = (status: Pod['status']) => {
      const p = pod('b', status);
      p.spec!.containers[0] = { ...p.spec!.containers[0], ...probed };
      return p;
    };
    expect(containerView(withProbe(running(3600 * 3, true)), NOW).status).toBe('Up 3 hours (healthy)');
    expect(containerView(withProbe(running(5, false)), NOW).status).toBe('Up 5 seconds (health: starting)');
    expect(containerView(withProbe(running(60, false)), NOW)).toMatchObject({ status: 'Up About a minute (unhealthy)', health: 'unhealthy' });
  });

  it('says Exited with the code and when, Restarting after a crash, Created before a start', () => {
    const exited = pod('c', { phase: 'Succeeded', containerStatuses: [{ name: 'web', state: { terminated: { exitCode: 3, finishedAt: at(3) } } }] });
    expect(containerView(exited, NOW)).toEqual({ state: 'exited', status: 'Exited (3) 3 seconds ago', health: '', exitCode: 3 });
    const crashing = pod('d', { phase: 'Running', containerStatuses: [{ name: 'web', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: at(1) } } }] });
    expect(containerView(crashing, NOW).status).toBe('Restarting (1) 1 second ago');
    expect(containerView(pod('e', { phase: 'Pending' }), NOW)).toMatchObject({ state: 'created', status: 'Created' });
    const leaving = pod('f', running(10));
    leaving.metadata.deletionTimestamp = at(0);
    expect(containerView(leaving, NOW).state).toBe('removing');
  });

  it('prints the ps table with docker columns, the command quoted and cut, the published ports', () => {
    const service: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { type: 'LoadBalancer', ports: [{ port: 8080, targetPort: 80, protocol: 'TCP' }, { port: 9000, targetPort: 9000, protocol: 'UDP' }] },
    };
    const internal: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-internal' }, spec: { ports: [{ port: 3306 }] } };
    expect(portsColumn(publishers(pod('a', running(1)), [service, internal]))).toBe('0.0.0.0:8080->80/tcp, 0.0.0.0:9000->9000/udp, 3306/tcp');
    const text = psTable([{ pod: pod('shop-web-7d9f-x2', running(120)), service: 'web', services: [service] }], NOW);
    expect(text.split('\n')).toEqual([
      'NAME               IMAGE        COMMAND                  SERVICE   CREATED         STATUS         PORTS',
      'shop-web-7d9f-x2   nginx:1.27   "/docker-entrypoint.…"   web       3 minutes ago   Up 2 minutes   0.0.0.0:8080->80/tcp, 0.0.0.0:9000->9000/udp',
      '',
    ]);
    const hostPort = pod('h', running(1));
    hostPort.spec!.containers[0].ports = [{ containerPort: 53, hostPort: 5353, protocol: 'UDP' }];
    expect(portsColumn(publishers(hostPort, []))).toBe('0.0.0.0:5353->53/udp');
  });
});

describe('compose log prefixes', () => {
  it('pads every name to the longest plus one, coloured per service only when asked', () => {
    const names = [
      { name: 'web-1', service: 'web' },
      { name: 'web-2', service: 'web' },
      { name: 'worker-1', service: 'worker' },
    ];
    const plain = logPrefixes(names, false);
    expect([...plain.values()]).toEqual(['web-1     | ', 'web-2     | ', 'worker-1  | ']);
    const coloured = logPrefixes(names, true);
    expect(coloured.get('web-1')).toBe('\u001b[36mweb-1     | \u001b[0m');
    expect(coloured.get('web-2')).toBe('\u001b[36mweb-2     | \u001b[0m');
    expect(coloured.get('worker-1')).toBe('\u001b[33mworker-1  | \u001b[0m');
  });
});

describe('compose progress, ls and images columns', () => {
  it('words progress as compose does on a terminal and off one', () => {
    expect(progressLine('Container', 'shop-web-1', 'Removed', true)).toBe(' ✔ Container shop-web-1  Removed');
    expect(progressLine('Volume', 'data', 'Removed', false)).toBe(' Volume data  Removed');
  });

  it('counts states for compose ls and splits image references for compose images', () => {
    expect(projectStatus(['running', 'running', 'exited'])).toBe('running(2), exited(1)');
    expect(projectStatus([])).toBe('');
    expect(imageColumns('busybox:latest', 'docker.io/library/busybox@sha256:0123456789abcdef0123')).toEqual({ repository: 'busybox', tag: 'latest', id: '0123456789ab' });
    expect(imageColumns('10.0.0.5:5000/shop/web:1', '')).toEqual({ repository: '10.0.0.5:5000/shop/web', tag: '1', id: '' });
  });
});

describe('compose project names', () => {
  it('takes -p, else COMPOSE_PROJECT_NAME, else the directory normalised', () => {
    expect(composeProjectName({ projectName: 'shop' }, { COMPOSE_PROJECT_NAME: 'other' }, '/x/y')).toBe('shop');
    expect(composeProjectName({}, { COMPOSE_PROJECT_NAME: 'other' }, '/x/y')).toBe('other');
    expect(composeProjectName({}, {}, '/home/me/My.App_2')).toBe('myapp_2');
    expect(composeProjectName({ projectDirectory: '../Site' }, {}, '/home/me/x')).toBe('site');
    expect(normalizeProjectName('--Web Shop')).toBe('webshop');
  });

  it("reads the compose file's name when there is a file, else falls back to the directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'Compose-Verbs-'));
    try {
      const none = { file: [], projectDirectory: dir };
      expect(await projectNameFor(none, { workingDir: dir }, {})).toBe(normalizeProjectName(dir.split('/').pop()!));
      expect(await projectNameFor({ ...none, projectName: 'given' }, { workingDir: dir }, {})).toBe('given');
      writeFileSync(join(dir, 'compose.yaml'), 'name: fromfile\nservices:\n  web:\n    image: busybox\n');
      expect(await projectNameFor(none, { workingDir: dir }, {})).toBe('fromfile');
      expect(await projectNameFor(none, { workingDir: dir }, { COMPOSE_PROJECT_NAME: 'fromenv' })).toBe('fromenv');
      await expect(projectNameFor({ file: [join(dir, 'missing.yaml')] }, { files: [join(dir, 'missing.yaml')] }, {})).rejects.toThrow(/missing\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a -p that is not a project name, in one line', () => {
    expect(() => composeProjectName({ projectName: 'Shop' }, {}, '/')).toThrow(/^invalid project name "Shop": must consist only of lowercase alphanumeric/);
    expect(() => composeProjectName({ projectName: '__proto__' }, {}, '/')).toThrow(/invalid project name/);
    expect(() => composeProjectName({}, {}, '/')).toThrow(/project name must not be empty/);
  });
});

describe('compose lifecycle changes', () => {
  const workload = (plural: 'deployments' | 'daemonsets' | 'jobs', spec: object, annotations?: Record<string, string>): Workload => ({
    type: TYPES[plural],
    object: { apiVersion: 'apps/v1', kind: 'X', metadata: { name: 'web', annotations }, spec } as Workload['object'],
    service: 'web',
  });

  it('stops a deployment keeping its replicas, and starts it with them again', () => {
    expect(stopPatch(workload('deployments', { replicas: 3 }))).toEqual({ metadata: { annotations: { 'compose.berth.dev/replicas': '3' } }, spec: { replicas: 0 } });
    expect(stopPatch(workload('deployments', { replicas: 0 }))).toBeUndefined();
    expect(startPatch(workload('deployments', { replicas: 0 }, { 'compose.berth.dev/replicas': '3' }))).toEqual({ metadata: { annotations: { 'compose.berth.dev/replicas': null } }, spec: { replicas: 3 } });
    expect(startPatch(workload('deployments', { replicas: 2 }))).toBeUndefined();
  });

  it('stops a job by suspending it and a global service by a node selector no node has', () => {
    expect(stopPatch(workload('jobs', {}))).toEqual({ spec: { suspend: true } });
    expect(startPatch(workload('jobs', { suspend: true }))).toEqual({ spec: { suspend: false } });
    expect(stopPatch(workload('daemonsets', { template: { spec: {} } }))).toEqual({ spec: { template: { spec: { nodeSelector: { 'compose.berth.dev/stopped': 'true' } } } } });
    expect(startPatch(workload('daemonsets', { template: { spec: { nodeSelector: { 'compose.berth.dev/stopped': 'true' } } } }))).toEqual({
      spec: { template: { spec: { nodeSelector: { 'compose.berth.dev/stopped': null } } } },
    });
  });

  it('pulls every image a service runs once, init containers first', () => {
    const w = workload('deployments', { template: { spec: { initContainers: [{ name: 'i', image: 'busybox' }], containers: [{ name: 'a', image: 'web:1' }, { name: 'b', image: 'busybox' }] } } });
    expect(workloadImages(w)).toEqual(['busybox', 'web:1']);
  });

  it('reads SERVICE=N, refusing anything else', () => {
    expect(parseScaleArgs(['web=3', 'worker=0'])).toEqual([{ service: 'web', replicas: 3 }, { service: 'worker', replicas: 0 }]);
    expect(() => parseScaleArgs(['web'])).toThrow('invalid scale specifier "web": use SERVICE=REPLICAS');
    expect(() => parseScaleArgs(['web=-1'])).toThrow(/invalid scale specifier/);
  });
});

describe('compose run pods', () => {
  it('makes a one-off pod of the template: command as args, entrypoint, env and workdir, never restarted', () => {
    const template = {
      metadata: { labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' } },
      spec: { restartPolicy: 'Always' as const, containers: [{ name: 'web', image: 'busybox', command: ['sh'], args: ['-c', 'serve'], env: [{ name: 'A', value: '1' }], readinessProbe: { exec: { command: ['true'] } } }] },
    };
    const made = oneOffPod('shop', 'web', template, ['echo', 'hi'], { env: ['A=2', 'B=3'], workdir: '/tmp', tty: false });
    expect(made.metadata.name).toMatch(/^shop-web-run-[0-9a-f]{12}$/);
    // Not selected by the service's workload or Service: the service is named in an annotation.
    expect(made.metadata.labels).toEqual({ 'com.docker.compose.project': 'shop', 'com.docker.compose.oneoff': 'True' });
    expect(made.metadata.annotations).toEqual({ 'com.docker.compose.service': 'web' });
    expect(made.spec?.restartPolicy).toBe('Never');
    expect(made.spec?.containers[0]).toMatchObject({ command: ['sh'], args: ['echo', 'hi'], workingDir: '/tmp', env: [{ name: 'A', value: '2' }, { name: 'B', value: '3' }] });
    expect(made.spec?.containers[0].readinessProbe).toBeUndefined();
    expect(template.spec.containers[0].args).toEqual(['-c', 'serve']);
    const entry = oneOffPod('my_app', 'web', template, [], { entrypoint: 'env', tty: false });
    expect(entry.spec?.containers[0]).toMatchObject({ command: ['env'], args: [] });
    expect(entry.metadata.name).toMatch(/^my-app-web-run-/);
    expect(parseEntrypoint('["sh", "-c"]')).toEqual(['sh', '-c']);
    expect(() => parseEntrypoint('[1]')).toThrow(/invalid --entrypoint/);
  });
});

describe('compose down', () => {
  it('removes the workloads first, then bare pods, the rest, the claims last and only with -v; never what controllers make', () => {
    const types = ['configmaps', 'persistentvolumeclaims', 'services', 'events', 'replicasets', 'pods', 'deployments', 'jobs', 'endpointslices', 'nodes'].map(builtinType);
    expect(removalOrder(types, false).map((t) => t.plural)).toEqual(['deployments', 'jobs', 'pods', 'configmaps', 'services']);
    expect(removalOrder(types, true).map((t) => t.plural)).toEqual(['deployments', 'jobs', 'pods', 'configmaps', 'services', 'persistentvolumeclaims']);
  });
});

describe('compose down --rmi', () => {
  it('takes local as the images built without a name (REGISTRY/PROJECT/SERVICE), all as every image', () => {
    const w = (service: string, image: string): Workload => ({
      type: TYPES.deployments,
      object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: service }, spec: { template: { spec: { containers: [{ name: service, image }] } } } } as Workload['object'],
      service,
    });
    const workloads = [w('web', '10.0.0.5:5000/shop/web@sha256:' + 'a'.repeat(64)), w('db', 'postgres:16'), w('worker', '10.0.0.5:5000/shop/web:latest')];
    expect(imagesToRemove(workloads, 'local', 'shop')).toEqual(['10.0.0.5:5000/shop/web@sha256:' + 'a'.repeat(64)]);
    expect(imagesToRemove(workloads, 'all', 'shop')).toEqual(['10.0.0.5:5000/shop/web@sha256:' + 'a'.repeat(64), 'postgres:16', '10.0.0.5:5000/shop/web:latest']);
    expect(parseRmi(undefined)).toBeUndefined();
    expect(() => parseRmi('some')).toThrow('invalid --rmi "some": use local or all');
  });
});
