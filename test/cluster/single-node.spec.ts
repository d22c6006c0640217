/**
 * `berth server` without --disable-agent is a working single-node cluster: a Deployment applied to it
 * runs as real runc containers through this host's runtimed, and deleting it removes them; pods run
 * confined as their securityContext says, with Docker's protections by default.
 */
import { RuntimeClient } from '@berth/runtime-client';
import { waitFor, type TestServer } from '@berth/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeCluster, type NodeCluster } from '../support/node-cluster';

describe('berth server as a single-node cluster', () => {
  let cluster: NodeCluster;
  let server: TestServer;
  let runtime: RuntimeClient;

  beforeAll(async () => {
    cluster = await startNodeCluster();
    ({ server, runtime } = cluster);
  }, 60_000);

  afterAll(async () => {
    if (cluster) expect(await cluster.cleanup()).toEqual([]);
  }, 60_000);

  async function send(method: string, path: string, body?: unknown) {
    const res = await server.fetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    return { status: res.status, object: JSON.parse(res.body) };
  }

  interface PodView {
    status: { phase?: string; containerStatuses?: { ready: boolean; containerID?: string }[] };
  }

  it("runs a Deployment's pods as real containers, and removes them when it is deleted", async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sleeper' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'sleeper' } },
        template: {
          metadata: { labels: { app: 'sleeper' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
          },
        },
      },
    };
    expect((await send('POST', '/apis/apps/v1/namespaces/default/deployments', deployment)).status).toBe(201);

    const running: PodView[] = await waitFor(async () => {
      const pods = (await send('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dsleeper')).object.items as PodView[];
      return pods.length === 2 && pods.every((p) => p.status.phase === 'Running' && p.status.containerStatuses?.[0]?.ready) ? pods : undefined;
    }, 90_000, 'two Running pods');
    const containerIds = running.map((p) => p.status.containerStatuses![0].containerID!.replace('berth://', '')).sort();
    const live = (await runtime.listContainers({})).filter((c) => c.state === 'running').map((c) => c.id).sort();
    expect(live).toEqual(containerIds);

    const available = await waitFor(async () => {
      const status = (await send('GET', '/apis/apps/v1/namespaces/default/deployments/sleeper')).object.status;
      return status?.availableReplicas === 2 && status;
    }, 30_000, 'the deployment to be available');
    expect(available.readyReplicas).toBe(2);

    expect((await send('DELETE', '/apis/apps/v1/namespaces/default/deployments/sleeper')).status).toBe(200);
    await waitFor(async () => (await runtime.listContainers({ all: true })).length === 0 && (await runtime.listPodSandboxes()).length === 0, 60_000, 'the containers and sandboxes to be removed');
  });

  it('runs containers as their securityContext says, and refuses what a node must not run', async () => {
    mkdirSync(join(server.dataDir, 'seccomp', 'profiles'), { recursive: true });
    writeFileSync(join(server.dataDir, 'seccomp', 'profiles', 'no-mkdir.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
    const report = 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/1/status | tr -s "\\t" " "; unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-refused; echo ids $(id -u) $(id -g) $(id -G)';
    const container = (name: string, script: string, securityContext: object = {}) => ({ name, image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', `${report}; ${script}`], securityContext });
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'confined' },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        securityContext: { fsGroup: 2000, supplementalGroups: [4000], sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }] },
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [
          container('defaults', 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start; stat -c "data %g %a" /data'),
          container('locked', 'touch /rootfs-file 2>/dev/null || echo rootfs read-only; touch /data/f && stat -c "file %g" /data/f; mkdir /data/d 2>/dev/null || echo mkdir refused', {
            runAsUser: 1000,
            runAsGroup: 3000,
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/no-mkdir.json' },
          }),
          container('unconfined', 'true', { seccompProfile: { type: 'Unconfined' }, capabilities: { add: ['NET_ADMIN'], drop: ['CHOWN'] } }),
        ].map((c) => ({ ...c, volumeMounts: [{ name: 'data', mountPath: '/data' }] })),
      },
    };
    expect((await send('POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);
    const rootImage = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root-image' }, spec: { terminationGracePeriodSeconds: 1, securityContext: { runAsNonRoot: true }, containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] } };
    expect((await send('POST', '/api/v1/namespaces/default/pods', rootImage)).status).toBe(201);
    const unsafe = { ...rootImage, metadata: { name: 'unsafe' }, spec: { ...rootImage.spec, securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } } };
    const refused = await send('POST', '/api/v1/namespaces/default/pods', unsafe);
    expect(refused.status).toBe(422);
    expect(refused.object.message).toContain('spec.securityContext.sysctls[0].name: Forbidden: sysctl "kernel.msgmax" is not allowed');

    await waitFor(async () => (await send('GET', '/api/v1/namespaces/default/pods/confined')).object.status?.phase === 'Succeeded', 90_000, 'the confined pod to finish');
    const logs = Object.fromEntries(
      await Promise.all(pod.spec.containers.map(async (c) => [c.name, (await server.fetch(`/api/v1/namespaces/default/pods/confined/log?container=${c.name}`)).body] as const)),
    );
    expect(logs.defaults).toBe('CapEff: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 2\nunshare-refused\nids 0 0 0 2000 4000\n80\ndata 2000 2777\n');
    // The Localhost profile replaces the default: it refuses mkdir and allows unshare.
    expect(logs.locked).toBe('CapEff: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\nunshare-ok\nids 1000 3000 3000 2000 4000\nrootfs read-only\nfile 2000\nmkdir refused\n');
    // NET_ADMIN (bit 12) added and CHOWN (bit 0) dropped from Docker's set.
    expect(logs.unconfined).toBe('CapEff: 00000000a80435fa\nNoNewPrivs: 0\nSeccomp: 0\nunshare-ok\nids 0 0 0 2000 4000\n');

    const waiting = await waitFor(async () => (await send('GET', '/api/v1/namespaces/default/pods/root-image')).object.status?.containerStatuses?.[0]?.state?.waiting, 60_000, 'root-image to wait');
    expect(waiting.reason).toBe('CreateContainerConfigError');
    expect(waiting.message).toContain('container has runAsNonRoot and image will run as root');

    for (const name of ['confined', 'root-image']) expect((await send('DELETE', `/api/v1/namespaces/default/pods/${name}`)).status).toBe(200);
    await waitFor(async () => (await runtime.listContainers({ all: true })).length === 0 && (await runtime.listPodSandboxes()).length === 0, 60_000, 'the pods to be removed');
  });
});
