import type { Deployment } from '@berth/api';
import { composeProject, composeService, translateProject } from '@berth/compose';
import { composeServiceOf, parseConstraint, parseMountFlag, parsePublishFlag, serviceObjects, SWARM_SERVICE_LABEL } from './service-spec';
import { updatedPorts, updatedWorkload } from './service';

const none = { publish: [], env: [], mount: [], constraint: [], label: [], containerLabel: [] };

describe('docker service flags', () => {
  it('reads --publish in its short and long forms', () => {
    expect(parsePublishFlag('8080:80')).toEqual({ published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' });
    expect(parsePublishFlag('53:53/udp')).toEqual({ published: 53, target: 53, protocol: 'udp', mode: 'ingress' });
    expect(parsePublishFlag('80')).toEqual({ target: 80, protocol: 'tcp', mode: 'ingress' });
    expect(parsePublishFlag('published=8080,target=80,protocol=udp,mode=host')).toEqual({ published: 8080, target: 80, protocol: 'udp', mode: 'host' });
    expect(() => parsePublishFlag('published=8080')).toThrow('missing mandatory field "target"');
    expect(() => parsePublishFlag('8080-8081:80')).toThrow('port ranges are not supported');
    expect(() => parsePublishFlag('127.0.0.1:8080:80')).toThrow('a host IP cannot be given');
    expect(() => parsePublishFlag('8080:70000')).toThrow('is not a port');
    expect(() => parsePublishFlag('8080:80/icmp')).toThrow('invalid protocol');
    expect(() => parsePublishFlag('target=80,mode=bridge')).toThrow('must be either "ingress" or "host"');
    expect(() => parsePublishFlag('target=80,__proto__=1')).toThrow('invalid field key __proto__');
  });

  it('reads --mount', () => {
    expect(parseMountFlag('type=volume,source=data,target=/data')).toEqual({ type: 'volume', source: 'data', target: '/data', readOnly: false });
    expect(parseMountFlag('type=bind,src=/srv,dst=/srv,readonly')).toEqual({ type: 'bind', source: '/srv', target: '/srv', readOnly: true });
    expect(parseMountFlag('type=tmpfs,target=/tmp,tmpfs-size=64m')).toEqual({ type: 'tmpfs', target: '/tmp', readOnly: false, tmpfsSize: 64 * 1024 * 1024 });
    expect(parseMountFlag('target=/cache,ro=false')).toEqual({ type: 'volume', target: '/cache', readOnly: false });
    expect(() => parseMountFlag('type=bind,source=rel,target=/x')).toThrow('absolute source');
    expect(() => parseMountFlag('type=volume,source=Bad_Name,target=/x')).toThrow('names a PersistentVolumeClaim');
    expect(() => parseMountFlag('source=data')).toThrow('target is required');
    expect(() => parseMountFlag('type=npipe,target=/x')).toThrow('not supported');
    expect(() => parseMountFlag('target=/x,propagation=shared')).toThrow("unexpected key 'propagation'");
  });

  it('reads --constraint as node selector requirements', () => {
    expect(parseConstraint('node.hostname==host-1')).toEqual({ key: 'kubernetes.io/hostname', operator: 'In', values: ['host-1'] });
    expect(parseConstraint('node.labels.disk != ssd')).toEqual({ key: 'disk', operator: 'NotIn', values: ['ssd'] });
    expect(parseConstraint('node.platform.arch==x86_64')).toEqual({ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] });
    expect(() => parseConstraint('node.role==worker')).toThrow('node.role is not supported');
    expect(() => parseConstraint('node.id==abc')).toThrow('node.id is not supported');
    expect(() => parseConstraint('node.hostname=host-1')).toThrow('use KEY==VALUE');
  });

  it('makes what compose makes of the same service: a Deployment, its Services, the claim of its named volume', async () => {
    const { workload, services, claims } = await serviceObjects('web', 'shop', 'busybox:1.36', ['httpd', '-f'], {
      ...none,
      replicas: 3,
      publish: ['8080:80', 'published=9090,target=90,mode=host'],
      env: ['A=1', 'B=2', 'A=3'],
      mount: ['source=data,target=/data'],
      constraint: ['node.labels.zone==a'],
      limitMemory: '64m',
      limitCpu: '0.5',
      updateParallelism: 2,
      updateOrder: 'start-first',
    });
    const compose = { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' };
    const deployment = workload as Deployment;
    expect(deployment.kind).toBe('Deployment');
    expect(deployment.metadata.labels).toEqual({ [SWARM_SERVICE_LABEL]: 'web', ...compose });
    expect(deployment.spec?.replicas).toBe(3);
    expect(deployment.spec?.selector.matchLabels).toEqual(compose);
    expect(deployment.spec?.template.metadata?.labels).toEqual({ [SWARM_SERVICE_LABEL]: 'web', ...compose });
    expect(deployment.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } });
    const container = deployment.spec!.template.spec!.containers[0];
    expect(container.args).toEqual(['httpd', '-f']);
    expect(container.env).toEqual([{ name: 'B', value: '2' }, { name: 'A', value: '3' }]);
    expect(container.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }, { containerPort: 90, protocol: 'TCP', hostPort: 9090 }]);
    expect(container.resources).toEqual({ limits: { cpu: '0.5', memory: String(64 * 1024 * 1024) } });
    expect(deployment.spec!.template.spec!.volumes).toEqual([{ name: 'volume-0', persistentVolumeClaim: { claimName: 'data' } }]);
    expect(deployment.spec!.template.spec!.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }]);
    expect(claims.map((c) => c.metadata.name)).toEqual(['data']);
    expect(services.map((s) => [s.metadata.name, s.spec?.type])).toEqual([['web', 'ClusterIP'], ['web-published', 'LoadBalancer']]);
    expect(services[1].spec).toMatchObject({ selector: compose, ports: [{ protocol: 'TCP', port: 8080, targetPort: 80 }] });
  });

  it('means by each flag what its compose key means', async () => {
    const flags = {
      ...none,
      mode: 'replicated-job',
      restartCondition: 'none',
      label: ['tier=back'],
      containerLabel: ['role=worker'],
      entrypoint: 'sh -c',
      workdir: '/srv',
      user: 'www-data',
      healthCmd: 'true',
      healthInterval: '5s',
      healthStartPeriod: '10s',
      reserveMemory: '32m',
    };
    const { workload } = await serviceObjects('once', 'shop', 'busybox', ['echo hi'], flags);
    const { fields, volumes } = composeServiceOf('once', 'busybox', ['echo hi'], flags);
    expect(fields).toMatchObject({ entrypoint: ['sh', '-c'], command: ['echo hi'], working_dir: '/srv', user: 'www-data', healthcheck: { test: ['CMD-SHELL', 'true'], interval: '5s', start_period: '10s' } });
    expect(fields.deploy).toMatchObject({ mode: 'replicated-job', restart_policy: { condition: 'none' }, resources: { reservations: { memory: 32 * 1024 * 1024 } } });
    const [translated] = translateProject(composeProject('shop', [composeService('once', fields)], { volumes })).filter((o) => o.kind === 'Job');
    expect(workload).toEqual(translated);
    expect(workload).toMatchObject({ kind: 'Job', metadata: { labels: { tier: 'back' } }, spec: { template: { metadata: { labels: { role: 'worker' } }, spec: { restartPolicy: 'Never' } } } });
  });

  it('makes a DaemonSet for global, a Job for replicated-job, and a NodePort for a port without a published one', async () => {
    expect((await serviceObjects('agent', 'default', 'busybox', [], { ...none, mode: 'global' })).workload.kind).toBe('DaemonSet');
    const job = (await serviceObjects('once', 'default', 'busybox', [], { ...none, mode: 'replicated-job', replicas: 2, restartCondition: 'none' })).workload;
    expect(job).toMatchObject({ kind: 'Job', spec: { completions: 2, parallelism: 2, template: { spec: { restartPolicy: 'Never' } } } });
    expect((await serviceObjects('web', 'default', 'busybox', [], { ...none, publish: ['80'] })).services.map((s) => s.spec?.type)).toEqual(['ClusterIP', 'NodePort']);
    await expect(serviceObjects('web', 'default', 'busybox', [], { ...none, publish: ['80', '8080:81'] })).rejects.toThrow('ports');
    await expect(serviceObjects('web', 'default', 'busybox', [], { ...none, publish: ['80/sctp'] })).rejects.toThrow('sctp is not supported');
    await expect(serviceObjects('agent', 'default', 'busybox', [], { ...none, mode: 'global', replicas: 2 })).rejects.toThrow('replicas can only be used with replicated');
    // A global job: one task to completion on each schedulable node the constraints admit, counted when it is made.
    const nodes = async (): Promise<Array<Record<string, string>>> => [{ 'kubernetes.io/hostname': 'a', disk: 'ssd' }, { 'kubernetes.io/hostname': 'b' }, { 'kubernetes.io/hostname': 'c', disk: 'ssd' }];
    const everywhere = (await serviceObjects('once', 'default', 'busybox', [], { ...none, mode: 'global-job', constraint: ['node.labels.disk==ssd'] }, nodes)).workload;
    expect(everywhere).toMatchObject({ kind: 'Job', metadata: { annotations: { 'compose.berth.dev/mode': 'global-job' } }, spec: { completions: 2, parallelism: 2 } });
    expect(JSON.stringify(everywhere.spec?.template?.spec?.affinity?.podAntiAffinity)).toContain('kubernetes.io/hostname');
    await expect(serviceObjects('x', 'default', 'busybox', [], { ...none, mode: 'global-job', replicas: 2 }, nodes)).rejects.toThrow('replicas can only be used with replicated');
    await expect(serviceObjects('x', 'default', 'busybox', [], { ...none, mode: 'global-job', constraint: ['node.labels.disk==hdd'] }, nodes)).rejects.toThrow('no schedulable node matches');
    await expect(serviceObjects('Bad_Name', 'default', 'busybox', [], none)).rejects.toThrow('invalid name');
    await expect(serviceObjects('web', 'default', 'busybox', [], { ...none, restartCondition: 'none' })).rejects.toThrow('needs --mode replicated-job');
    await expect(serviceObjects('web', 'default', 'busybox', [], { ...none, updateFailureAction: 'continue' })).rejects.toThrow('continue is not supported');
    await expect(serviceObjects('agent', 'default', 'busybox', [], { ...none, mode: 'global', updateFailureAction: 'rollback' })).rejects.toThrow('for replicated services');
    await expect(serviceObjects('web', 'default', 'busybox', [], { ...none, constraint: ['node.role==manager'] })).rejects.toThrow('node.role is not supported');
  });

  it('asks the cluster to roll a failed update back (--update-failure-action rollback), within --update-monitor', async () => {
    const created = (await serviceObjects('web', 'default', 'busybox', [], { ...none, updateFailureAction: 'rollback', updateMonitor: '30s' })).workload as Deployment;
    expect(created.metadata.annotations).toEqual({ 'compose.berth.dev/update-failure-action': 'rollback' });
    expect(created.spec?.progressDeadlineSeconds).toBe(30);
    const flags = { envAdd: [], envRm: [], publishAdd: [], publishRm: [], constraintAdd: [], constraintRm: [], labelAdd: [], labelRm: [] };
    const paused = updatedWorkload(created, { ...flags, updateFailureAction: 'pause' }) as Deployment;
    expect(paused.metadata.annotations).toBeUndefined();
    const again = updatedWorkload(paused, { ...flags, updateFailureAction: 'rollback', updateMonitor: '2s' }) as Deployment;
    expect(again.metadata.annotations).toEqual({ 'compose.berth.dev/update-failure-action': 'rollback' });
    expect(again.spec?.progressDeadlineSeconds).toBe(2);
    expect(() => updatedWorkload(created, { ...flags, updateFailureAction: 'retry' })).toThrow('use pause or rollback');
  });

  it('updates env, image, constraints, labels and limits on a copy, and forces a restart', async () => {
    const { workload } = await serviceObjects('web', 'default', 'busybox:1.36', [], { ...none, env: ['A=1', 'B=2'], constraint: ['node.hostname==h1'], publish: ['8080:80'] });
    const before = JSON.stringify(workload);
    const updated = updatedWorkload(workload, {
      image: 'busybox:latest', replicas: 4, envAdd: ['C=3', 'A=9'], envRm: ['B'], publishAdd: [], publishRm: [],
      constraintAdd: ['node.labels.zone==a'], constraintRm: ['node.hostname==h1'], labelAdd: ['tier=web'], labelRm: [], limitMemory: '32m', force: true,
    }, new Date('2026-12-07T15:00:00.123Z')) as Deployment;
    expect(JSON.stringify(workload)).toBe(before);
    const container = updated.spec!.template.spec!.containers[0];
    expect(container.image).toBe('busybox:latest');
    expect(updated.spec!.replicas).toBe(4);
    expect(container.env).toEqual([{ name: 'C', value: '3' }, { name: 'A', value: '9' }]);
    expect(updated.spec!.template.spec!.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0].matchExpressions).toEqual([{ key: 'zone', operator: 'In', values: ['a'] }]);
    expect(updated.metadata.labels?.tier).toBe('web');
    expect(container.resources?.limits).toEqual({ memory: String(32 * 1024 * 1024) });
    expect(updated.spec!.template.metadata?.annotations).toEqual({ 'kubectl.kubernetes.io/restartedAt': '2026-12-07T15:00:00Z' });
    expect(() => updatedWorkload(workload, { envAdd: [], envRm: [], publishAdd: [], publishRm: [], constraintAdd: [], constraintRm: [], labelAdd: [], labelRm: [SWARM_SERVICE_LABEL] })).toThrow("berth's own");
  });

  it('adds and removes published ports', () => {
    const current = [{ published: 8080, target: 80, protocol: 'tcp' as const, mode: 'ingress' as const }];
    expect(updatedPorts(current, ['9090:90'], ['80'])).toEqual([{ published: 9090, target: 90, protocol: 'tcp', mode: 'ingress' }]);
    expect(updatedPorts(current, ['8080:81'], [])).toEqual([{ published: 8080, target: 81, protocol: 'tcp', mode: 'ingress' }]);
    expect(() => updatedPorts(current, [], ['81'])).toThrow('no published port matches');
  });
});
