/**
 * Docker Swarm's verbs (`berth service|node|swarm|stack`) against a server and three hosts, each a network
 * namespace with its own agent and runtimed: a service is created, listed, scaled, updated to another image,
 * rolled back, read from and removed, with docker's lines and columns; nodes are labelled (and a constraint
 * follows the label), drained (their tasks move away), paused and made active again.
 */
import { resourceForKind, type Node, type Pod, type Service } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHostsCluster, type HostsCluster } from '../support/hosts-cluster';
import { runBerth } from './run-berth';

jest.setTimeout(600_000);

const PODS = resourceForKind('v1', 'Pod')!;
const SERVICES = resourceForKind('v1', 'Service')!;
const NODES = resourceForKind('v1', 'Node')!;
const DEPLOYMENTS = resourceForKind('apps/v1', 'Deployment')!;
const LABEL = 'com.docker.swarm.service.name';
/** A published port no other test uses: the nodes' service-lb answers on it in their own namespaces. */
const PUBLISHED = 20000 + Math.floor(Math.random() * 9000);
/**
 * A task's command that stays up and ends when its task is stopped, as a service's server does: a bare
 * `sleep` is its container's PID 1, which ignores SIGTERM, so each removal the test waits for would sit out
 * the whole grace period (30 s).
 */
const SERVE = 'trap "exit 0" TERM; sleep 3600 & wait';

describe('berth service, node, swarm and stack (Swarm verbs) across three hosts', () => {
  let cluster: HostsCluster;
  let client: KubeClient;
  const berth = (...args: string[]) => runBerth(cluster.server.kubeconfigPath, args);
  const ok = async (...args: string[]) => {
    const result = await berth(...args);
    if (result.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  const podsOf = async (service: string) => (await client.list<Pod>(PODS, { namespace: 'default', labelSelector: `${LABEL}=${service}` })).items.filter((p) => !p.metadata.deletionTimestamp);
  const rows = (text: string) => text.trim().split('\n').slice(1).map((line) => line.split(/\s{3,}/));

  beforeAll(async () => {
    cluster = await startHostsCluster(3);
    client = cluster.client;
    // A second image name that is on every host, so an update has something to roll to without a registry.
    for (const host of cluster.hosts) await host.runtime.tagImage('busybox:latest', 'busybox:1.37');
  }, 240_000);

  afterAll(async () => {
    if (!cluster) return;
    for (const name of ['web', 'pinned', 'spread']) for (const service of [name, `${name}-published`]) await client.delete(SERVICES, service, { namespace: 'default' }).catch(() => undefined);
    await client.delete(resourceForKind('v1', 'Namespace')!, 'shop').catch(() => undefined);
    await cluster.removeWorkloads('default', { deployments: ['web', 'pinned', 'spread'] });
    for (const host of cluster.hosts) await client.patch(NODES, host.name, { spec: { unschedulable: null } }, { type: 'merge' }).catch(() => undefined);
    expect(await cluster.cleanup()).toEqual([]);
  }, 180_000);

  it('creates a service, lists it and its tasks, scales, updates, rolls back, reads its logs and removes it', async () => {
    const created = await ok('service', 'create', '--name', 'web', '--replicas', '2', '-p', `${PUBLISHED}:80`, '-e', 'GREETING=hello', 'busybox:1.36', '--', 'sh', '-c', `echo $GREETING from $HOSTNAME; ${SERVE}`);
    const lines = created.trim().split('\n');
    const deployment = await client.get(DEPLOYMENTS, 'web', { namespace: 'default' });
    expect(lines[0]).toBe(deployment.metadata.uid!.replace(/-/g, '').slice(0, 25));
    expect(lines).toContain('overall progress: 2 out of 2 tasks');
    expect(lines[lines.length - 1]).toBe('verify: Service converged');
    // As compose makes them: the ClusterIP `web` inside the project, and `web-published` on every node.
    const published = await client.get<Service>(SERVICES, 'web-published', { namespace: 'default' });
    expect(published.spec).toMatchObject({ type: 'LoadBalancer', ports: [{ port: PUBLISHED, targetPort: 80, protocol: 'TCP' }] });
    expect((await client.get<Service>(SERVICES, 'web', { namespace: 'default' })).spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: 80, targetPort: 80 }] });

    const ls = await ok('service', 'ls');
    expect(ls.split('\n')[0].split(/\s{3,}/)).toEqual(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS']);
    expect(rows(ls)).toEqual([[deployment.metadata.uid!.replace(/-/g, '').slice(0, 12), 'web', 'replicated', '2/2', 'busybox:1.36', `*:${PUBLISHED}->80/tcp`]]);
    expect(await ok('service', 'ls', '-q', '-f', 'name=nothing')).toBe('');
    expect(await ok('service', 'ls', '--format', '{{.Name}} {{.Replicas}}')).toBe('web 2/2\n');

    const ps = rows(await ok('service', 'ps', 'web'));
    const pods = await podsOf('web');
    expect(ps.map((r) => r[1]).sort()).toEqual(['web.1', 'web.2']);
    for (const row of ps) {
      const pod = pods.find((p) => p.metadata.uid!.replace(/-/g, '').startsWith(row[0]))!;
      expect(row.slice(2, 5)).toEqual(['busybox:1.36', pod.spec!.nodeName, 'Running']);
      expect(row[5]).toMatch(/^Running (Less than a second|1 second|\d+ seconds|About a minute) ago$/);
    }

    const scaled = (await ok('service', 'scale', 'web=3')).trim().split('\n');
    expect(scaled[0]).toBe('web scaled to 3');
    expect(scaled[scaled.length - 1]).toBe('verify: Service converged');
    expect(rows(await ok('service', 'ls'))[0][3]).toBe('3/3');

    const updated = (await ok('service', 'update', '--image', 'busybox:1.37', 'web')).trim().split('\n');
    expect(updated[0]).toBe('web');
    expect(updated[updated.length - 1]).toBe('verify: Service converged');
    await cluster.eventually('every task on busybox:1.37', async () => {
      const images = rows(await ok('service', 'ps', '-f', 'desired-state=running', 'web')).map((r) => r[2]);
      return images.length === 3 && images.every((i) => i === 'busybox:1.37') ? true : undefined;
    }, 120_000);

    const rolledBack = (await ok('service', 'rollback', 'web')).trim().split('\n');
    expect(rolledBack.slice(0, 2)).toEqual(['web', 'rollback: manually requested rollback']);
    expect(rolledBack[rolledBack.length - 1]).toBe('verify: Service converged');
    await cluster.eventually('every task back on busybox:1.36', async () => {
      const running = (await podsOf('web')).filter((p) => p.status?.phase === 'Running');
      return running.length === 3 && running.every((p) => p.spec?.containers[0].image === 'busybox:1.36') ? true : undefined;
    }, 120_000);

    const inspected = JSON.parse(await ok('service', 'inspect', 'web'));
    expect(inspected).toHaveLength(1);
    expect(inspected[0].Spec).toMatchObject({
      Name: 'web',
      Mode: { Replicated: { Replicas: 3 } },
      TaskTemplate: { ContainerSpec: { Image: 'busybox:1.36', Args: ['sh', '-c', `echo $GREETING from $HOSTNAME; ${SERVE}`], Env: ['GREETING=hello'] } },
      EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: PUBLISHED, PublishMode: 'ingress' }] },
    });
    expect(await ok('service', 'inspect', '--pretty', 'web')).toContain('Service Mode:\tReplicated\n Replicas:\t3');

    const current = (await podsOf('web')).filter((p) => p.status?.phase === 'Running');
    const logs = await cluster.eventually('a line from each task', async () => {
      const text = await ok('service', 'logs', 'web');
      return text.trim().split('\n').length === 3 ? text : undefined;
    }, 60_000);
    for (const line of logs.trim().split('\n')) {
      const match = /^(web\.\d)\.([0-9a-f]{12})@(host-\d)\s+\| hello from (\S+)$/.exec(line);
      expect(match).not.toBeNull();
      const pod = current.find((p) => p.metadata.uid!.replace(/-/g, '').startsWith(match![2]))!;
      expect([pod.spec!.nodeName, pod.metadata.name]).toEqual([match![3], match![4]]);
    }

    expect(await berth('service', 'rm', 'web', 'nothing')).toMatchObject({ code: 1, stdout: 'web\n', stderr: 'Error: No such service: nothing\n' });
    await cluster.eventually('the service and its tasks gone', async () => {
      const gone = (await podsOf('web')).length === 0 && (await client.list(SERVICES, { namespace: 'default', labelSelector: 'com.docker.compose.service=web' })).items.length === 0;
      return gone || undefined;
    }, 120_000);
    expect(await ok('service', 'ls', '-q')).toBe('');
  });

  it('lists nodes, labels one for a constraint, drains one (its tasks move away), pauses and activates it', async () => {
    const ls = await ok('node', 'ls');
    expect(ls.split('\n')[0].split(/\s{3,}/)).toEqual(['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION']);
    expect(rows(ls).map((r) => r.slice(1, 4))).toEqual(cluster.hosts.map((h) => [h.name, 'Ready', 'Active']));
    const node2 = await client.get<Node>(NODES, 'host-2');
    expect(rows(ls)[1][0]).toBe(node2.metadata.uid!.replace(/-/g, '').slice(0, 25));

    expect(await ok('node', 'update', '--label-add', 'zone=a', 'host-2')).toBe('host-2\n');
    expect(JSON.parse(await ok('node', 'inspect', 'host-2'))[0].Spec.Labels).toMatchObject({ zone: 'a' });
    await ok('service', 'create', '--name', 'pinned', '--replicas', '2', '--constraint', 'node.labels.zone==a', 'busybox:1.36', '--', 'sh', '-c', SERVE);
    expect((await podsOf('pinned')).map((p) => p.spec?.nodeName)).toEqual(['host-2', 'host-2']);
    await ok('service', 'rm', 'pinned');
    expect(await ok('node', 'update', '--label-rm', 'zone', 'host-2')).toBe('host-2\n');
    expect((await client.get<Node>(NODES, 'host-2')).metadata.labels?.zone).toBeUndefined();

    await ok('service', 'create', '--name', 'spread', '--replicas', '3', '--constraint', 'node.hostname!=host-3', 'busybox:1.36', '--', 'sh', '-c', SERVE);
    expect((await podsOf('spread')).some((p) => p.spec?.nodeName === 'host-1')).toBe(true);
    expect(await ok('node', 'update', '--availability', 'drain', 'host-1')).toBe('host-1\n');
    expect(rows(await ok('node', 'ls', '-f', 'name=host-1'))[0].slice(1, 4)).toEqual(['host-1', 'Ready', 'Drain']);
    await cluster.eventually('spread running on host-2 only', async () => {
      const pods = await podsOf('spread');
      return pods.length === 3 && pods.every((p) => p.spec?.nodeName === 'host-2' && p.status?.phase === 'Running') ? true : undefined;
    }, 120_000);

    expect(await ok('node', 'update', '--availability', 'pause', 'host-1')).toBe('host-1\n');
    expect(rows(await ok('node', 'ls', '-f', 'name=host-1'))[0][3]).toBe('Pause');
    expect(await ok('node', 'update', '--availability', 'active', 'host-1')).toBe('host-1\n');
    expect(rows(await ok('node', 'ls', '-f', 'name=host-1'))[0][3]).toBe('Active');
    expect((await client.get<Node>(NODES, 'host-1')).spec?.unschedulable).toBeFalsy();

    expect(await berth('node', 'rm', 'host-3')).toMatchObject({ code: 1, stderr: expect.stringContaining("is not down and can't be removed") });

    // The service is in the default namespace, so it is the "default" stack's.
    expect(rows(await ok('stack', 'ls'))).toEqual([['default', '1']]);
    expect(rows(await ok('stack', 'services', 'default')).map((r) => r[1])).toEqual(['spread']);
    expect(rows(await ok('stack', 'ps', 'default')).map((r) => r[1]).sort()).toEqual(['spread.1', 'spread.2', 'spread.3']);

    // Publishing a port makes the service's Service, another changes it, removing both removes it.
    expect(await ok('service', 'update', '-d', '--publish-add', `${PUBLISHED + 1}:81`, 'spread')).toBe('spread\n');
    expect((await client.get<Service>(SERVICES, 'spread-published', { namespace: 'default' })).spec).toMatchObject({ type: 'LoadBalancer', ports: [{ port: PUBLISHED + 1, targetPort: 81 }] });
    await ok('service', 'update', '-d', '--publish-add', `${PUBLISHED + 2}:82/udp`, 'spread');
    expect((await client.get<Service>(SERVICES, 'spread-published', { namespace: 'default' })).spec!.ports!.map((p) => [p.port, p.targetPort, p.protocol])).toEqual([[PUBLISHED + 1, 81, 'TCP'], [PUBLISHED + 2, 82, 'UDP']]);
    expect(rows(await ok('service', 'ls'))[0][5]).toBe(`*:${PUBLISHED + 1}->81/tcp, *:${PUBLISHED + 2}->82/udp`);
    expect(await berth('service', 'update', '-d', '--publish-add', '83', 'spread')).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot mix the two') });
    await ok('service', 'update', '-d', '--publish-rm', '81', '--publish-rm', '82/udp', 'spread');
    expect(await client.get(SERVICES, 'spread-published', { namespace: 'default' }).catch(() => 'gone')).toBe('gone');
    await ok('service', 'rm', 'spread');
  });

  it('runs a global service as one task per node, named after the node, and removes a stack\'s services', async () => {
    await client.create(resourceForKind('v1', 'Namespace')!, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    const created = (await ok('-n', 'shop', 'service', 'create', '--name', 'agent', '--mode', 'global', 'busybox:1.36', '--', 'sh', '-c', SERVE)).trim().split('\n');
    expect(created).toContain('overall progress: 3 out of 3 tasks');
    expect(created[created.length - 1]).toBe('verify: Service converged');
    expect(rows(await ok('-n', 'shop', 'service', 'ls')).map((r) => r.slice(1, 4))).toEqual([['agent', 'global', '3/3']]);
    const nodes = (await client.list<Node>(NODES)).items;
    const ps = rows(await ok('-n', 'shop', 'service', 'ps', 'agent'));
    expect(ps.map((r) => r[1]).sort()).toEqual(nodes.map((n) => `agent.${n.metadata.uid!.replace(/-/g, '').slice(0, 25)}`).sort());
    expect(await berth('-n', 'shop', 'service', 'scale', 'agent=2')).toMatchObject({ code: 1, stderr: 'error: agent: scale can only be used with replicated mode\n' });

    // A global job: one task to completion on each node.
    await ok('-n', 'shop', 'service', 'create', '-d', '--name', 'once', '--mode', 'global-job', 'busybox:1.36', '--', 'sh', '-c', 'echo ran');
    const done = await cluster.eventually('a completed task of once on every node', async () => {
      const pods = (await client.list<Pod>(PODS, { namespace: 'shop', labelSelector: `${LABEL}=once` })).items;
      return pods.length === 3 && pods.every((p) => p.status?.phase === 'Succeeded') ? pods : undefined;
    }, 120_000);
    expect(new Set(done.map((p) => p.spec?.nodeName)).size).toBe(3);
    expect(rows(await ok('-n', 'shop', 'service', 'ls')).map((r) => r.slice(1, 3))).toEqual([['agent', 'global'], ['once', 'global-job']]);

    expect(rows(await ok('stack', 'ls'))).toEqual([['shop', '2']]);
    expect(await ok('stack', 'rm', 'shop')).toBe('Removing service agent\nRemoving service once\n');
    await cluster.eventually('the stack\'s tasks gone', async () => ((await client.list<Pod>(PODS, { namespace: 'shop' })).items.length === 0 ? true : undefined), 120_000);
    expect(await ok('stack', 'ls')).toBe('NAME      SERVICES\n');
    expect(await berth('stack', 'rm', 'shop')).toMatchObject({ code: 1, stderr: 'Nothing found in stack: shop\n' });
  });

  it('prints the join command with the server\'s join token', async () => {
    const token = readFileSync(join(cluster.server.dataDir, 'token'), 'utf8').trim();
    const printed = await ok('swarm', 'join-token', '--data-dir', cluster.server.dataDir, 'worker');
    expect(printed).toMatch(new RegExp(`^To add a worker to this swarm, run the following command:\\n\\n    berth agent --server https://\\S+ --token ${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n\\n$`));
    expect(await ok('swarm', 'join-token', '-q', '--data-dir', cluster.server.dataDir, 'worker')).toBe(`${token}\n`);
    expect(await berth('swarm', 'join-token', 'manager')).toMatchObject({ code: 1, stderr: expect.stringContaining('issue 13') });
  });
});
